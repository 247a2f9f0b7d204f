// The subprocess harness of the edge SoC: runs an ELF to its HTIF exit with the shared driver
// (edge_core_driver.h: loading, console system calls, commit trace, limits), the console on stdout as it is
// written, and ends with one summary line on stderr:
//   @edge-rtl-sim {"status": "exit"|"timeout"|"error", "exit_code": N, "cycles": N, ...}
// ("timeout" names its "limit": "cycles" for --max-cycles, "instructions" for --max-instructions).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "edge_core_driver.h"

namespace {

struct Options {
  std::string elf;
  std::string trace;
  uint64_t max_cycles = 0;
  uint64_t max_instructions = 0;
  std::vector<std::string> plusargs;
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

Options parse_args(int argc, char** argv) {
  const char* usage = "usage: edge-rtl-sim [--max-cycles N] [--max-instructions N] [--trace FILE] ELF";
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--max-cycles" && i + 1 < argc) o.max_cycles = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--max-instructions" && i + 1 < argc) o.max_instructions = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--trace" && i + 1 < argc) o.trace = argv[++i];
    else if (!a.empty() && a[0] == '+') o.plusargs.push_back(a);  // Verilator plusargs
    else if (o.elf.empty()) o.elf = a;
    else fail("error", usage);
  }
  if (o.elf.empty()) fail("error", usage);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  std::unique_ptr<edge::CoreDriver> core;
  try {
    core = std::make_unique<edge::CoreDriver>(opt.elf, opt.trace, stdout, opt.plusargs);
  } catch (const edge::SimError& err) {
    fail("error", err.what());
  }
  edge::Limits limits;
  if (opt.max_cycles) limits.cycles = opt.max_cycles;
  if (opt.max_instructions) limits.instret = opt.max_instructions;
  auto start = std::chrono::steady_clock::now();
  edge::Stop stop;
  try {
    stop = core->run(limits);
  } catch (const edge::SimError& err) {
    fail("error", err.what(), core->cycles());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (stop == edge::Stop::kCycleLimit) fail("timeout", "no exit within --max-cycles", core->cycles(), "cycles");
  if (stop == edge::Stop::kInstretLimit) {
    fail("timeout", "no exit within --max-instructions", core->cycles(), "instructions");
  }
  const int exit_code = core->exit_code();
  const uint64_t cycles = core->cycles(), instret = core->instret();
  core.reset();  // closes the trace
  std::fprintf(stderr,
               "@edge-rtl-sim {\"status\": \"exit\", \"exit_code\": %d, \"cycles\": %" PRIu64
               ", \"instret\": %" PRIu64 ", \"seconds\": %.6f}\n",
               exit_code, cycles, instret, seconds);
  return exit_code & 0xff;
}
