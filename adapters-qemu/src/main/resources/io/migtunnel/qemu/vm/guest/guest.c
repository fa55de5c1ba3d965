/*
 * migtunnel's busy guest: a multiboot kernel that dirties a RAM range and writes its IDE disks at
 * chosen rates, checking as it goes that nothing it wrote was lost, so that a VM migrated while it
 * runs can be proven whole (io.migtunnel.qemu.vm.GuestCheck). This file: parameters, the RAM
 * range, progress lines and the main loop; guest.h has the shared formats.
 *
 * Memory: kernel at 1 MiB, status block at 0x3FF000, the range at ram_start (>= 4 MiB).
 * Time: the ACPI PM timer of the PIIX4 (pc machine), 3.579545 MHz, 24 bits; the PIT (1 kHz) only
 * wakes the guest from HLT when it has nothing to do.
 * No 64-bit division anywhere: there is no 32-bit libgcc to link against.
 */
#include "guest.h"

struct multiboot_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline;
};

void guest_main(u32 magic, const struct multiboot_info *mbi);

struct params params = { MIN_RAM_START, 32u << 20, 0, 50, 2048, 2048 };

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
            for (const char *c = word; c < eq && c < word + 40; c++) {
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

static void page_lost(u32 index, volatile u32 *w, u32 expected) {
    u32 line_number = count_error();
    if (status->first_bad_page == 0xFFFFFFFFu) {
        status->first_bad_page = (u32) w;
    }
    if (!line_number) {
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
    say_error_end(line_number);
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

extern char _data_start[], _end[];

/* The kernel's own data and stack, written all the time: see untrack() in guest.h. */
static void untrack_kernel_data(void) {
    for (char *p = _data_start; p < _end; p += PAGE) {
        untrack(p);
    }
}

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
    clock_init();
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
        untrack_kernel_data();
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
