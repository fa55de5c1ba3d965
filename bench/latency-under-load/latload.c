/*
 * latload: one cell of bench/latency-under-load.sh, both ends in one process.
 *
 *   latload cell --target-rr PATH --target-bulk PATH --rr PATH --bulk PATH --size S
 *                --streams N (--rts K [--warmup-rts W] | --duration SEC [--ramp SEC])
 *                [--samples FILE] [--timeout SEC]
 *   latload stats FILE...
 *
 * cell: listens on --target-rr (echo server: writes back what it reads) and --target-bulk (sink:
 * reads and discards, counting bytes), i.e. the far end of the path under test, whose relays
 * (migtunnel, socat, ssh -L, or none) connect to these sockets on demand. Then, at the near end, it
 * connects N bulk clients to --bulk (each writes 256 KiB blocks as fast as it can) and one
 * request/response client to --rr, which sends S bytes, waits for the echo of the same S bytes,
 * compares them with what it sent, and repeats; each round trip is timed with
 * clock_gettime(CLOCK_MONOTONIC).
 *   --rts K       K timed round trips after W untimed ones (the idle cells, N = 0)
 *   --duration D  round trips for D seconds after a ramp of R seconds with the bulk streams
 *                 running (the loaded cells); bulk MB/s = bytes the sink received between the
 *                 first and the last timed round trip / that time
 * After the window the bulk clients stop and half-close; the cell waits until every sink has
 * seen EOF, so nothing a bulk stream wrote is still in flight when the next cell starts, and
 * checks that the sinks received exactly what the clients wrote.
 * Prints one line of key=value results on stdout; writes the round trips (ns, one per line) to
 * --samples. Exit status: 0 ok, 3 wrong bytes (echo mismatch, lost bulk bytes), 4 the path
 * failed (connect, timeout, early EOF), 2 usage.
 *
 * stats: pooled nearest-rank percentiles of the sample files, in microseconds:
 *   n=.. p50=.. p99=.. p999=.. max=..
 *
 * Benchmark tool only (bench/); built by latency-under-load.sh with gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BULK_BLOCK (256 * 1024)
#define MAX_STREAMS 64
#define EXIT_WRONG 3
#define EXIT_PATH 4

static double timeout_s = 20;

static void fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "latload: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void set_timeout(int fd, int opt, double s) {
    struct timeval tv = {.tv_sec = (time_t) s, .tv_usec = (suseconds_t) ((s - (time_t) s) * 1e6)};
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

static struct sockaddr_un unix_addr(const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) fail(2, "socket path too long: %s", path);
    strcpy(a.sun_path, path);
    return a;
}

static int unix_listen(const char *path) {
    struct sockaddr_un a = unix_addr(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(EXIT_PATH, "socket: %s", strerror(errno));
    unlink(path);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 128) < 0)
        fail(EXIT_PATH, "listen %s: %s", path, strerror(errno));
    return fd;
}

/* connect, retrying for a while: an exposed socket may be re-created by its relay */
static int unix_connect(const char *path) {
    struct sockaddr_un a = unix_addr(path);
    uint64_t deadline = now_ns() + (uint64_t) (timeout_s * 1e9);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) fail(EXIT_PATH, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &a, sizeof a) == 0) return fd;
        int e = errno;
        close(fd);
        if (now_ns() > deadline) fail(EXIT_PATH, "connect %s: %s", path, strerror(e));
        usleep(20000);
    }
}

/* ------------------------------------------------------------------ far end: echo and sink */

static volatile int echo_accepted;

static void *echo_conn(void *arg) {
    int fd = (int) (long) arg;
    static __thread char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t m = write(fd, buf + off, (size_t) (n - off));
            if (m < 0 && errno == EINTR) continue;
            if (m <= 0) goto done;
            off += m;
        }
    }
done:
    close(fd);
    return NULL;
}

struct sink_slot { uint64_t bytes; int eof; };
static struct sink_slot sinks[MAX_STREAMS];
static int sink_count;   /* accepted, under sink_lock */
static int sink_eofs;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

