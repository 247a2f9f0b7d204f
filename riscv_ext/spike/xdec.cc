// Spike extension for the xdec custom instructions (riscv_ext/spec.py): the decimating byte load of the N:M
// sparse kernels. The decode table is generated (xdec_decode.h); the semantics follow riscv_ext/golden.py
// (dlb_address, dlb_merge) and are differentially tested against it. Selected with --isa=..._xedge_xdec.
#include <riscv/extension.h>
#include <riscv/mmu.h>
#include <riscv/processor.h>

#include <cstdint>
#include <vector>

namespace {

using u32 = uint32_t;
using u64 = uint64_t;

u32 x(processor_t* p, unsigned r) { return static_cast<u32>(p->get_state()->XPR[r]); }

void wr(processor_t* p, unsigned r, u32 v) {
  if (r == 0) return;
  reg_t value = static_cast<reg_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
  p->get_state()->log_reg_write[r << 4] = {value, 0};
  p->get_state()->XPR.write(r, value);
}

// rd = (rd >> 8) | mem8[rs1 + (k >> log2 N) * M + field k of rs2] << 24, with sel = funct7 = log2 N << 4 | k.
template <unsigned Bits>
reg_t dlb(processor_t* p, insn_t i, reg_t pc) {
  constexpr u32 m = 1u << Bits;
  u32 sel = static_cast<u32>(i.bits() >> 25) & 0x7F;
  u32 k = sel & 0xF, log2_n = (sel >> 4) & 0x3;
  u32 field = static_cast<u32>((static_cast<u64>(x(p, i.rs2())) >> (k * Bits)) & (m - 1));
  u32 addr = x(p, i.rs1()) + (k >> log2_n) * m + field;
  u32 byte = p->get_mmu()->load<uint8_t>(addr);
  wr(p, i.rd(), (x(p, i.rd()) >> 8) | (byte << 24));
  return pc + 4;
}

reg_t dlb_m4(processor_t* p, insn_t i, reg_t pc) { return dlb<2>(p, i, pc); }
reg_t dlb_m8(processor_t* p, insn_t i, reg_t pc) { return dlb<3>(p, i, pc); }
reg_t dlb_m16(processor_t* p, insn_t i, reg_t pc) { return dlb<4>(p, i, pc); }

reg_t illegal(processor_t*, insn_t insn, reg_t) { throw trap_illegal_instruction(insn.bits()); }

class xdec_t : public extension_t {
 public:
  const char* name() const override { return "xdec"; }

  std::vector<insn_desc_t> get_instructions(const processor_t&) override {
    std::vector<insn_desc_t> insns;
#define XDEC_INSN(str, ident, match, mask) \
  insns.push_back({match, mask, ident, illegal, ident, illegal, ident, illegal, ident, illegal});
#include "xdec_decode.h"
#undef XDEC_INSN
    return insns;
  }

  std::vector<disasm_insn_t*> get_disasms(const processor_t*) override { return {}; }
};

}  // namespace

// Spike strips the leading "x" of the ISA-string name when it looks the extension up.
REGISTER_EXTENSION(dec, []() { return new xdec_t; })
