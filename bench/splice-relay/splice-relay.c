/*
 * splice-relay: the cheapest relay Linux allows, to measure the ceiling for any relay (socat,
 * migtunnel) on a machine: bytes move socket -> pipe -> socket with splice(2), never copied to
 * user space, no framing, no flow control, one connection per connection.
 *
 *   splice-relay unix-listen:PATH tcp:HOST:PORT     (source side)
 *   splice-relay tcp-listen:PORT  unix:PATH         (destination side)
 *
 * Each accepted connection is joined to a new outgoing one by two threads, one per direction;
 * EOF on one side becomes shutdown(SHUT_WR) on the other. Benchmark tool only (bench/).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static const char *target;

static void die(const char *what) { perror(what); exit(1); }

static int unix_socket(const char *path, int listen_it) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (listen_it) {
        unlink(path);
        if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 64) < 0) die("bind/listen unix");
    } else if (connect(fd, (struct sockaddr *) &a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_socket(const char *host, int port, int listen_it) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) die("socket");
    inet_pton(AF_INET, host, &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_it) {
        if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 64) < 0) die("bind/listen tcp");
    } else {
        if (connect(fd, (struct sockaddr *) &a, sizeof a) < 0) { close(fd); return -1; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static int dial(void) {
    if (strncmp(target, "unix:", 5) == 0) return unix_socket(target + 5, 0);
    char host[64];
    int port;
    if (sscanf(target, "tcp:%63[^:]:%d", host, &port) != 2) { fprintf(stderr, "bad target %s\n", target); exit(2); }
    return tcp_socket(host, port, 0);
}

struct pump { int in, out; };

static void *pump(void *arg) {
    struct pump *p = arg;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) die("pipe");
    fcntl(pipefd[1], F_SETPIPE_SZ, CHUNK);
    for (;;) {
        ssize_t n = splice(p->in, NULL, pipefd[1], NULL, CHUNK, SPLICE_F_MOVE);
        if (n <= 0) break;
        while (n > 0) {
            ssize_t m = splice(pipefd[0], NULL, p->out, NULL, n, SPLICE_F_MOVE);
            if (m <= 0) goto done;
            n -= m;
        }
    }
done:
    shutdown(p->out, SHUT_WR);
    close(pipefd[0]);
    close(pipefd[1]);
    return NULL;
}

static void *serve(void *arg) {
    int client = (int) (long) arg, server = dial();
    if (server < 0) { close(client); return NULL; }
    struct pump up = {client, server}, down = {server, client};
    pthread_t t;
    pthread_create(&t, NULL, pump, &up);
    pump(&down);
    pthread_join(t, NULL);
    close(client);
    close(server);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: splice-relay unix-listen:PATH|tcp-listen:PORT unix:PATH|tcp:HOST:PORT\n"); return 2; }
    target = argv[2];
    /* A peer that closes mid-transfer must end that connection's pump (EPIPE), not the process. */
    signal(SIGPIPE, SIG_IGN);
    int lfd = strncmp(argv[1], "unix-listen:", 12) == 0 ? unix_socket(argv[1] + 12, 1)
            : tcp_socket("127.0.0.1", atoi(argv[1] + strlen("tcp-listen:")), 1);
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) { if (errno == EINTR) continue; die("accept"); }
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *) (long) c);
        pthread_detach(t);
    }
}
