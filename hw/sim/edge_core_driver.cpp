// The driver of the Verilated edge SoC (see edge_core_driver.h).
#include "edge_core_driver.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "Vedge_soc.h"
#include "Vedge_soc__Dpi.h"
#include "edge_elf.h"
#include "svdpi.h"
#include "verilated.h"

namespace edge {
namespace {

struct Elf {
  std::vector<uint8_t> bytes;
  uint32_t tohost = 0, fromhost = 0;
};

template <typename T>
T read_at(const std::vector<uint8_t>& b, size_t off) {
  return elf::read_at<T, SimError>(b, off);
}

Elf read_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SimError("cannot open ELF file");
  Elf elf;
  elf.bytes.assign(std::istreambuf_iterator<char>(in), {});
  const auto& b = elf.bytes;
  if (b.size() < 52 || std::memcmp(b.data(), "\x7f" "ELF", 4) != 0) throw SimError("not an ELF file");
  if (b[4] != 1 || read_at<uint16_t>(b, 18) != 243) throw SimError("not a 32-bit RISC-V ELF");
  // Section headers: find .symtab and its string table for tohost/fromhost.
  uint32_t shoff = read_at<uint32_t>(b, 32);
  uint16_t shentsize = read_at<uint16_t>(b, 46), shnum = read_at<uint16_t>(b, 48);
  for (uint16_t i = 0; i < shnum; ++i) {
    size_t sh = shoff + size_t(i) * shentsize;
    if (read_at<uint32_t>(b, sh + 4) != 2) continue;  // SHT_SYMTAB
    uint32_t off = read_at<uint32_t>(b, sh + 16), size = read_at<uint32_t>(b, sh + 20);
    uint32_t link = read_at<uint32_t>(b, sh + 24), entsize = read_at<uint32_t>(b, sh + 36);
    uint32_t stroff = read_at<uint32_t>(b, shoff + size_t(link) * shentsize + 16);
    for (uint32_t s = 0; entsize && s < size / entsize; ++s) {
      size_t sym = off + size_t(s) * entsize;
      const char* name = reinterpret_cast<const char*>(b.data() + stroff + read_at<uint32_t>(b, sym));
      if (std::strcmp(name, "tohost") == 0) elf.tohost = read_at<uint32_t>(b, sym + 4);
      if (std::strcmp(name, "fromhost") == 0) elf.fromhost = read_at<uint32_t>(b, sym + 4);
    }
  }
  if (!elf.tohost || !elf.fromhost) throw SimError("ELF has no tohost/fromhost symbols");
  return elf;
}

// Spike's name of a CSR the core logs a write of (edge_csr.sv, trace_*).
std::string csr_name(unsigned addr) {
  switch (addr) {
    case 0x300: return "mstatus";
    case 0x301: return "misa";
    case 0x304: return "mie";
    case 0x305: return "mtvec";
    case 0x310: return "mstatush";
    case 0x320: return "mcountinhibit";
    case 0x340: return "mscratch";
    case 0x341: return "mepc";
    case 0x342: return "mcause";
    case 0x343: return "mtval";
    case 0x344: return "mip";
    case 0x6a8: return "hcontext";  // mcontext's writes, as Spike logs them
    case 0x7a0: return "tselect";
    case 0xb00: return "mcycle";
    case 0xb02: return "minstret";
    case 0xb80: return "mcycleh";
    case 0xb82: return "minstreth";
  }
  if (addr >= 0x323 && addr <= 0x33f) return "mhpmevent" + std::to_string(addr - 0x320);
  if (addr >= 0x3a0 && addr <= 0x3af) return "pmpcfg" + std::to_string(addr - 0x3a0);
  if (addr >= 0x3b0 && addr <= 0x3ef) return "pmpaddr" + std::to_string(addr - 0x3b0);
  if (addr >= 0xb03 && addr <= 0xb1f) return "mhpmcounter" + std::to_string(addr - 0xb00);
  if (addr >= 0xb83 && addr <= 0xb9f) return "mhpmcounter" + std::to_string(addr - 0xb80) + "h";
  return "csr";
}

}  // namespace

