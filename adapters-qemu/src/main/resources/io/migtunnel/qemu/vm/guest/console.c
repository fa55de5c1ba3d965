/* The busy guest's console: COM1, bounded lines, errors and halting; the C library bits it needs. */
#include "guest.h"

#define COM1 0x3F8

static char line[LINE_MAX + 1];
static u32 line_len;
static u32 error_lines;

void guest_exception(const u32 *frame);

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


/* *n /= d, returning the remainder, with 32-bit divides only. */
u32 divide(u64 *n, u32 d) {
    u32 hi = (u32) (*n >> 32), lo = (u32) *n, qhi = hi / d, r = hi % d, qlo;
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
    *n = ((u64) qhi << 32) | qlo;
    return r;
}


#define COM1 0x3F8

static char line[LINE_MAX + 1];
static u32 line_len;

void serial_init(void) {
    outb(COM1 + 1, 0x00);       /* no interrupts */
    outb(COM1 + 3, 0x80);       /* divisor latch */
    outb(COM1 + 0, 0x01);       /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0xC7);       /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);
}

void say(const char *s) {
    while (*s && line_len < LINE_MAX) {
        line[line_len++] = *s++;
    }
}

void say_u64(u64 v) {
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char) ('0' + divide(&v, 10));
    } while (v);
    while (n && line_len < LINE_MAX) {
        line[line_len++] = digits[--n];
    }
}

void say_hex(u32 v) {
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

void end_line(void) {
    line[line_len++] = '\n';
    for (u32 i = 0; i < line_len; i++) {
        while (!(inb(COM1 + 5) & 0x20)) {
        }
        outb(COM1, (u8) line[i]);
    }
    line_len = 0;
}

void halt_forever(void) {
    status->state = HALTED;
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

void fail(const char *what, u32 value) {
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

void fail_param(const char *key, const char *what, u32 value) {
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

u32 count_error(void) {
    status->errors = status->errors + 1;
    return error_lines < MAX_ERROR_LINES ? ++error_lines : 0;
}

void say_error_end(u32 line_number) {
    if (line_number == MAX_ERROR_LINES) {
        say(" (further errors not printed)");
    }
    end_line();
}
