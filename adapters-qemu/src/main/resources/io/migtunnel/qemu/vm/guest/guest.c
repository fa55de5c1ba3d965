/*
 * migtunnel's busy guest: a multiboot kernel that dirties a RAM range and writes its IDE disks at
 * chosen rates, checking as it goes that nothing it wrote was lost, so that a VM migrated while it
 * runs can be proven whole (io.migtunnel.qemu.vm.GuestCheck). The formats below are pinned by
 * GuestStatus, GuestPages and DiskRecords on the Java side: change them together.
 *
 * Memory: kernel at 1 MiB, status block at 0x3FF000, the range at ram_start (>= 4 MiB).
 * Time: the ACPI PM timer of the PIIX4 (pc machine), 3.579545 MHz, 24 bits; the PIT (1 kHz) only
 * wakes the guest from HLT when it has nothing to do.
 * No 64-bit division anywhere: there is no 32-bit libgcc to link against.
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define STATUS_ADDRESS 0x3FF000u
#define STATUS_MAGIC 0x5347544Du        /* "MTGS" */
#define STATUS_VERSION 1u
#define PAGE_MAGIC 0x4750544Du          /* "MTPG" */
#define RECORD_MAGIC 0x5744544Du        /* "MTDW" */
#define RECORD_VERSION 1u
#define PAGE 4096u
#define MIN_RAM_START 0x400000u
#define PM_HZ 3579545u
#define PM_MASK 0xFFFFFFu
#define MAX_DISKS 4
#define BATCH 64u                       /* pages dirtied between two looks at the clock */
#define MAX_ERROR_LINES 4u
#define LINE_MAX 200u

enum state { BOOTING = 0, FILLING = 1, RUNNING = 2, HALTED = 3 };

/* The status block; its offsets are pinned by GuestStatus.java. */
struct status {
    u32 magic;                  /*   0 */
    u32 version;                /*   4 */
    u32 sweep;                  /*   8: sweep in progress (0 while filling)   } stored together, */
    u32 position;               /*  12: next page of that sweep               } one instruction */
    u64 pages_dirtied;          /*  16: headers written by sweeps */
    u64 ticks;                  /*  24: PM timer ticks since boot */
    u32 errors;                 /*  32: pages found not as last written, failed disk commands */
    u32 first_bad_page;         /*  36: guest-physical address, 0xFFFFFFFF = none */
    u32 state;                  /*  40: enum state */
    u32 disk_mask;              /*  44: bit n = IDE slot n is written */
    u32 page_count;             /*  48 */
    u32 pm_port;                /*  52 */
    u64 last_write[MAX_DISKS];  /*  56: last completed write per slot */
    u32 ram_start;              /*  88: the parameters, as parsed */
    u32 ram_size;               /*  92 */
    u32 dirty_kib_s;            /*  96 */
    u32 disk_writes_s;          /* 100 */
    u32 region_start;           /* 104 */
    u32 region_sectors;         /* 108 */
    u32 disk_sectors[MAX_DISKS];/* 112: LBA28 capacity found by IDENTIFY, 0 = no disk */
};
_Static_assert(__builtin_offsetof(struct status, sweep) == 8, "status layout");
_Static_assert(__builtin_offsetof(struct status, last_write) == 56, "status layout");
_Static_assert(__builtin_offsetof(struct status, disk_sectors) == 112, "status layout");
_Static_assert(sizeof(struct status) == 128, "status layout");

#define status ((volatile struct status *) STATUS_ADDRESS)

struct multiboot_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline;
};

struct params {
    u32 ram_start, ram_size, dirty_kib_s, disk_writes_s, region_start, region_sectors;
};

struct disk {
    u16 base, ctrl;
    u8 unit;
    u32 next_index;             /* region sector of the next write: (k - 1) mod region_sectors */
    u64 k;                      /* number of the next write */
};

void guest_main(u32 magic, const struct multiboot_info *mbi);
void guest_exception(const u32 *frame);
extern void irq_master(void), irq_slave(void);
extern const u32 exception_stubs[32];

static struct params params = { MIN_RAM_START, 32u << 20, 0, 50, 2048, 2048 };
static struct disk disks[MAX_DISKS];
static u32 pm_last;
static u64 ticks;
static u32 error_lines;
static u32 record[128];

