/* The edge-sdk MCU's memory map from C (README, "The platform"; the addresses come from edge_sdk/platform.py
   through the linker script): IMEM, the code memory, is fetched from and read by loads (constant tables marked
   EDGE_FLASH live there; on the RTL each such load waits the platform's wait states); DMEM is the data SRAM;
   the CLINT holds the machine timer. Every other access faults. */
#ifndef EDGE_PLATFORM_H
#define EDGE_PLATFORM_H

#include <stdint.h>

/* A constant table placed in the code memory instead of DMEM (section .flash of link.ld). */
#define EDGE_FLASH __attribute__((section(".flash")))

extern char __edge_clint_base[];   /* edge_memory.ld, from edge_sdk/platform.py */

#define CLINT_REG(offset) (*(volatile uint32_t *)((uintptr_t)__edge_clint_base + (offset)))
#define CLINT_MSIP CLINT_REG(0x0000)
#define CLINT_MTIMECMP_LO CLINT_REG(0x4000)
#define CLINT_MTIMECMP_HI CLINT_REG(0x4004)
#define CLINT_MTIME_LO CLINT_REG(0xBFF8)
#define CLINT_MTIME_HI CLINT_REG(0xBFFC)

#endif /* EDGE_PLATFORM_H */
