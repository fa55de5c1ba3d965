/* The busy guest's machine: the PIT wakes it from HLT; the ACPI PM timer of the PIIX4 keeps time. */
#include "guest.h"

extern void irq_master(void), irq_slave(void);
extern const u32 exception_stubs[32];

u64 ticks;
static u32 pm_last;

struct gate {
    u16 offset_low, selector;
    u8 zero, type;
    u16 offset_high;
} __attribute__((packed));

static struct gate idt[48] __attribute__((aligned(8)));

static void set_gate(int n, u32 handler) {
    idt[n] = (struct gate) { (u16) handler, 0x08, 0, 0x8E, (u16) (handler >> 16) };
}

void interrupts_init(void) {
    for (int n = 0; n < 32; n++) {
        set_gate(n, exception_stubs[n]);
    }
    for (int n = 32; n < 48; n++) {
        set_gate(n, n < 40 ? (u32) irq_master : (u32) irq_slave);
    }
    struct { u16 limit; u32 base; } __attribute__((packed)) idtr = { sizeof idt - 1, (u32) idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
    /* PICs: IRQ 0-15 at vectors 0x20-0x2F, everything masked but the PIT. */
    outb(0x20, 0x11); outb(0xA0, 0x11);
    outb(0x21, 0x20); outb(0xA1, 0x28);
    outb(0x21, 0x04); outb(0xA1, 0x02);
    outb(0x21, 0x01); outb(0xA1, 0x01);
    outb(0x21, 0xFE); outb(0xA1, 0xFF);
    /* PIT channel 0, rate generator, 1193182 / 1193 = 1 kHz. */
    outb(0x43, 0x34);
    outb(0x40, 1193 & 0xFF);
    outb(0x40, 1193 >> 8);
}

static u32 pci_read(u32 device, u32 function, u32 reg) {
    outl(0xCF8, 0x80000000u | (device << 11) | (function << 8) | (reg & 0xFC));
    return inl(0xCFC);
}

static void pci_write(u32 device, u32 function, u32 reg, u32 value) {
    outl(0xCF8, 0x80000000u | (device << 11) | (function << 8) | (reg & 0xFC));
    outl(0xCFC, value);
}

/* The PIIX4 power management function (00:01.3) of QEMU's pc machine; SeaBIOS has set it up. */
static u16 pm_timer_init(void) {
    u32 id = pci_read(1, 3, 0x00);
    if (id != 0x71138086u) {
        fail("no PIIX4 ACPI PM timer at 00:01.3 (needs -machine pc); found id", id);
    }
    u32 base = pci_read(1, 3, 0x40) & 0xFFC0u;
    if (base == 0 || !(pci_read(1, 3, 0x80) & 1)) {
        base = 0xB000;
        pci_write(1, 3, 0x40, base | 1);
        pci_write(1, 3, 0x80, pci_read(1, 3, 0x80) | 1);
    }
    return (u16) (base + 8);
}

/* Finds the PM timer and starts the clock at 0. */
void clock_init(void) {
    status->pm_port = pm_timer_init();
    pm_last = inl((u16) status->pm_port) & PM_MASK;
}

/* Advances the clock; returns the ticks since the last call. */
u32 clock_update(void) {
    u32 now = inl((u16) status->pm_port) & PM_MASK;
    u32 delta = (now - pm_last) & PM_MASK;
    pm_last = now;
    ticks += delta;
    return delta;
}
