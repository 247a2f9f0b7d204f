/* Start-up for the edge-sdk MCU: the same image runs on Spike and on the RTL core.
   Locks the platform's protection map into the PMP, sets the stack and global pointer, installs the trap
   handler, clears .bss, runs main, exits via tohost. */
    .section .text.init, "ax"
    .globl _start

/* csrw CSR, SYMBOL for an absolute symbol of edge_memory.ld */
.macro csrw_symbol csr, symbol
    lui t0, %hi(\symbol)
    addi t0, t0, %lo(\symbol)
    csrw \csr, t0
.endm

_start:
    .option push
    .option arch, +zicsr
    /* The map (edge_sdk/platform.py: CLINT rw, IMEM rx, DMEM rw, nothing else) as locked PMP entries:
       Spike then faults where the RTL's bus does; on the RTL these registers already hold these values
       (locked entries ignore the writes). Addresses first: a locked entry's address cannot change. */
    csrw_symbol pmpaddr0, __edge_pmpaddr0
    csrw_symbol pmpaddr1, __edge_pmpaddr1
    csrw_symbol pmpaddr2, __edge_pmpaddr2
    csrw_symbol pmpaddr3, __edge_pmpaddr3
    csrw_symbol pmpaddr4, __edge_pmpaddr4
    csrw_symbol pmpaddr5, __edge_pmpaddr5
    csrw_symbol pmpaddr6, __edge_pmpaddr6
    csrw_symbol pmpaddr7, __edge_pmpaddr7
    csrw_symbol pmpcfg0, __edge_pmpcfg0
    csrw_symbol pmpcfg1, __edge_pmpcfg1
    .option pop
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la tp, __tls_base
    .option push
    .option arch, +zicsr
    la t0, edge_trap_vector
    ori t0, t0, 1            /* vectored: exceptions at the base, interrupt n at base + 4 n */
    csrw mtvec, t0
    /* Count from here on both simulators (Spike runs a boot ROM before jumping to _start). */
    csrw mcycle, zero
    csrw mcycleh, zero
    csrw minstret, zero
    csrw minstreth, zero
    .option pop
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  li a0, 0
    li a1, 0
    call main
    call exit
3:  j 3b

/* The trap vector (mtvec mode 1): exceptions go to the fatal report below; machine software, timer and external
   interrupts to edge_irq_software, edge_irq_timer and edge_irq_external, which a program defines as
   `void __attribute__((interrupt("machine"))) edge_irq_timer(void)` (firmware/include/timer.h). Undefined
   ones, and the reserved causes, are fatal too: the report names the interrupt's mcause. */
    .align 2
    .option push
    .option norvc
edge_trap_vector:
    j edge_trap_entry        /* 0: exceptions */
    j edge_trap_entry
    j edge_trap_entry
    j edge_irq_software      /* 3 */
    j edge_trap_entry
    j edge_trap_entry
    j edge_trap_entry
    j edge_irq_timer         /* 7 */
    j edge_trap_entry
    j edge_trap_entry
    j edge_trap_entry
    j edge_irq_external      /* 11 */
    .option pop
    .weak edge_irq_software, edge_irq_timer, edge_irq_external
    .set edge_irq_software, edge_trap_entry
    .set edge_irq_timer, edge_trap_entry
    .set edge_irq_external, edge_trap_entry

/* Any trap is fatal on this bare-metal platform: report cause, pc, value and the program's stack pointer
   (a stack pointer below __stack_bottom is a stack overflow: link.ld puts the stack at the bottom of DMEM,
   so its first access beyond the stack faulted), then exit. A trap inside the handler exits at once with
   code 255 instead of looping forever. */
    .align 2
    .globl edge_trap_entry
edge_trap_entry:
    la t0, edge_in_trap
    lw t1, 0(t0)
    bnez t1, edge_double_trap
    li t1, 1
    sw t1, 0(t0)
    .option push
    .option arch, +zicsr
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    .option pop
    mv a3, sp
    la sp, __stack_top
    call edge_trap
4:  j 4b

edge_double_trap:
    la t0, tohost
    li t1, (255 << 1) | 1
    sw t1, 0(t0)
5:  j 5b

    .section .bss
    .align 2
edge_in_trap:
    .word 0