CoreDriver::CoreDriver(const std::string& elf_path, const std::string& trace, std::FILE* echo,
                       const std::vector<std::string>& args)
    : echo_(echo) {
  ctx_ = std::make_unique<VerilatedContext>();
  std::vector<const char*> argv{"edge-rtl-sim"};
  for (const auto& a : args) argv.push_back(a.c_str());
  ctx_->commandArgs(int(argv.size()), argv.data());
  top_ = std::make_unique<Vedge_soc>(ctx_.get());
  // Scopes are looked up in this model's own context: several cores may live in one process.
  auto scope = [this](const char* name) {
    const void* s = ctx_->scopeFind(name);
    if (!s) throw SimError(std::string("the Verilated model has no scope ") + name);
    return const_cast<void*>(s);
  };
  imem_ = scope("TOP.edge_soc.u_imem");
  dmem_ = scope("TOP.edge_soc.u_dmem");
  regfile_ = scope("TOP.edge_soc.u_core.u_regfile");
  csr_ = scope("TOP.edge_soc.u_core.u_csr");
  Elf elf = read_elf(elf_path);
  tohost_ = elf.tohost;
  fromhost_ = elf.fromhost;
  if (!trace.empty()) {
    trace_ = std::fopen(trace.c_str(), "w");
    if (!trace_) throw SimError("cannot open trace file");
  }

  top_->tohost_addr_i = elf.tohost;
  top_->clk_i = 0;
  top_->rst_ni = 0;
  top_->eval();
  // Every loaded byte goes to both memories: each keeps the ones in its own range.
  elf::for_each_load_segment<SimError>(elf.bytes, [this](uint32_t paddr, const uint8_t* data, uint32_t size) {
    for (uint32_t k = 0; k < size; ++k) {
      svSetScope(imem_);
      edge_imem_write_byte(paddr + k, data[k]);
      svSetScope(dmem_);
      edge_dmem_write_byte(paddr + k, data[k]);
    }
  });
  top_->clk_i = 1;
  top_->eval();
  top_->clk_i = 0;
  top_->rst_ni = 1;
  top_->eval();
}

CoreDriver::~CoreDriver() {
  if (trace_) std::fclose(trace_);
  top_->final();
}

void CoreDriver::set_breakpoints(std::vector<uint32_t> pcs) {
  std::sort(pcs.begin(), pcs.end());
  breakpoints_ = std::move(pcs);
}

Stop CoreDriver::run(const Limits& limits) {
  if (exited_) return Stop::kExit;
  Stop stop = loop(limits);
  note_pending_store();
  if (trace_) std::fflush(trace_);
  return stop;
}

// The hot loop: one iteration per cycle. An instruction in WB is checked against the pauses, counted and
// traced before the clock edge that writes its registers; a tohost store seen in execute is served after
// the edge that performs it.
Stop CoreDriver::loop(const Limits& limits) {
  Vedge_soc& top = *top_;
  bool step_over = limits.step_over;
  for (;;) {
    if (cycles_ >= limits.cycles) return Stop::kCycleLimit;
    if (instret_ >= limits.instret) return Stop::kInstretLimit;
    if (top.retire_valid_o) {
      if (step_over) {
        step_over = false;
      } else if (instret_ >= limits.pause_instret) {
        return Stop::kPause;
      } else if (limits.breakpoints && std::binary_search(breakpoints_.begin(), breakpoints_.end(),
                                                          uint32_t(top.retire_pc_o))) {
        return Stop::kBreakpoint;
      }
      if (limits.hook) {
        const RetireRecord rec = record();
        if (limits.hook(limits.hook_ctx, &rec)) return Stop::kHook;
      }
      ++instret_;
      last_ = {top.retire_pc_o, top.retire_insn_o, bool(top.retire_compressed_o), cycles_, cycles_ - last_.cycle};
      if (trace_) print_trace();
    }
    const bool host_write = top.tohost_we_o;
    const uint32_t host_value = top.tohost_wdata_o;
    top.clk_i = 1;
    top.eval();
    top.clk_i = 0;
    top.eval();
    ++cycles_;
    if (host_write && host_value && host(host_value)) return Stop::kExit;
  }
}