/* ---- small things the C library would give ---- */

void *memset(void *d, int c, u32 n) {
    u8 *p = d;
    while (n--) {
        *p++ = (u8) c;
    }
    return d;
}

void *memcpy(void *d, const void *s, u32 n) {
    u8 *p = d;
    const u8 *q = s;
    while (n--) {
        *p++ = *q++;
    }
    return d;
}

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/*
 * A 64-bit store in one instruction (MMX movq), so a VM stopped at any point never shows half of it.
 * Not lock cmpxchg8b: under QEMU 7.2's TCG, an interrupt taken soon after one can load EFLAGS
 * with garbage (TF, VM...), which ends in a debug exception or a triple fault.
 */
static void store64(volatile void *where, u64 value) {
    __asm__ volatile("movq %1, %%mm0\n\tmovq %%mm0, %0" : "=m"(*(volatile u64 *) where) : "m"(value) : "memory");
}

/* *n /= d, returning the remainder, with 32-bit divides only. */
static u32 divide(u64 *n, u32 d) {
    u32 hi = (u32) (*n >> 32), lo = (u32) *n, qhi = hi / d, r = hi % d, qlo;
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
    *n = ((u64) qhi << 32) | qlo;
    return r;
}

static u32 mix(u32 h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* ---- serial (COM1), one bounded line at a time ---- */

#define COM1 0x3F8

static char line[LINE_MAX + 1];
static u32 line_len;

static void serial_init(void) {
    outb(COM1 + 1, 0x00);       /* no interrupts */
    outb(COM1 + 3, 0x80);       /* divisor latch */
    outb(COM1 + 0, 0x01);       /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0xC7);       /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);
}

static void say(const char *s) {
    while (*s && line_len < LINE_MAX) {
        line[line_len++] = *s++;
    }
}

static void say_u64(u64 v) {
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char) ('0' + divide(&v, 10));
    } while (v);
    while (n && line_len < LINE_MAX) {
        line[line_len++] = digits[--n];
    }
}

static void say_hex(u32 v) {
    say("0x");
    int started = 0;
    for (int shift = 28; shift >= 0; shift -= 4) {
        u32 nibble = (v >> shift) & 0xF;
        if (nibble || started || shift == 0) {
            char c[2] = { (char) (nibble < 10 ? '0' + nibble : 'a' + nibble - 10), 0 };
            say(c);
            started = 1;
        }
    }
}

static void end_line(void) {
    line[line_len++] = '\n';
    for (u32 i = 0; i < line_len; i++) {
        while (!(inb(COM1 + 5) & 0x20)) {
        }
        outb(COM1, (u8) line[i]);
    }
    line_len = 0;
}

