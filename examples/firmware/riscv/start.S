/* RV32 entry: stack, then C. The mask ROM jumps here (the start of flash). */
    .section .text.start, "ax"
    .globl _start
_start:
    la sp, __stack_top
    call c_start
1:  j 1b