bool CoreDriver::host(uint32_t value) {
  if (value & 1) {
    exited_ = true;
    exit_code_ = int(value >> 1);
    return true;
  }
  if (!syscall(value)) throw SimError("unsupported HTIF system call");
  svSetScope(dmem_);
  for (int i = 0; i < 8; ++i) edge_dmem_write_byte(tohost_ + i, 0);
  for (int i = 0; i < 8; ++i) edge_dmem_write_byte(fromhost_ + i, i == 0);
  return false;
}

// One proxied system call (only write(2) to stdout/stderr: what the runtime uses). Returns false if unknown.
// Like Spike's front end, both streams go to the same console, so it reads the same on both.
bool CoreDriver::syscall(uint32_t magic) {
  svSetScope(dmem_);
  auto read64 = [](uint32_t addr) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | edge_dmem_read_byte(addr + i);
    return v;
  };
  uint64_t num = read64(magic), fd = read64(magic + 8), buf = read64(magic + 16), len = read64(magic + 24);
  if (num != 64 || (fd != 1 && fd != 2)) return false;
  std::string out(len, '\0');
  for (uint64_t i = 0; i < len; ++i) out[i] = char(edge_dmem_read_byte(uint32_t(buf + i)));
  if (echo_) {
    std::fwrite(out.data(), 1, out.size(), echo_);
    std::fflush(echo_);
  } else {
    console_ += out;
  }
  for (int i = 0; i < 8; ++i) edge_dmem_write_byte(magic + i, uint8_t(len >> (8 * i)));
  return true;
}

void CoreDriver::print_trace() const {
  const Vedge_soc& top = *top_;
  std::FILE* f = trace_;
  std::fprintf(f, "core   0: 3 0x%08x (", top.retire_pc_o);
  if (top.retire_compressed_o) std::fprintf(f, "0x%04x)", top.retire_insn_o & 0xffff);
  else std::fprintf(f, "0x%08x)", top.retire_insn_o);
  // Register writes in ascending register order, as Spike prints its ordered map.
  struct W { unsigned reg; uint32_t val; } w[2];
  int n = 0;
  if (top.retire_rd_we_o) w[n++] = {top.retire_rd_o, top.retire_rd_wdata_o};
  if (top.retire_base_we_o) w[n++] = {top.retire_base_o, top.retire_base_wdata_o};
  if (n == 2 && w[0].reg > w[1].reg) std::swap(w[0], w[1]);
  for (int i = 0; i < n; ++i) std::fprintf(f, " x%-2u 0x%08x", w[i].reg, w[i].val);
  // Then CSR writes (Spike's map orders them after the x registers, by number): mret's mstatus, mstatush.
  if (top.retire_csr_we_o) {
    unsigned addr = top.retire_csr_addr_o;
    std::fprintf(f, " c%u_%s 0x%08x", addr, csr_name(addr).c_str(), top.retire_csr_wdata_o);
  }
  if (top.retire_mstatush_we_o) std::fprintf(f, " c%u_mstatush 0x%08x", 0x310u, 0u);
  if (top.retire_mem_o) {
    std::fprintf(f, " mem 0x%08x", top.retire_mem_addr_o);
    if (top.retire_mem_we_o) {
      int bits = 8 << top.retire_mem_size_o;
      uint32_t mask = bits == 32 ? 0xffffffffu : ((1u << bits) - 1);
      std::fprintf(f, " 0x%0*x", bits / 4, top.retire_mem_wdata_o & mask);
    }
  }
  std::fputc('\n', f);
}

