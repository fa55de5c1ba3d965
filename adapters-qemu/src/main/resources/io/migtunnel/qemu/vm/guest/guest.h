/*
 * migtunnel's busy guest: what its parts share. The formats here are pinned by GuestStatus,
 * GuestPages and DiskRecords on the Java side: change them together.
 */
#ifndef GUEST_H
#define GUEST_H

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

struct params {
    u32 ram_start, ram_size, dirty_kib_s, disk_writes_s, region_start, region_sectors;
};

/* The parameters from the command line (guest.c). */
extern struct params params;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/*
 * Drops the TLB entry of the page at p. Under QEMU 7.2's TCG a page whose TLB entry stays in use
 * is not seen dirty again once migration has synced its dirty bit: writes through that entry are
 * lost on the destination (seen here: the status block arrived seconds stale while the pages it
 * describes were current). Without an entry, the next write takes QEMU's slow path, which marks
 * the page dirty. So every page the guest writes again and again is forgotten after each write.
 */
static inline void untrack(volatile const void *p) {
    __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}

/*
 * A 64-bit store in one instruction (MMX movq), so a VM stopped at any point never shows half of it.
 * Not lock cmpxchg8b: under QEMU 7.2's TCG, an interrupt taken soon after one can load EFLAGS
 * with garbage (TF, VM...), which ends in a debug exception or a triple fault.
 */
static inline void store64(volatile void *where, u64 value) {
    __asm__ volatile("movq %1, %%mm0\n\tmovq %%mm0, %0" : "=m"(*(volatile u64 *) where) : "m"(value) : "memory");
    untrack(where);
}

/* murmur3's finaliser. */
static inline u32 mix(u32 h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* console.c: what the C library would give; COM1, one bounded line at a time; errors. */
void *memset(void *d, int c, u32 n);
void *memcpy(void *d, const void *s, u32 n);
void serial_init(void);
void say(const char *s);
void say_u64(u64 v);
void say_hex(u32 v);
void end_line(void);
u32 divide(u64 *n, u32 d);
void halt_forever(void) __attribute__((noreturn));
void fail(const char *what, u32 value) __attribute__((noreturn));
void fail_param(const char *key, const char *what, u32 value) __attribute__((noreturn));
/* Counts an error; returns the number of the line to print about it, 0 once MAX_ERROR_LINES are out. */
u32 count_error(void);
/* Ends a line about an error, saying so when it is the last one printed. */
void say_error_end(u32 line_number);

/* machine.c: interrupts (the PIT wakes HLT) and the ACPI PM timer. */
extern u64 ticks;
void interrupts_init(void);
void clock_init(void);
u32 clock_update(void);

/* disks.c: the IDE disks, written in the region. */
void disks_init(void);
void disk_round(void);

#endif
