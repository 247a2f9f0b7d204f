// Verilator harness for the edge SoC: loads an ELF, runs it to the HTIF `tohost` exit, serves its console
// system calls, optionally writes a commit trace in Spike's --log-commits format, and ends with one summary
// line on stderr:  @edge-rtl-sim {"status": "exit"|"timeout"|"error", "exit_code": N, "cycles": N, ...}
// ("timeout" names its "limit": "cycles" for --max-cycles, "instructions" for --max-instructions).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "Vedge_soc.h"
#include "Vedge_soc__Dpi.h"
#include "svdpi.h"
#include "verilated.h"

namespace {

struct Options {
  std::string elf;
  std::string trace;
  uint64_t max_cycles = 0;
  uint64_t max_instructions = 0;
};

[[noreturn]] void fail(const std::string& status, const std::string& msg, uint64_t cycles = 0,
                       const char* limit = "") {
  std::fflush(stdout);
  std::fprintf(stderr,
               "@edge-rtl-sim {\"status\": \"%s\", \"message\": \"%s\", \"cycles\": %" PRIu64
               ", \"limit\": \"%s\"}\n",
               status.c_str(), msg.c_str(), cycles, limit);
  std::exit(2);
}

struct Elf {
  std::vector<uint8_t> bytes;
  uint32_t tohost = 0, fromhost = 0;
};

template <typename T>
T read_at(const std::vector<uint8_t>& b, size_t off) {
  if (off + sizeof(T) > b.size()) fail("error", "truncated ELF file");
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

Elf read_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("error", "cannot open ELF file");
  Elf elf;
  elf.bytes.assign(std::istreambuf_iterator<char>(in), {});
  const auto& b = elf.bytes;
  if (b.size() < 52 || std::memcmp(b.data(), "\x7f" "ELF", 4) != 0) fail("error", "not an ELF file");
  if (b[4] != 1 || read_at<uint16_t>(b, 18) != 243) fail("error", "not a 32-bit RISC-V ELF");
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
  if (!elf.tohost || !elf.fromhost) fail("error", "ELF has no tohost/fromhost symbols");
  return elf;
}

void load_segments(const Elf& elf) {
  const auto& b = elf.bytes;
  uint32_t phoff = read_at<uint32_t>(b, 28);
  uint16_t phentsize = read_at<uint16_t>(b, 42), phnum = read_at<uint16_t>(b, 44);
  svScope imem = svGetScopeFromName("TOP.edge_soc.u_imem");
  svScope dmem = svGetScopeFromName("TOP.edge_soc.u_dmem");
  for (uint16_t i = 0; i < phnum; ++i) {
    size_t ph = phoff + size_t(i) * phentsize;
    if (read_at<uint32_t>(b, ph) != 1) continue;  // PT_LOAD
    uint32_t off = read_at<uint32_t>(b, ph + 4), paddr = read_at<uint32_t>(b, ph + 12);
    uint32_t filesz = read_at<uint32_t>(b, ph + 16);
    if (off + uint64_t(filesz) > b.size()) fail("error", "ELF segment beyond end of file");
    for (uint32_t k = 0; k < filesz; ++k) {
      svSetScope(imem);
      edge_imem_write_byte(paddr + k, b[off + k]);
      svSetScope(dmem);
      edge_dmem_write_byte(paddr + k, b[off + k]);
    }
  }
}

uint64_t dmem_read64(uint32_t addr) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | edge_dmem_read_byte(addr + i);
  return v;
}

void dmem_write64(uint32_t addr, uint64_t v) {
  for (int i = 0; i < 8; ++i) edge_dmem_write_byte(addr + i, uint8_t(v >> (8 * i)));
}

// One proxied system call (only write(2) to stdout/stderr: what the runtime uses). Returns false if unknown.
// Like Spike's front end, both streams go to the host's stdout, so the console reads the same on both.
bool htif_syscall(uint32_t magic) {
  uint64_t num = dmem_read64(magic), fd = dmem_read64(magic + 8), buf = dmem_read64(magic + 16),
           len = dmem_read64(magic + 24);
  if (num != 64 || (fd != 1 && fd != 2)) return false;
  std::string out(len, '\0');
  for (uint64_t i = 0; i < len; ++i) out[i] = char(edge_dmem_read_byte(uint32_t(buf + i)));
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  dmem_write64(magic, len);
  return true;
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

void print_trace(std::FILE* f, const Vedge_soc& top) {
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

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--max-cycles" && i + 1 < argc) o.max_cycles = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--max-instructions" && i + 1 < argc) o.max_instructions = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--trace" && i + 1 < argc) o.trace = argv[++i];
    else if (!a.empty() && a[0] == '+') continue;  // Verilator plusargs
    else if (o.elf.empty()) o.elf = a;
    else fail("error", "usage: edge-rtl-sim [--max-cycles N] [--max-instructions N] [--trace FILE] ELF");
  }
  if (o.elf.empty()) fail("error", "usage: edge-rtl-sim [--max-cycles N] [--max-instructions N] [--trace FILE] ELF");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<Vedge_soc>(ctx.get());
  Elf elf = read_elf(opt.elf);
  std::FILE* trace = nullptr;
  if (!opt.trace.empty()) {
    trace = std::fopen(opt.trace.c_str(), "w");
    if (!trace) fail("error", "cannot open trace file");
  }

  top->tohost_addr_i = elf.tohost;
  top->clk_i = 0;
  top->rst_ni = 0;
  top->eval();
  load_segments(elf);
  top->clk_i = 1;
  top->eval();
  top->clk_i = 0;
  top->rst_ni = 1;
  top->eval();

  svSetScope(svGetScopeFromName("TOP.edge_soc.u_dmem"));
  auto start = std::chrono::steady_clock::now();
  uint64_t cycles = 0, instret = 0;
  int exit_code = -1;
  while (exit_code < 0) {
    if (opt.max_cycles && cycles >= opt.max_cycles) {
      if (trace) std::fclose(trace);
      fail("timeout", "no exit within --max-cycles", cycles, "cycles");
    }
    if (opt.max_instructions && instret >= opt.max_instructions) {
      if (trace) std::fclose(trace);
      fail("timeout", "no exit within --max-instructions", cycles, "instructions");
    }
    if (top->retire_valid_o) {
      ++instret;
      if (trace) print_trace(trace, *top);
    }
    bool host_write = top->tohost_we_o;
    uint32_t host_value = top->tohost_wdata_o;
    top->clk_i = 1;
    top->eval();
    top->clk_i = 0;
    top->eval();
    ++cycles;
    if (host_write && host_value) {
      if (host_value & 1) {
        exit_code = int(host_value >> 1);
      } else {
        if (!htif_syscall(host_value)) fail("error", "unsupported HTIF system call", cycles);
        dmem_write64(elf.tohost, 0);
        dmem_write64(elf.fromhost, 1);
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (trace) std::fclose(trace);
  top->final();
  std::fprintf(stderr,
               "@edge-rtl-sim {\"status\": \"exit\", \"exit_code\": %d, \"cycles\": %" PRIu64
               ", \"instret\": %" PRIu64 ", \"seconds\": %.6f}\n",
               exit_code, cycles, instret, seconds);
  return exit_code & 0xff;
}