static void *sink_conn(void *arg) {
    int fd = (int) (long) arg, idx;
    char *buf = malloc(BULK_BLOCK);
    pthread_mutex_lock(&sink_lock);
    idx = sink_count < MAX_STREAMS ? sink_count++ : -1;
    pthread_mutex_unlock(&sink_lock);
    if (idx < 0 || !buf) { close(fd); free(buf); return NULL; }
    for (;;) {
        ssize_t n = read(fd, buf, BULK_BLOCK);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        __atomic_fetch_add(&sinks[idx].bytes, (uint64_t) n, __ATOMIC_RELAXED);
    }
    close(fd);
    free(buf);
    pthread_mutex_lock(&sink_lock);
    sinks[idx].eof = 1;
    sink_eofs++;
    pthread_mutex_unlock(&sink_lock);
    return NULL;
}

struct acceptor { int lfd; void *(*fn)(void *); volatile int *count; };

static void *accept_loop(void *arg) {
    struct acceptor *a = arg;
    for (;;) {
        int c = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; return NULL; }
        if (a->count) __atomic_fetch_add(a->count, 1, __ATOMIC_RELAXED);
        pthread_t t;
        pthread_create(&t, NULL, a->fn, (void *) (long) c);
        pthread_detach(t);
    }
}

static uint64_t sink_total(uint64_t *per) {
    uint64_t sum = 0;
    for (int i = 0; i < MAX_STREAMS; i++) {
        uint64_t b = __atomic_load_n(&sinks[i].bytes, __ATOMIC_RELAXED);
        if (per) per[i] = b;
        sum += b;
    }
    return sum;
}

/* ------------------------------------------------------------------ near end: bulk clients */

static volatile int bulk_stop;

struct bulk { const char *path; pthread_t thread; uint64_t written; int error; };

static void *bulk_writer(void *arg) {
    struct bulk *b = arg;
    char *buf = malloc(BULK_BLOCK);
    if (!buf) { b->error = ENOMEM; return NULL; }
    for (size_t i = 0; i < BULK_BLOCK; i++) buf[i] = (char) (i * 131 + 7);
    int fd = unix_connect(b->path);
    set_timeout(fd, SO_SNDTIMEO, 0.1);   /* so a blocked write sees bulk_stop soon */
    while (!__atomic_load_n(&bulk_stop, __ATOMIC_RELAXED)) {
        ssize_t n = write(fd, buf, BULK_BLOCK);
        if (n > 0) b->written += (uint64_t) n;
        else if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        else { b->error = n < 0 ? errno : EPIPE; break; }
    }
    shutdown(fd, SHUT_WR);
    /* keep fd open until the sink has seen EOF: the caller waits for that, then exits */
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------ samples */

struct samples { uint64_t *v; size_t n, cap; };

static void push(struct samples *s, uint64_t x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) fail(2, "out of memory");
    }
    s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* nearest rank: the smallest sample with at least p of all samples at or below it */
static double pct_us(const uint64_t *sorted, size_t n, double p) {
    if (n == 0) return NAN;
    size_t rank = (size_t) ceil(p * (double) n);
    if (rank < 1) rank = 1;
    return (double) sorted[rank - 1] / 1000.0;
}

static void print_stats(struct samples *s) {
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    printf("n=%zu p50=%.1f p99=%.1f p999=%.1f max=%.1f", s->n, pct_us(s->v, s->n, 0.50),
           pct_us(s->v, s->n, 0.99), pct_us(s->v, s->n, 0.999), s->n ? (double) s->v[s->n - 1] / 1000.0 : NAN);
}

/* ------------------------------------------------------------------ request/response */

static char *pattern;   /* PATTERN_LEN + size random bytes */
#define PATTERN_LEN 4096

static uint64_t round_trip(int fd, uint64_t seq, size_t size, char *req, char *resp) {
    memcpy(req, pattern + (seq * 7919) % PATTERN_LEN, size);
    memcpy(req, &seq, size < sizeof seq ? size : sizeof seq);
    uint64_t t0 = now_ns();
    for (size_t off = 0; off < size;) {
        ssize_t m = write(fd, req + off, size - off);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) fail(EXIT_PATH, "request %llu: write: %s", (unsigned long long) seq, m < 0 ? strerror(errno) : "0");
        off += (size_t) m;
    }
    for (size_t off = 0; off < size;) {
        ssize_t m = read(fd, resp + off, size - off);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0 && errno == EAGAIN)
            fail(EXIT_PATH, "request %llu: no echo within %.0f s (%zu of %zu bytes)", (unsigned long long) seq,
                 timeout_s, off, size);
        if (m < 0) fail(EXIT_PATH, "request %llu: read: %s", (unsigned long long) seq, strerror(errno));
        if (m == 0) fail(EXIT_PATH, "request %llu: EOF after %zu of %zu echoed bytes", (unsigned long long) seq, off, size);
        off += (size_t) m;
    }
    uint64_t t1 = now_ns();
    if (memcmp(req, resp, size) != 0) {
        size_t i = 0;
        while (req[i] == resp[i]) i++;
        fail(EXIT_WRONG, "request %llu: WRONG ECHO: first difference at byte %zu of %zu", (unsigned long long) seq, i, size);
    }
    return t1 - t0;
}