static void halt_forever(void) {
    status->state = HALTED;
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

static void fail(const char *what, u32 value) {
    if (line_len == 0) {
        say("busy guest: ");
    }
    say(what);
    say(" ");
    say_hex(value);
    say("; halted");
    end_line();
    halt_forever();
}

static void fail_param(const char *key, const char *what, u32 value) {
    say("busy guest: parameter ");
    say(key);
    say(" ");
    fail(what, value);
}

void guest_exception(const u32 *frame) {
    line_len = 0;
    say("busy guest: CPU exception ");
    say_u64(frame[0]);
    say(" (error ");
    say_hex(frame[1]);
    say(") at EIP ");
    say_hex(frame[2]);
    u32 dr6, dr7;
    __asm__ volatile("mov %%dr6, %0; mov %%dr7, %1" : "=r"(dr6), "=r"(dr7));
    say(", EFLAGS ");
    say_hex(frame[4]);
    say(", DR6 ");
    say_hex(dr6);
    say(", DR7 ");
    say_hex(dr7);
    say("; halted");
    end_line();
    halt_forever();
}

/* ---- interrupts: only the PIT, to wake from HLT ---- */

struct gate {
    u16 offset_low, selector;
    u8 zero, type;
    u16 offset_high;
} __attribute__((packed));

static struct gate idt[48] __attribute__((aligned(8)));

static void set_gate(int n, u32 handler) {
    idt[n] = (struct gate) { (u16) handler, 0x08, 0, 0x8E, (u16) (handler >> 16) };
}

static void interrupts_init(void) {
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

/* ---- time: the ACPI PM timer ---- */

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

/* Advances the clock; returns the ticks since the last call. */
static u32 clock_update(void) {
    u32 now = inl((u16) status->pm_port) & PM_MASK;
    u32 delta = (now - pm_last) & PM_MASK;
    pm_last = now;
    ticks += delta;
    return delta;
}

/* ---- parameters ---- */

static int same(const char *a, u32 n, const char *b) {
    for (u32 i = 0; i < n; i++) {
        if (b[i] != a[i]) {
            return 0;
        }
    }
    return b[n] == 0;
}

static u32 number(const char *s, u32 n, const char *key) {
    u64 v = 0;
    u32 i = 0, radix = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        radix = 16;
        i = 2;
    }
    if (i == n) {
        fail_param(key, "has no value; length", n);
    }
    for (; i < n; i++) {
        char c = s[i];
        u32 digit = c >= '0' && c <= '9' ? (u32) (c - '0')
            : radix == 16 && c >= 'a' && c <= 'f' ? (u32) (c - 'a' + 10)
            : radix == 16 && c >= 'A' && c <= 'F' ? (u32) (c - 'A' + 10) : 99;
        if (digit >= radix) {
            fail_param(key, "is not a number; bad character", (u8) c);
        }
        v = v * radix + digit;
        if (v > 0xFFFFFFFFu) {
            fail_param(key, "is too large; over", 0xFFFFFFFFu);
        }
    }
    return (u32) v;
}

/* key=value words; words without '=' (the kernel's file name, first) are ignored. */
static void parse(const char *cmdline) {
    static const char *const keys[] = {
        "ram_start", "ram_size", "dirty_kib_s", "disk_writes_s", "region_start", "region_sectors"
    };
    u32 *fields[] = {
        &params.ram_start, &params.ram_size, &params.dirty_kib_s, &params.disk_writes_s,
        &params.region_start, &params.region_sectors
    };
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        const char *word = p, *eq = 0;
        while (*p && *p != ' ') {
            if (*p == '=' && !eq) {
                eq = p;
            }
            p++;
        }
        if (!eq) {
            continue;
        }
        u32 k = 0, key_len = (u32) (eq - word);
        while (k < 6 && !same(word, key_len, keys[k])) {
            k++;
        }
        if (k == 6) {
            say("busy guest: unknown parameter ");
            for (const char *c = word; c < eq && line_len < 60; c++) {
                char s[2] = { *c, 0 };
                say(s);
            }
            end_line();
            halt_forever();
        }
        *fields[k] = number(eq + 1, (u32) (p - eq - 1), keys[k]);
    }
}

static void check_params(const struct multiboot_info *mbi) {
    if (params.ram_start % PAGE || params.ram_start < MIN_RAM_START) {
        fail("ram_start must be page-aligned and at least 0x400000, not", params.ram_start);
    }
    if (params.ram_size % PAGE || params.ram_size == 0) {
        fail("ram_size must be a positive multiple of 4096, not", params.ram_size);
    }
    u64 end = (u64) params.ram_start + params.ram_size;
    if (end > 0xC0000000u || ((mbi->flags & 1) && end > 0x100000u + (u64) mbi->mem_upper * 1024)) {
        fail("the range ends beyond RAM; RAM above 1 MiB in KiB:", mbi->mem_upper);
    }
    if (params.region_sectors == 0 || (u64) params.region_start + params.region_sectors > (1u << 28)) {
        fail("the disk region must hold a sector and end within LBA28; sectors", params.region_sectors);
    }
}

/* ---- RAM ---- */

static u32 page_check(u32 index, u32 sweep) {
    return mix(mix(index ^ 0xA5A5A5A5u) + sweep);
}

static u32 page_word(u32 index, u32 word) {
    return mix(((index << 10) | word) ^ 0x6D74676Bu);
}

static volatile u32 *page_at(u32 index) {
    return (volatile u32 *) (params.ram_start + index * PAGE);
}