Pending CoreDriver::pending() const {
  const Vedge_soc& top = *top_;
  if (exited_ || !top.retire_valid_o) return {};
  return {true, top.retire_pc_o, top.retire_insn_o, bool(top.retire_compressed_o)};
}

RetireRecord CoreDriver::record() const {
  const Vedge_soc& top = *top_;
  RetireRecord r{};
  r.pc = top.retire_pc_o;
  r.compressed = top.retire_compressed_o;
  r.insn = r.compressed ? (top.retire_insn_o & 0xffffu) : uint32_t(top.retire_insn_o);
  r.rd_we = top.retire_rd_we_o;
  r.rd = top.retire_rd_o;
  r.rd_wdata = top.retire_rd_wdata_o;
  r.base_we = top.retire_base_we_o;
  r.base = top.retire_base_o;
  r.base_wdata = top.retire_base_wdata_o;
  r.csr_we = top.retire_csr_we_o;
  r.csr_addr = top.retire_csr_addr_o;
  r.csr_wdata = top.retire_csr_wdata_o;
  r.mstatush_we = top.retire_mstatush_we_o;
  r.mem = top.retire_mem_o;
  r.mem_we = top.retire_mem_we_o;
  r.mem_addr = top.retire_mem_addr_o;
  r.mem_size = top.retire_mem_size_o;
  r.mem_wdata = top.retire_mem_wdata_o;
  r.cycle = cycles_;
  r.instret = instret_;
  return r;
}

// Stopped before a store (in WB): the data memory already holds its bytes. The memory's last-store record
// gives back the word they overwrote, if the store went to the data memory (not the CLINT).
void CoreDriver::note_pending_store() {
  const Vedge_soc& top = *top_;
  store_pending_ = false;
  if (exited_ || !top.retire_valid_o || !top.retire_mem_we_o) return;
  svSetScope(dmem_);
  uint32_t addr = top.retire_mem_addr_o;
  if (edge_dmem_last_store_addr() != (addr & ~3u)) return;
  store_pending_ = true;
  store_addr_ = addr;
  store_bytes_ = 1u << top.retire_mem_size_o;
  store_old_ = edge_dmem_last_store_old();
}

int CoreDriver::pending_store_byte(uint32_t addr) const {
  if (!store_pending_ || addr - store_addr_ >= store_bytes_) return -1;
  return int((store_old_ >> (8 * (addr & 3))) & 0xff);
}

uint32_t CoreDriver::reg(unsigned index) const {
  svSetScope(regfile_);
  return edge_regfile_read(index);
}

uint64_t CoreDriver::counter(unsigned index) const {
  svSetScope(csr_);
  return edge_csr_counter(index);
}

uint8_t CoreDriver::read(Memory which, uint32_t addr) const {
  if (which == Memory::kImem) {
    svSetScope(imem_);
    return edge_imem_read_byte(addr);
  }
  int before = pending_store_byte(addr);
  if (before >= 0) return uint8_t(before);
  svSetScope(dmem_);
  return edge_dmem_read_byte(addr);
}

// A write while stopped before a store to the same byte lands under it: the store still overwrites it.
void CoreDriver::write(Memory which, uint32_t addr, uint8_t value) {
  if (which == Memory::kImem) {
    svSetScope(imem_);
    edge_imem_write_byte(addr, value);
  } else if (pending_store_byte(addr) >= 0) {
    unsigned shift = 8 * (addr & 3);
    store_old_ = (store_old_ & ~(0xffu << shift)) | (uint32_t(value) << shift);
  } else {
    svSetScope(dmem_);
    edge_dmem_write_byte(addr, value);
  }
}

size_t CoreDriver::take_console(char* buf, size_t cap) {
  size_t n = std::min(cap, console_.size());
  std::memcpy(buf, console_.data(), n);
  console_.erase(0, n);
  return n;
}

}  // namespace edge
