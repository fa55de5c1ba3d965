/*
 * The busy guest's entry: multiboot header, flat GDT, stack, and the interrupt stubs.
 * The multiboot loader enters _start in 32-bit protected mode with EAX = 0x2BADB002 and EBX = the
 * multiboot information; interrupts are off and the GDT is the loader's, so we load our own.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003           /* page-aligned modules, memory information */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text
    .globl _start
_start:
    cli
    movl $stack_top, %esp
    lgdt gdt_descriptor
    ljmp $0x08, $1f
1:  movw $0x10, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movw %cx, %ss
    cld
    pushl %ebx                          /* multiboot information */
    pushl %eax                          /* loader magic */
    call guest_main
2:  cli
    hlt
    jmp 2b

/* CPU exceptions: a uniform frame (vector, error code, EIP, CS, EFLAGS) for guest_exception. */
    .irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,21,22,23,24,25,26,27,28,29,30,31
exception\n:
    pushl $0
    pushl $\n
    jmp exception_common
    .endr
    .irp n, 8,10,11,12,13,14,17
exception\n:
    pushl $\n
    jmp exception_common
    .endr
exception_common:
    cld
    pushl %esp
    call guest_exception                /* does not return */
3:  cli
    hlt
    jmp 3b

/* Interrupts only wake the guest from HLT: acknowledge and return. */
    .globl irq_master, irq_slave
irq_master:
    pushl %eax
    movb $0x20, %al
    outb %al, $0x20
    popl %eax
    iret
irq_slave:
    pushl %eax
    movb $0x20, %al
    outb %al, $0xA0
    outb %al, $0x20
    popl %eax
    iret

    .section .rodata
    .align 4
    .globl exception_stubs
exception_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long exception\n
    .endr

    .section .data
    .align 8
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF            /* 0x08: flat 32-bit code */
    .quad 0x00CF92000000FFFF            /* 0x10: flat 32-bit data */
gdt_descriptor:
    .word gdt_descriptor - gdt - 1
    .long gdt

    .section .bss
    .align 16
stack_bottom:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