/* Every page once: header at sweep 0, body a function of the page's index. */
static void fill(void) {
    for (u32 i = 0; i < status->page_count; i++) {
        volatile u32 *w = page_at(i);
        for (u32 j = 4; j < PAGE / 4; j++) {
            w[j] = page_word(i, j);
        }
        w[0] = PAGE_MAGIC;
        w[1] = i;
        w[2] = 0;
        w[3] = page_check(i, 0);
    }
}

static void count_error(void) {
    status->errors = status->errors + 1;
}

static void page_lost(u32 index, volatile u32 *w, u32 expected) {
    count_error();
    if (status->first_bad_page == 0xFFFFFFFFu) {
        status->first_bad_page = (u32) w;
    }
    if (error_lines++ >= MAX_ERROR_LINES) {
        return;
    }
    say("busy guest: ERROR page ");
    say_hex((u32) w);
    say(" holds magic ");
    say_hex(w[0]);
    say(" index ");
    say_u64(w[1]);
    say(" sweep ");
    say_u64(w[2]);
    say(" check ");
    say_hex(w[3]);
    say(", expected index ");
    say_u64(index);
    say(" sweep ");
    say_u64(expected);
    if (error_lines == MAX_ERROR_LINES) {
        say(" (further errors not printed)");
    }
    end_line();
}

/* Writes the next page's header for its sweep, after checking it holds the previous sweep's. */
static void dirty_one(void) {
    u32 sweep = status->sweep, index = status->position;
    volatile u32 *w = page_at(index);
    if (w[0] != PAGE_MAGIC || w[1] != index || w[2] != sweep - 1 || w[3] != page_check(index, sweep - 1)) {
        page_lost(index, w, sweep - 1);
        w[0] = PAGE_MAGIC;
        w[1] = index;
    }
    store64(w + 2, ((u64) page_check(index, sweep) << 32) | sweep);
    if (++index == status->page_count) {
        index = 0;
        sweep++;
    }
    store64(&status->sweep, ((u64) index << 32) | sweep);
    store64(&status->pages_dirtied, status->pages_dirtied + 1);
}

/* ---- IDE disks, PIO, LBA28 ---- */

#define ATA_BSY 0x80
#define ATA_DF 0x20
#define ATA_DRQ 0x08
#define ATA_ERR 0x01

static void ata_delay(const struct disk *d) {
    for (int i = 0; i < 4; i++) {
        inb(d->ctrl);
    }
}

/* Polls the status until BSY clears and (DRQ is set, when drq); returns the status, 0xFF on timeout. */
static u8 ata_wait(const struct disk *d, int drq, u32 timeout_ticks) {
    u64 deadline = ticks + timeout_ticks;
    for (;;) {
        u8 st = inb(d->base + 7);
        if (!(st & ATA_BSY) && (st & (ATA_ERR | ATA_DF) || !drq || st & ATA_DRQ)) {
            return st;
        }
        clock_update();
        if (ticks > deadline) {
            return 0xFF;
        }
    }
}

/* IDENTIFY: the disk's LBA28 capacity, 0 when there is no ATA disk in that slot. */
static u32 identify(struct disk *d) {
    u16 id[256];
    outb(d->ctrl, 0x02);                    /* nIEN: no interrupts, we poll */
    outb(d->base + 6, (u8) (0xA0 | (d->unit << 4)));
    ata_delay(d);
    u8 st = inb(d->base + 7);
    if (st == 0 || st == 0xFF) {
        return 0;
    }
    for (int r = 2; r <= 5; r++) {
        outb(d->base + r, 0);
    }
    outb(d->base + 7, 0xEC);
    if (inb(d->base + 7) == 0) {
        return 0;
    }
    st = ata_wait(d, 0, PM_HZ);
    if (st == 0xFF || inb(d->base + 4) || inb(d->base + 5)) {
        return 0;                           /* no answer, or ATAPI */
    }
    st = ata_wait(d, 1, PM_HZ);
    if (st == 0xFF || st & (ATA_ERR | ATA_DF)) {
        return 0;
    }
    u16 *buf = id;
    u32 count = 256;
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(d->base) : "memory");
    return id[60] | ((u32) id[61] << 16);
}

