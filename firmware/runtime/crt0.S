/* Start-up for the edge-sdk MCU: the same image runs on Spike and on the RTL core.
   Sets the stack and global pointer, installs the trap handler, clears .bss, runs main, exits via tohost. */
    .section .text.init, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la tp, __tls_base
    .option push
    .option arch, +zicsr
    la t0, edge_trap_entry
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

/* Any trap is fatal on this bare-metal platform: report cause, pc, value and the program's stack pointer
   (a stack pointer below __stack_bottom is a stack overflow: link.ld puts the stack at the bottom of DMEM,
   so its first access beyond the stack faulted), then exit. A trap inside the handler exits at once with
   code 255 instead of looping forever. */
    .align 2
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
