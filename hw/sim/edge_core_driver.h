// The one driver of the Verilated edge SoC, shared by the subprocess harness (edge_sim_main.cpp) and the
// in-process bindings (edge_core_capi.cpp, Python's edge_sdk.sim.rtlcore): reset, ELF loading, the HTIF
// exit and console system calls, clocking, retire capture, the commit trace and the run limits live here
// once, so the two ways of running the RTL cannot drift apart.
//
// Both are built into one shared library (edge_sdk/sim/rtl.py): the harness is a thin main linked to it, the
// Python side loads it with ctypes. This header needs no Verilator header. A run may carry a retire hook
// (Limits::hook), called with each instruction's record before it retires: the lock-step co-simulation against
// Spike (edge_cosim.cpp) is driven by one.
//
// Where a run pauses. Instructions retire in writeback (WB); a run stops between two clock edges. Stopped
// at a cycle where an instruction X sits in WB ("before X", `pending()`), the views show the state before X:
// the register file does not hold X's writes yet (they land at the coming edge) and the data memory view
// puts back the bytes X's store, already done in execute, overwrote. Stopped at a cycle with nothing in WB,
// they show the state after every retired instruction.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#define EDGE_CORE_API __attribute__((visibility("default")))

class Vedge_soc;
class VerilatedContext;

namespace edge {

// Why run() returned.
enum class Stop : int {
  kExit = 0,          // the program wrote its exit code to tohost
  kCycleLimit = 1,    // Limits::cycles cycles simulated since reset
  kInstretLimit = 2,  // Limits::instret instructions retired since reset
  kPause = 3,         // before the instruction that would retire as number Limits::pause_instret + 1
  kBreakpoint = 4,    // before an instruction at a breakpoint
  kHook = 5,          // before an instruction whose retire hook (Limits::hook) asked to stop
};

// Everything the commit trace logs of a retiring instruction, read from the core's retire ports while it sits
// in WB: what a retire hook sees. Plain integers only, so the same layout is seen by code built with either
// libstdc++ ABI (Spike's co-simulation library uses the old one) and through the C API.
struct RetireRecord {
  uint32_t pc, insn;                    // insn: the 16 bits of a compressed instruction
  int32_t compressed;
  int32_t rd_we;                        // the destination register's write
  uint32_t rd, rd_wdata;
  int32_t base_we;                      // a post-incremented base register's write (xedge loads and stores)
  uint32_t base, base_wdata;
  int32_t csr_we;                       // a CSR write Spike's commit log shows (the value after it)
  uint32_t csr_addr, csr_wdata;
  int32_t mstatush_we;                  // mret's write of mstatush (always 0)
  int32_t mem, mem_we;                  // a data memory access; a store's address, size (log2 bytes) and data
  uint32_t mem_addr, mem_size, mem_wdata;
  uint64_t cycle, instret;              // the cycle it retires in; instructions retired before it (from reset)
};

// Called before an instruction retires (in WB, before the clock edge that writes its registers) with its
// record. Returning non-zero stops the run before it (Stop::kHook): it stays pending, as at a breakpoint.
using RetireHook = int (*)(void* ctx, const RetireRecord* record);

struct Limits {
  uint64_t cycles = UINT64_MAX;         // counted from reset: stop once this many cycles have been simulated
  uint64_t instret = UINT64_MAX;        // stop once this many instructions have retired
  uint64_t pause_instret = UINT64_MAX;  // pause before an instruction retires once this many have
  bool breakpoints = false;             // pause before an instruction at a breakpoint retires
  bool step_over = false;               // retire the instruction run() starts before without pausing at it
  RetireHook hook = nullptr;            // called for every instruction about to retire (step_over does not skip it)
  void* hook_ctx = nullptr;
};

// An instruction that retired: where, its bits, and the cycles since the one before it retired.
struct Retired {
  uint32_t pc = 0, insn = 0;
  bool compressed = false;
  uint64_t cycle = 0;   // the cycle it retired in (from reset)
  uint64_t cost = 0;    // cycles since the previous instruction retired (from reset for the first)
};

// The instruction in WB while run() is stopped before it.
struct Pending {
  bool valid = false;
  uint32_t pc = 0, insn = 0;
  bool compressed = false;
};

// A failure of the simulation (bad ELF, unsupported system call): what the harness reports as "error".
struct EDGE_CORE_API SimError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Memory : int { kImem = 0, kDmem = 1 };

class EDGE_CORE_API CoreDriver {
 public:
  // Loads `elf` and resets the SoC. `trace`: a file for the commit trace (Spike's --log-commits format), or
  // empty. `echo`: where the program's console goes as it is written (the harness: stdout), or null to keep
  // it for console(). `args`: Verilator plusargs.
  CoreDriver(const std::string& elf, const std::string& trace, std::FILE* echo,
             const std::vector<std::string>& args = {});
  ~CoreDriver();
  CoreDriver(const CoreDriver&) = delete;
  CoreDriver& operator=(const CoreDriver&) = delete;

  // Clocks the SoC until a limit or pause of `limits`, or the program's exit. Throws SimError.
  Stop run(const Limits& limits);
  void set_breakpoints(std::vector<uint32_t> pcs);

  uint64_t cycles() const { return cycles_; }
  uint64_t instret() const { return instret_; }
  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  const Retired& last_retired() const { return last_; }
  Pending pending() const;
  RetireRecord record() const;                  // the retire ports now (meaningful when pending().valid)

  uint32_t reg(unsigned index) const;           // x0..x31, as the state before the pending instruction
  uint64_t counter(unsigned index) const;       // 0 mcycle, 2 minstret, 3..8 mhpmcounterN
  uint8_t read(Memory which, uint32_t addr) const;
  void write(Memory which, uint32_t addr, uint8_t value);
  const std::string& console() const { return console_; }   // written and not taken yet (no echo)
  size_t take_console(char* buf, size_t cap);   // moves up to `cap` bytes of it to `buf`

 private:
  Stop loop(const Limits& limits);
  bool host(uint32_t value);                    // serve a tohost write; true when the program exited
  bool syscall(uint32_t magic);
  void print_trace() const;
  void note_pending_store();
  int pending_store_byte(uint32_t addr) const;  // the byte's value before the pending store, or -1

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vedge_soc> top_;
  void* imem_ = nullptr;                        // DPI scopes
  void* dmem_ = nullptr;
  void* regfile_ = nullptr;
  void* csr_ = nullptr;
  uint32_t tohost_ = 0, fromhost_ = 0;
  std::FILE* trace_ = nullptr;
  std::FILE* echo_ = nullptr;
  std::string console_;
  std::vector<uint32_t> breakpoints_;           // sorted
  uint64_t cycles_ = 0, instret_ = 0;
  bool exited_ = false;
  int exit_code_ = -1;
  Retired last_;
  // The pending instruction's store (see the header comment): its address, bytes and the word it overwrote.
  bool store_pending_ = false;
  uint32_t store_addr_ = 0, store_bytes_ = 0, store_old_ = 0;
};

}  // namespace edge
