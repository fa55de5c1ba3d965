/* The busy guest's disks: IDE, PIO, LBA28; write k goes to region sector (k - 1) mod region_sectors. */
#include "guest.h"

struct disk {
    u16 base, ctrl;
    u8 unit;
    u32 next_index;             /* region sector of the next write: (k - 1) mod region_sectors */
    u64 k;                      /* number of the next write */
};

static struct disk disks[MAX_DISKS];
static u32 record[128];

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
    u32 line_number = count_error();
    if (!line_number) {
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
    say_error_end(line_number);
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

void disks_init(void) {
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

void disk_round(void) {
    for (int slot = 0; slot < MAX_DISKS; slot++) {
        if (status->disk_mask & (1u << slot)) {
            write_next(slot);
        }
    }
}
