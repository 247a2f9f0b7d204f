// A small C API over the core driver (edge_core_driver.h) for ctypes: edge_sdk/sim/rtlcore.py declares the
// same functions and struct. Every call that can fail returns -1 (or null) and leaves its message in `err`.
#include <algorithm>
#include <cstring>
#include <exception>

#include "edge_core_driver.h"

namespace {

void set_error(char* err, size_t len, const char* msg) {
  if (!err || !len) return;
  std::strncpy(err, msg, len - 1);
  err[len - 1] = '\0';
}

edge::CoreDriver* core_of(void* handle) { return static_cast<edge::CoreDriver*>(handle); }

}  // namespace

extern "C" {

// What Python reads after every run: the counts since reset, the exit, the instruction the core stopped
// before (pending_*) and the last one that retired (last_*).
struct edge_core_status {
  uint64_t cycles, instret;
  int32_t exited, exit_code;
  int32_t pending_valid, pending_compressed;
  uint32_t pending_pc, pending_insn;
  uint32_t last_pc, last_insn;
  int32_t last_compressed, last_valid;
  uint64_t last_cycle, last_cost;
};

EDGE_CORE_API void* edge_core_new(const char* elf, const char* trace, char* err, size_t err_len) {
  try {
    return new edge::CoreDriver(elf, trace ? trace : "", nullptr);
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return nullptr;
  }
}

EDGE_CORE_API void edge_core_free(void* handle) { delete core_of(handle); }

// Returns an edge::Stop, or -1 on an error. A limit of 0 means none.
EDGE_CORE_API int edge_core_run(void* handle, uint64_t cycles, uint64_t instret, uint64_t pause_instret,
                                int breakpoints, int step_over, char* err, size_t err_len) {
  edge::Limits limits;
  if (cycles) limits.cycles = cycles;
  if (instret) limits.instret = instret;
  limits.pause_instret = pause_instret;
  limits.breakpoints = breakpoints != 0;
  limits.step_over = step_over != 0;
  try {
    return int(core_of(handle)->run(limits));
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return -1;
  }
}

// A run with a retire hook (edge::RetireHook: `hook(ctx, record)` before each instruction retires; non-zero
// stops before it, edge::Stop::kHook): what the lock-step co-simulation (edge_cosim.cpp) drives the core with.
// No pause or breakpoints; limits as for edge_core_run.
EDGE_CORE_API int edge_core_run_hooked(void* handle, uint64_t cycles, uint64_t instret, int step_over,
                                       edge::RetireHook hook, void* ctx, char* err, size_t err_len) {
  edge::Limits limits;
  if (cycles) limits.cycles = cycles;
  if (instret) limits.instret = instret;
  limits.step_over = step_over != 0;
  limits.hook = hook;
  limits.hook_ctx = ctx;
  try {
    return int(core_of(handle)->run(limits));
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return -1;
  }
}

// The record (edge::RetireRecord) of the instruction the core is stopped before; 0 if there is none.
EDGE_CORE_API int edge_core_pending_record(void* handle, edge::RetireRecord* out) {
  if (!core_of(handle)->pending().valid) return 0;
  *out = core_of(handle)->record();
  return 1;
}

EDGE_CORE_API void edge_core_set_breakpoints(void* handle, const uint32_t* pcs, size_t n) {
  core_of(handle)->set_breakpoints(std::vector<uint32_t>(pcs, pcs + n));
}

EDGE_CORE_API void edge_core_get_status(void* handle, edge_core_status* out) {
  const edge::CoreDriver& core = *core_of(handle);
  edge::Pending p = core.pending();
  const edge::Retired& last = core.last_retired();
  *out = {core.cycles(), core.instret(), core.exited(), core.exit_code(), p.valid, p.compressed,
          p.pc, p.insn, last.pc, last.insn, last.compressed, core.instret() > 0, last.cycle, last.cost};
}

EDGE_CORE_API uint32_t edge_core_reg(void* handle, unsigned index) { return core_of(handle)->reg(index); }

EDGE_CORE_API uint64_t edge_core_counter(void* handle, unsigned index) { return core_of(handle)->counter(index); }

// `which`: 0 IMEM, 1 DMEM (the caller checks the range: outside its memory a byte reads 0, a write is lost).
EDGE_CORE_API void edge_core_read(void* handle, int which, uint32_t addr, uint8_t* buf, size_t n) {
  for (size_t i = 0; i < n; ++i) buf[i] = core_of(handle)->read(edge::Memory(which), uint32_t(addr + i));
}

EDGE_CORE_API void edge_core_write(void* handle, int which, uint32_t addr, const uint8_t* buf, size_t n) {
  for (size_t i = 0; i < n; ++i) core_of(handle)->write(edge::Memory(which), uint32_t(addr + i), buf[i]);
}

EDGE_CORE_API size_t edge_core_console_size(void* handle) { return core_of(handle)->console().size(); }

// Moves up to `cap` bytes of the console written so far into `buf`; returns how many.
EDGE_CORE_API size_t edge_core_take_console(void* handle, char* buf, size_t cap) {
  return core_of(handle)->take_console(buf, cap);
}

}  // extern "C"
