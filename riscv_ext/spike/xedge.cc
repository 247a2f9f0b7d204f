// Spike extension for the xedge custom instructions (riscv_ext/spec.py).
// The decode table is generated (xedge_decode.h); each instruction's semantics is one small function
// below, differentially tested against riscv_ext/golden.py. Selected with --isa=..._xedge.
#include <riscv/extension.h>
#include <riscv/mmu.h>
#include <riscv/processor.h>

#include <cstdint>
#include <vector>

namespace {

using u32 = uint32_t;
using i32 = int32_t;

u32 x(processor_t* p, unsigned r) { return static_cast<u32>(p->get_state()->XPR[r]); }

void wr(processor_t* p, unsigned r, u32 v) {
  // RV32 registers are kept sign-extended in Spike; log the write so --log-commits shows it.
  if (r == 0) return;
  reg_t value = static_cast<reg_t>(static_cast<int64_t>(static_cast<i32>(v)));
  p->get_state()->log_reg_write[r << 4] = {value, 0};
  p->get_state()->XPR.write(r, value);
}

i32 sdot(u32 a, u32 b, bool a_signed) {
  i32 sum = 0;
  for (int i = 0; i < 4; ++i) {
    i32 av = a_signed ? static_cast<int8_t>(a >> (8 * i)) : static_cast<uint8_t>(a >> (8 * i));
    sum += av * static_cast<int8_t>(b >> (8 * i));
  }
  return sum;
}

template <typename T>
u32 load(processor_t* p, u32 addr) {
  return static_cast<u32>(static_cast<i32>(p->get_mmu()->load<T>(addr)));
}

reg_t i_imm(insn_t insn) { return static_cast<reg_t>(insn.i_imm()); }
reg_t s_imm(insn_t insn) { return static_cast<reg_t>(insn.s_imm()); }

reg_t sdotsp_b(processor_t* p, insn_t i, reg_t pc) {
  wr(p, i.rd(), x(p, i.rd()) + sdot(x(p, i.rs1()), x(p, i.rs2()), true));
  return pc + 4;
}
reg_t sdotusp_b(processor_t* p, insn_t i, reg_t pc) {
  wr(p, i.rd(), x(p, i.rd()) + sdot(x(p, i.rs1()), x(p, i.rs2()), false));
  return pc + 4;
}

// Register + register loads.
template <typename T>
reg_t load_rr(processor_t* p, insn_t i, reg_t pc) {
  wr(p, i.rd(), load<T>(p, x(p, i.rs1()) + x(p, i.rs2())));
  return pc + 4;
}

// Post-increment loads: the loaded value wins when rd == rs1.
template <typename T>
reg_t load_pi(processor_t* p, insn_t i, reg_t pc) {
  u32 base = x(p, i.rs1());
  u32 value = load<T>(p, base);
  wr(p, i.rs1(), base + static_cast<u32>(i_imm(i)));
  wr(p, i.rd(), value);
  return pc + 4;
}

// Post-increment stores.
template <typename T>
reg_t store_pi(processor_t* p, insn_t i, reg_t pc) {
  u32 base = x(p, i.rs1());
  p->get_mmu()->store<T>(base, static_cast<T>(x(p, i.rs2())));
  wr(p, i.rs1(), base + static_cast<u32>(s_imm(i)));
  return pc + 4;
}

reg_t bdnz(processor_t* p, insn_t i, reg_t pc) {
  u32 counter = x(p, i.rs1()) - 1;
  wr(p, i.rs1(), counter);
  return counter != 0 ? static_cast<reg_t>(static_cast<i32>(static_cast<u32>(pc + i.sb_imm()))) : pc + 4;
}

reg_t lb_rr(processor_t* p, insn_t i, reg_t pc) { return load_rr<int8_t>(p, i, pc); }
reg_t lh_rr(processor_t* p, insn_t i, reg_t pc) { return load_rr<int16_t>(p, i, pc); }
reg_t lw_rr(processor_t* p, insn_t i, reg_t pc) { return load_rr<int32_t>(p, i, pc); }
reg_t lbu_rr(processor_t* p, insn_t i, reg_t pc) { return load_rr<uint8_t>(p, i, pc); }
reg_t lhu_rr(processor_t* p, insn_t i, reg_t pc) { return load_rr<uint16_t>(p, i, pc); }
reg_t lb_pi(processor_t* p, insn_t i, reg_t pc) { return load_pi<int8_t>(p, i, pc); }
reg_t lh_pi(processor_t* p, insn_t i, reg_t pc) { return load_pi<int16_t>(p, i, pc); }
reg_t lw_pi(processor_t* p, insn_t i, reg_t pc) { return load_pi<int32_t>(p, i, pc); }
reg_t lbu_pi(processor_t* p, insn_t i, reg_t pc) { return load_pi<uint8_t>(p, i, pc); }
reg_t lhu_pi(processor_t* p, insn_t i, reg_t pc) { return load_pi<uint16_t>(p, i, pc); }
reg_t sb_pi(processor_t* p, insn_t i, reg_t pc) { return store_pi<uint8_t>(p, i, pc); }
reg_t sh_pi(processor_t* p, insn_t i, reg_t pc) { return store_pi<uint16_t>(p, i, pc); }
reg_t sw_pi(processor_t* p, insn_t i, reg_t pc) { return store_pi<uint32_t>(p, i, pc); }

// RV32 only: the 64-bit slots of the table trap as illegal instructions.
reg_t illegal(processor_t*, insn_t insn, reg_t) { throw trap_illegal_instruction(insn.bits()); }

class xedge_t : public extension_t {
 public:
  const char* name() const override { return "xedge"; }

  std::vector<insn_desc_t> get_instructions(const processor_t&) override {
    std::vector<insn_desc_t> insns;
#define XEDGE_INSN(str, ident, match, mask) \
  insns.push_back({match, mask, ident, illegal, ident, illegal, ident, illegal, ident, illegal});
#include "xedge_decode.h"
#undef XEDGE_INSN
    return insns;
  }

  std::vector<disasm_insn_t*> get_disasms(const processor_t*) override { return {}; }
};

}  // namespace

// Spike strips the leading "x" of the ISA-string name when it looks the extension up.
REGISTER_EXTENSION(edge, []() { return new xedge_t; })
