// Reading a 32-bit little-endian ELF file held in memory: the one copy of the field reads and the PT_LOAD walk
// shared by the core driver (edge_core_driver.cpp) and the lock-step co-simulation (edge_cosim.cpp).
//
// Header-only on purpose: the two are built with different libstdc++ ABIs (edge_cosim.cpp with
// -D_GLIBCXX_USE_CXX11_ABI=0), so each compiles its own inline copy and no object code crosses between them.
// `Error` is the exception type thrown on a malformed file (the driver's edge::SimError, the co-simulation's
// std::runtime_error), constructed from a message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace edge::elf {

// The T stored at byte `off` of `b`; throws Error("truncated ELF file") past the end.
template <typename T, typename Error = std::runtime_error>
T read_at(const std::vector<uint8_t>& b, size_t off) {
  if (off + sizeof(T) > b.size()) throw Error("truncated ELF file");
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

// Calls fn(paddr, data, size) for each PT_LOAD program header of `b` in order, `data` pointing at its `size`
// (p_filesz) bytes in `b`. Throws Error("ELF segment beyond end of file") for a segment past the end of `b`
// (before calling fn for it), and Error("truncated ELF file") for a header past it.
template <typename Error = std::runtime_error, typename Fn>
void for_each_load_segment(const std::vector<uint8_t>& b, Fn&& fn) {
  uint32_t phoff = read_at<uint32_t, Error>(b, 28);
  uint16_t phentsize = read_at<uint16_t, Error>(b, 42), phnum = read_at<uint16_t, Error>(b, 44);
  for (uint16_t i = 0; i < phnum; ++i) {
    size_t ph = phoff + size_t(i) * phentsize;
    if (read_at<uint32_t, Error>(b, ph) != 1) continue;  // PT_LOAD
    uint32_t off = read_at<uint32_t, Error>(b, ph + 4), paddr = read_at<uint32_t, Error>(b, ph + 12);
    uint32_t filesz = read_at<uint32_t, Error>(b, ph + 16);
    if (off + uint64_t(filesz) > b.size()) throw Error("ELF segment beyond end of file");
    fn(paddr, b.data() + off, filesz);
  }
}

}  // namespace edge::elf