static void disk_error(int slot, const char *what, u8 st) {
    count_error();
    if (error_lines++ >= MAX_ERROR_LINES) {
        return;
    }
    say("busy guest: ERROR disk ");
    say_u64((u32) slot);
    say(" write ");
    say_u64(disks[slot].k);
    say(": ");
    say(what);
    say(", status ");
    say_hex(st);
    end_line();
}

/* Record of write k: magic, disk, k, LBA, sweep, version, a fill from k, and a checksum. */
static void make_record(int slot, u64 k, u32 lba) {
    record[0] = RECORD_MAGIC;
    record[1] = (u32) slot;
    record[2] = (u32) k;
    record[3] = (u32) (k >> 32);
    record[4] = lba;
    record[5] = 0;
    record[6] = status->sweep;
    record[7] = RECORD_VERSION;
    u32 seed = mix((u32) k ^ mix((u32) (k >> 32) + 0x3C6EF372u));
    for (u32 j = 8; j < 127; j++) {
        record[j] = mix(seed + j * 0x9E3779B9u);
    }
    u32 h = 0x811C9DC5u;
    for (u32 j = 0; j < 127; j++) {
        h = (h ^ record[j]) * 16777619u;
    }
    record[127] = h;
}

static void write_next(int slot) {
    struct disk *d = &disks[slot];
    u32 lba = params.region_start + d->next_index;
    make_record(slot, d->k, lba);
    u8 st = ata_wait(d, 0, 30 * PM_HZ);
    if (st == 0xFF) {
        disk_error(slot, "busy before the command", st);
        return;
    }
    outb(d->base + 6, (u8) (0xE0 | (d->unit << 4) | ((lba >> 24) & 0x0F)));
    ata_delay(d);
    outb(d->base + 2, 1);
    outb(d->base + 3, (u8) lba);
    outb(d->base + 4, (u8) (lba >> 8));
    outb(d->base + 5, (u8) (lba >> 16));
    outb(d->base + 7, 0x30);                /* WRITE SECTORS */
    st = ata_wait(d, 1, 30 * PM_HZ);
    if (st == 0xFF || st & (ATA_ERR | ATA_DF)) {
        disk_error(slot, "no data request", st);
        return;
    }
    const u32 *buf = record;
    u32 count = 256;
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(count) : "d"(d->base) : "memory");
    st = ata_wait(d, 0, 30 * PM_HZ);
    if (st == 0xFF || st & (ATA_ERR | ATA_DF)) {
        disk_error(slot, "the write failed", st);
        return;
    }
    store64(&status->last_write[slot], d->k);
    d->k++;
    if (++d->next_index == params.region_sectors) {
        d->next_index = 0;
    }
}

static void disks_init(void) {
    for (int slot = 0; slot < MAX_DISKS; slot++) {
        struct disk *d = &disks[slot];
        d->base = slot < 2 ? 0x1F0 : 0x170;
        d->ctrl = slot < 2 ? 0x3F6 : 0x376;
        d->unit = (u8) (slot & 1);
        d->k = 1;
        u32 sectors = identify(d);
        status->disk_sectors[slot] = sectors;
        if (sectors == 0) {
            continue;
        }
        if ((u64) params.region_start + params.region_sectors > sectors) {
            count_error();
            say("busy guest: ERROR disk ");
            say_u64((u32) slot);
            say(" has ");
            say_u64(sectors);
            say(" sectors, fewer than the region needs; not written");
            end_line();
            continue;
        }
        status->disk_mask = status->disk_mask | (1u << slot);
    }
}

static void disk_round(void) {
    for (int slot = 0; slot < MAX_DISKS; slot++) {
        if (status->disk_mask & (1u << slot)) {
            write_next(slot);
        }
    }
}

/* ---- reporting ---- */

static void say_writes(void) {
    say(", writes");
    for (int slot = 0; slot < MAX_DISKS; slot++) {
        if (status->disk_mask & (1u << slot)) {
            say(" ");
            say_u64(status->last_write[slot]);
        }
    }
}

