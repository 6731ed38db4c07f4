/* upstream.c — a fast canned OpenAI-compatible upstream for the benchmark (bench/run.sh).
 *
 * Thread-per-connection HTTP/1.1 server with keep-alive. Every POST is answered with a fixed small
 * chat.completion JSON (with usage); a request body containing "stream":true gets a
 * Server-Sent-Events stream instead (chunked transfer encoding): `--chunks N` content chunks,
 * each carrying its send time as "t=<CLOCK_MONOTONIC ns>" in its delta content, then a usage
 * chunk and `data: [DONE]`. Delays: `--chunk-delay-us N` between chunks, or `--total-ms N` to
 * spread the stream over N ms (overrides --chunk-delay-us); `--delay-us N` before any answer.
 *
 *   upstream --port 18001 [--chunks 20] [--chunk-delay-us 1000] [--total-ms 0] [--delay-us 0]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int opt_chunks = 20;
static long opt_chunk_delay_us = 1000;
static long opt_total_ms = 0;
static long opt_delay_us = 0;

static const char JSON_BODY[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Hello! How can I help you today?\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21}}";

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us)
{
    if (us <= 0)
        return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One chunk of chunked transfer encoding. */
static int write_chunk(int fd, const char *data, size_t n)
{
    char buf[4096];
    int h = snprintf(buf, sizeof buf, "%zx\r\n", n);
    if (n + (size_t)h + 2 > sizeof buf)
        return -1;
    memcpy(buf + h, data, n);
    memcpy(buf + h + n, "\r\n", 2);
    return write_all(fd, buf, (size_t)h + n + 2);
}

static int send_stream(int fd)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (write_all(fd, head, sizeof head - 1) < 0)
        return -1;
    long delay = opt_total_ms > 0 ? opt_total_ms * 1000L / (opt_chunks > 0 ? opt_chunks : 1)
                                  : opt_chunk_delay_us;
    char ev[1024];
    for (int i = 0; i < opt_chunks; i++) {
        if (i > 0 || opt_total_ms > 0)
            sleep_us(delay);
        int n = snprintf(ev, sizeof ev,
                         "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
                         "\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                         "\"delta\":{\"content\":\"t=%lld \"},\"finish_reason\":null}]}\n\n",
                         now_ns());
        if (write_chunk(fd, ev, (size_t)n) < 0)
            return -1;
    }
    int n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                     "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
                     "\"completion_tokens\":%d,\"total_tokens\":%d}}\n\ndata: [DONE]\n\n",
                     opt_chunks, 12 + opt_chunks);
    if (write_chunk(fd, ev, (size_t)n) < 0)
        return -1;
    return write_all(fd, "0\r\n\r\n", 5);
}

static int send_json(int fd)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof JSON_BODY - 1, JSON_BODY);
    return write_all(fd, buf, (size_t)n);
}

/* Finds a header's value (case-insensitive name) in the header block; NULL when absent. */
static const char *header_value(const char *hdrs, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(hdrs, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            line += nl + 1;
            while (*line == ' ' || *line == '\t')
                line++;
            return line;
        }
    }
    return NULL;
}

static void *conn_main(void *arg)
{
    int fd = (int)(long)arg;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        goto out;
    for (;;) {
        char *end;
        buf[len] = '\0';
        while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
            if (len == cap) {
                char *nb = realloc(buf, cap * 2 + 1);
                if (nb == NULL)
                    goto out;
                buf = nb;
                cap *= 2;
            }
            ssize_t r = recv(fd, buf + len, cap - len, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto out;
            len += (size_t)r;
            buf[len] = '\0';
        }
        size_t hlen = (size_t)(end - buf) + 4;
        *end = '\0';
        const char *cl = header_value(buf, "content-length");
        const char *expect = header_value(buf, "expect");
        size_t blen = cl != NULL ? strtoul(cl, NULL, 10) : 0;
        if (expect != NULL && strncasecmp(expect, "100-continue", 12) == 0 && len - hlen < blen) {
            if (write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
                goto out;
        }
        while (len < hlen + blen) {
            if (hlen + blen > cap) {
                char *nb = realloc(buf, hlen + blen + 1);
                if (nb == NULL)
                    goto out;
                buf = nb;
                cap = hlen + blen;
            }
            ssize_t r = recv(fd, buf + len, cap - len, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto out;
            len += (size_t)r;
        }
        char saved = buf[hlen + blen];
        buf[hlen + blen] = '\0';
        int stream = strstr(buf + hlen, "\"stream\":true") != NULL ||
                     strstr(buf + hlen, "\"stream\": true") != NULL;
        buf[hlen + blen] = saved;
        sleep_us(opt_delay_us);
        if ((stream ? send_stream(fd) : send_json(fd)) < 0)
            goto out;
        /* keep pipelined bytes, if any */
        memmove(buf, buf + hlen + blen, len - hlen - blen);
        len -= hlen + blen;
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 18001;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--chunks") == 0)
            opt_chunks = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--chunk-delay-us") == 0)
            opt_chunk_delay_us = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--total-ms") == 0)
            opt_total_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--delay-us") == 0)
            opt_delay_us = atol(argv[i + 1]);
        else {
            fprintf(stderr, "upstream: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
        perror("upstream: bind/listen");
        return 1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    fprintf(stderr, "upstream: listening on 127.0.0.1:%d\n", port);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            perror("upstream: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, &attr, conn_main, (void *)(long)fd) != 0)
            close(fd);
    }
}