static int cell(int argc, char **argv) {
    const char *target_rr = NULL, *target_bulk = NULL, *rr = NULL, *bulk_path = NULL, *samples_file = NULL;
    long size = 0, streams = 0, rts = 0, warmup_rts = 1000;
    double duration = 0, ramp = 0.5;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) fail(2, "%s needs a value", k);
        i++;
        if (!strcmp(k, "--target-rr")) target_rr = v;
        else if (!strcmp(k, "--target-bulk")) target_bulk = v;
        else if (!strcmp(k, "--rr")) rr = v;
        else if (!strcmp(k, "--bulk")) bulk_path = v;
        else if (!strcmp(k, "--samples")) samples_file = v;
        else if (!strcmp(k, "--size")) size = atol(v);
        else if (!strcmp(k, "--streams")) streams = atol(v);
        else if (!strcmp(k, "--rts")) rts = atol(v);
        else if (!strcmp(k, "--warmup-rts")) warmup_rts = atol(v);
        else if (!strcmp(k, "--duration")) duration = atof(v);
        else if (!strcmp(k, "--ramp")) ramp = atof(v);
        else if (!strcmp(k, "--timeout")) timeout_s = atof(v);
        else fail(2, "unknown option %s", k);
    }
    if (!target_rr || !target_bulk || !rr || !bulk_path) fail(2, "--target-rr, --target-bulk, --rr and --bulk are required");
    if (size < 1 || size > (1 << 24)) fail(2, "--size must be 1..16777216");
    if (streams < 0 || streams > MAX_STREAMS) fail(2, "--streams must be 0..%d", MAX_STREAMS);
    if ((rts > 0) == (duration > 0)) fail(2, "give exactly one of --rts and --duration");
    signal(SIGPIPE, SIG_IGN);

    /* far end */
    static struct acceptor echo_acc, sink_acc;
    echo_acc = (struct acceptor) {unix_listen(target_rr), echo_conn, &echo_accepted};
    sink_acc = (struct acceptor) {unix_listen(target_bulk), sink_conn, NULL};
    pthread_t t;
    pthread_create(&t, NULL, accept_loop, &echo_acc);
    pthread_detach(t);
    pthread_create(&t, NULL, accept_loop, &sink_acc);
    pthread_detach(t);

    pattern = malloc(PATTERN_LEN + (size_t) size);
    char *req = malloc((size_t) size), *resp = malloc((size_t) size);
    if (!pattern || !req || !resp) fail(2, "out of memory");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < PATTERN_LEN + (size_t) size; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        pattern[i] = (char) (x >> 24);
    }

    /* near end: the request/response stream first; its first round trip proves the path */
    int fd = unix_connect(rr);
    set_timeout(fd, SO_RCVTIMEO, timeout_s);
    uint64_t seq = 0;
    round_trip(fd, seq++, (size_t) size, req, resp);

    static struct bulk bulks[MAX_STREAMS];
    for (long i = 0; i < streams; i++) {
        bulks[i].path = bulk_path;
        pthread_create(&bulks[i].thread, NULL, bulk_writer, &bulks[i]);
    }
    /* every bulk stream must reach its sink before anything is timed */
    uint64_t deadline = now_ns() + (uint64_t) (timeout_s * 1e9);
    for (;;) {
        pthread_mutex_lock(&sink_lock);
        int n = sink_count;
        pthread_mutex_unlock(&sink_lock);
        if (n >= streams) break;
        if (now_ns() > deadline) fail(EXIT_PATH, "only %d of %ld bulk streams reached the sink in %.0f s", n, streams, timeout_s);
        usleep(1000);
    }

    struct samples s = {0};
    uint64_t per0[MAX_STREAMS], per1[MAX_STREAMS], bytes0 = 0, bytes1 = 0, w0 = 0, w1 = 0;
    if (rts > 0) {
        for (long i = 0; i < warmup_rts; i++) round_trip(fd, seq++, (size_t) size, req, resp);
        w0 = now_ns();
        bytes0 = sink_total(per0);
        for (long i = 0; i < rts; i++) push(&s, round_trip(fd, seq++, (size_t) size, req, resp));
        w1 = now_ns();
        bytes1 = sink_total(per1);
    } else {
        uint64_t start = now_ns(), t0 = start + (uint64_t) (ramp * 1e9), t1 = t0 + (uint64_t) (duration * 1e9);
        while (now_ns() < t0) round_trip(fd, seq++, (size_t) size, req, resp);
        w0 = now_ns();
        bytes0 = sink_total(per0);
        do push(&s, round_trip(fd, seq++, (size_t) size, req, resp)); while (now_ns() < t1);
        w1 = now_ns();
        bytes1 = sink_total(per1);
    }

    /* stop the bulk streams and wait until everything they wrote has arrived */
    __atomic_store_n(&bulk_stop, 1, __ATOMIC_RELAXED);
    uint64_t written = 0;
    for (long i = 0; i < streams; i++) {
        pthread_join(bulks[i].thread, NULL);
        if (bulks[i].error) fail(EXIT_PATH, "bulk stream %ld: write: %s", i, strerror(bulks[i].error));
        written += bulks[i].written;
    }
    uint64_t tstop = now_ns();
    deadline = tstop + (uint64_t) (timeout_s * 1e9);
    for (;;) {
        pthread_mutex_lock(&sink_lock);
        int e = sink_eofs;
        pthread_mutex_unlock(&sink_lock);
        if (e >= streams) break;
        if (now_ns() > deadline)
            fail(EXIT_PATH, "only %d of %ld bulk streams ended at the sink %.0f s after their clients half-closed "
                 "(%llu of %llu bytes arrived)", e, streams, timeout_s,
                 (unsigned long long) sink_total(NULL), (unsigned long long) written);
        usleep(1000);
    }
    double drain_s = (double) (now_ns() - tstop) / 1e9;
    uint64_t received = sink_total(NULL);
    if (received != written)
        fail(EXIT_WRONG, "bulk: the sinks received %llu bytes, the clients wrote %llu", (unsigned long long) received,
             (unsigned long long) written);
    shutdown(fd, SHUT_WR);
    char c;
    ssize_t tail = read(fd, &c, 1);   /* the echo server's EOF: the rr stream ended cleanly */
    if (tail != 0) fail(EXIT_PATH, "rr stream: expected EOF after half-close, got %zd", tail);
    close(fd);

    if (samples_file) {
        FILE *f = fopen(samples_file, "w");
        if (!f) fail(2, "%s: %s", samples_file, strerror(errno));
        for (size_t i = 0; i < s.n; i++) fprintf(f, "%llu\n", (unsigned long long) s.v[i]);
        if (fclose(f) != 0) fail(2, "%s: write failed", samples_file);
    }
    double window = (double) (w1 - w0) / 1e9;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (long i = 0; i < streams; i++) {
        uint64_t d = per1[i] - per0[i];
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    if (streams == 0) lo = 0;
    print_stats(&s);
    printf(" window_s=%.3f bulk_bytes=%llu bulk_mbps=%.1f stream_min_mbps=%.1f stream_max_mbps=%.1f drain_s=%.3f\n",
           window, (unsigned long long) (bytes1 - bytes0), (double) (bytes1 - bytes0) / 1e6 / window,
           (double) lo / 1e6 / window, (double) hi / 1e6 / window, drain_s);
    return 0;
}

static int stats(int argc, char **argv) {
    struct samples s = {0};
    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f) fail(2, "%s: %s", argv[i], strerror(errno));
        unsigned long long v;
        while (fscanf(f, "%llu", &v) == 1) push(&s, v);
        fclose(f);
    }
    print_stats(&s);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "cell")) return cell(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "stats")) return stats(argc, argv);
    fprintf(stderr, "usage: latload cell ... | latload stats FILE...   (see the comment at the top of latload.c)\n");
    return 2;
}