static void boot_line(void) {
    say("busy guest v1: ram ");
    say_hex(params.ram_start);
    say("+");
    say_hex(params.ram_size);
    say(" (");
    say_u64(params.ram_size / PAGE);
    say(" pages), dirty_kib_s ");
    say_u64(params.dirty_kib_s);
    say(", disk_writes_s ");
    say_u64(params.disk_writes_s);
    say(", region ");
    say_u64(params.region_start);
    say("+");
    say_u64(params.region_sectors);
    say(", disks");
    for (int slot = 0; slot < MAX_DISKS; slot++) {
        if (status->disk_sectors[slot]) {
            say(" ");
            say_u64((u32) slot);
            say(":");
            say_u64(status->disk_sectors[slot]);
        }
    }
    say(", status ");
    say_hex(STATUS_ADDRESS);
    say(", pm timer ");
    say_hex(status->pm_port);
    end_line();
}

static void progress_line(u64 pages_in_second) {
    u64 seconds = ticks;
    divide(&seconds, PM_HZ);
    say("busy guest: ");
    say_u64(seconds);
    say(" s, sweep ");
    say_u64(status->sweep);
    say(" at page ");
    say_u64(status->position);
    say(", ");
    say_u64(pages_in_second);
    say(" pages/s");
    say_writes();
    say(", errors ");
    say_u64(status->errors);
    end_line();
}

/* ---- main ---- */

static u64 cap(u64 credit, u64 limit) {
    return credit > limit ? limit : credit;
}

void guest_main(u32 magic, const struct multiboot_info *mbi) {
    __asm__ volatile("clts; fninit");       /* MMX (store64) needs the FPU usable */
    serial_init();
    memset((void *) STATUS_ADDRESS, 0, PAGE);
    status->magic = STATUS_MAGIC;
    status->version = STATUS_VERSION;
    status->first_bad_page = 0xFFFFFFFFu;
    if (magic != 0x2BADB002u) {
        fail("not started by a multiboot loader; EAX", magic);
    }
    if (mbi->flags & 4) {
        parse((const char *) mbi->cmdline);
    }
    check_params(mbi);
    status->ram_start = params.ram_start;
    status->ram_size = params.ram_size;
    status->dirty_kib_s = params.dirty_kib_s;
    status->disk_writes_s = params.disk_writes_s;
    status->region_start = params.region_start;
    status->region_sectors = params.region_sectors;
    status->page_count = params.ram_size / PAGE;
    interrupts_init();
    status->pm_port = pm_timer_init();
    pm_last = inl((u16) status->pm_port) & PM_MASK;
    disks_init();
    boot_line();

    status->state = FILLING;
    fill();
    store64(&status->sweep, 1);             /* sweep 1 at page 0 */
    status->state = RUNNING;

    const u64 page_cost = 4ull * PM_HZ;     /* credit units: KiB x ticks, writes x ticks */
    const u64 ram_cap = (u64) params.dirty_kib_s * (PM_HZ / 10) + BATCH * page_cost;
    const u64 disk_cap = (u64) params.disk_writes_s * (PM_HZ / 10) + PM_HZ;
    u64 ram_credit = 0, disk_credit = 0, last_line = ticks, pages_at_line = 0, credited = ticks;
    for (;;) {
        clock_update();                     /* disk waits advance the clock too */
        u32 delta = (u32) (ticks - credited);
        credited = ticks;
        store64(&status->ticks, ticks);
        if (params.disk_writes_s && status->disk_mask) {
            disk_credit = cap(disk_credit + (u64) delta * params.disk_writes_s, disk_cap);
            if (disk_credit >= PM_HZ) {
                disk_credit -= PM_HZ;
                disk_round();
            }
        }
        u32 n = 0;
        if (params.dirty_kib_s == 0) {
            n = BATCH;
        } else {
            ram_credit = cap(ram_credit + (u64) delta * params.dirty_kib_s, ram_cap);
            while (n < BATCH && ram_credit >= page_cost) {
                ram_credit -= page_cost;
                n++;
            }
        }
        for (u32 i = 0; i < n; i++) {
            dirty_one();
        }
        if (ticks - last_line >= PM_HZ) {
            progress_line(status->pages_dirtied - pages_at_line);
            last_line = ticks;
            pages_at_line = status->pages_dirtied;
        }
        if (n == 0 && disk_credit < PM_HZ) {
            __asm__ volatile("sti; hlt; cli");  /* until the next PIT tick */
        }
    }
}
