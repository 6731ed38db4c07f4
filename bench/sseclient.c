/* sseclient.c — streaming client for the benchmark (libcurl multi).
 *
 *   sseclient URL TOKEN TOTAL PARALLEL
 *
 * Sends TOTAL streaming chat-completion requests, PARALLEL at a time, and records when each
 * piece of each stream arrives (CLOCK_MONOTONIC). bench/upstream embeds its send time
 * ("t=<ns>", the same clock: same machine) in every chunk, so per chunk arrival − send is the
 * relay delay through whatever is between; for the first chunk it is the added time to first
 * byte. A request counts as complete when it got HTTP 200 and the stream ended with [DONE].
 * Prints one JSON object. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *buf;
    size_t len, cap;
    size_t *ends;       /* buffer length after each write callback */
    long long *at;      /* its arrival time */
    size_t n, ncap;
    long long start;
    struct curl_slist *hdrs;
} Xfer;

typedef struct {
    long long *v;
    size_t n, cap;
} Vec;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void push(Vec *v, long long x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->v = realloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = x;
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static double pct(Vec *v, double p)
{
    if (v->n == 0)
        return -1;
    size_t i = (size_t)(p * (double)(v->n - 1) + 0.5);
    return (double)v->v[i] / 1000.0; /* µs */
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    Xfer *x = ud;
    long long t = now_ns();
    size_t len = size * n;
    if (x->len + len + 1 > x->cap) {
        x->cap = (x->len + len + 1) * 2;
        x->buf = realloc(x->buf, x->cap);
    }
    memcpy(x->buf + x->len, p, len);
    x->len += len;
    x->buf[x->len] = '\0';
    if (x->n == x->ncap) {
        x->ncap = x->ncap ? x->ncap * 2 : 64;
        x->ends = realloc(x->ends, x->ncap * sizeof *x->ends);
        x->at = realloc(x->at, x->ncap * sizeof *x->at);
    }
    x->ends[x->n] = x->len;
    x->at[x->n++] = t;
    return len;
}

static const char *url, *token;
static const char BODY[] = "{\"model\":\"gpt-4o-mini\",\"stream\":true,"
                           "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

static CURL *start(CURLM *m)
{
    CURL *h = curl_easy_init();
    Xfer *x = calloc(1, sizeof *x);
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    x->hdrs = curl_slist_append(NULL, auth);
    x->hdrs = curl_slist_append(x->hdrs, "Content-Type: application/json");
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, BODY);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    x->start = now_ns();
    curl_multi_add_handle(m, h);
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: sseclient URL TOKEN TOTAL PARALLEL\n");
        return 2;
    }
    url = argv[1];
    token = argv[2];
    long total = atol(argv[3]), parallel = atol(argv[4]);
    curl_global_init(CURL_GLOBAL_ALL);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    Vec ttfb = {0}, chunk = {0}, ttfb_req = {0};
    long started = 0, done = 0, ok = 0, bad_status = 0, truncated = 0, failed = 0;
    long long t0 = now_ns();
    while (started < total && started < parallel) {
        start(m);
        started++;
    }
    while (done < total) {
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(m, &q)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            Xfer *x;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK) {
                failed++;
                if (failed <= 3)
                    fprintf(stderr, "sseclient: %s\n", curl_easy_strerror(msg->data.result));
            } else if (status != 200) {
                bad_status++;
                if (bad_status <= 3)
                    fprintf(stderr, "sseclient: HTTP %ld: %.300s\n", status, x->buf ? x->buf : "");
            } else if (x->buf == NULL || strstr(x->buf, "[DONE]") == NULL) {
                truncated++;
            } else {
                ok++;
                /* each "t=<ns>": arrival of the piece that completed it − its send time */
                int first = 1;
                for (char *s = strstr(x->buf, "t="); s != NULL; s = strstr(s + 2, "t=")) {
                    char *e;
                    long long sent = strtoll(s + 2, &e, 10);
                    if (e == s + 2)
                        continue;
                    size_t end = (size_t)(e - x->buf);
                    for (size_t i = 0; i < x->n; i++) {
                        if (x->ends[i] >= end) {
                            long long d = x->at[i] - sent;
                            if (first) {
                                push(&ttfb, d);
                                push(&ttfb_req, x->at[0] - x->start);
                            }
                            push(&chunk, d);
                            first = 0;
                            break;
                        }
                    }
                }
            }
            curl_multi_remove_handle(m, h);
            curl_easy_cleanup(h);
            curl_slist_free_all(x->hdrs);
            free(x->buf);
            free(x->ends);
            free(x->at);
            free(x);
            done++;
            if (started < total) {
                start(m);
                started++;
            }
        }
        if (done < total)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double wall = (double)(now_ns() - t0) / 1e9;
    qsort(ttfb.v, ttfb.n, sizeof *ttfb.v, cmp);
    qsort(chunk.v, chunk.n, sizeof *chunk.v, cmp);
    qsort(ttfb_req.v, ttfb_req.n, sizeof *ttfb_req.v, cmp);
    printf("{\"requests\":%ld,\"parallel\":%ld,\"completed\":%ld,\"failed\":%ld,\"bad_status\":%ld,"
           "\"truncated\":%ld,\"wall_s\":%.3f,"
           "\"first_chunk_delay_p50_us\":%.1f,\"first_chunk_delay_p99_us\":%.1f,"
           "\"chunk_delay_p50_us\":%.1f,\"chunk_delay_p99_us\":%.1f,\"chunks\":%zu,"
           "\"ttfb_from_request_p50_us\":%.1f,\"ttfb_from_request_p99_us\":%.1f}\n",
           total, parallel, ok, failed, bad_status, truncated, wall, pct(&ttfb, 0.5),
           pct(&ttfb, 0.99), pct(&chunk, 0.5), pct(&chunk, 0.99), chunk.n, pct(&ttfb_req, 0.5),
           pct(&ttfb_req, 0.99));
    curl_multi_cleanup(m);
    return ok == total ? 0 : 1;
}
