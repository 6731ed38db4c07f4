/* loadgen.c — closed-loop HTTP load for the soak test (bench/soak.sh), on libcurl multi.
 *
 *   loadgen URL TOKEN SECONDS CONNECTIONS STREAM_PERCENT
 *
 * Keeps CONNECTIONS keep-alive requests in flight for SECONDS: POST chat completions, every
 * request streamed with probability STREAM_PERCENT/100. At the deadline it stops starting new
 * requests and waits for the ones in flight, so every request sent has an answer (or a transport
 * error) and the gateway's log rows can be compared with `sent` exactly. A stream counts as
 * complete when its body ends with "data: [DONE]". Prints one JSON object: sent, status counts,
 * transport errors, incomplete streams, req/s and latency percentiles (µs). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAIL 32 /* last bytes of a body kept to see [DONE] */

typedef struct {
    CURL *easy;
    int stream;
    long long start;
    char tail[TAIL];
    size_t tail_len;
} Slot;

typedef struct {
    long long *v;
    size_t n, cap;
} Vec;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void push(Vec *v, long long x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 65536;
        v->v = realloc(v->v, v->cap * sizeof *v->v);
        if (v->v == NULL) {
            perror("loadgen: realloc");
            exit(1);
        }
    }
    v->v[v->n++] = x;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long pct(Vec *v, double p)
{
    if (v->n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(v->n - 1) + 0.5);
    return v->v[i];
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    Slot *s = ud;
    size_t len = size * n;
    if (len >= TAIL) {
        memcpy(s->tail, p + len - TAIL, TAIL);
        s->tail_len = TAIL;
    } else {
        size_t keep = s->tail_len + len > TAIL ? TAIL - len : s->tail_len;
        memmove(s->tail, s->tail + s->tail_len - keep, keep);
        memcpy(s->tail + keep, p, len);
        s->tail_len = keep + len;
    }
    return len;
}

static const char BODY_PLAIN[] =
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
    "\"content\":\"Hello, how are you today?\"}]}";
static const char BODY_STREAM[] =
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\","
    "\"content\":\"Hello, how are you today?\"}]}";

static void start(CURLM *m, Slot *s, int stream_pct)
{
    s->stream = (rand() % 100) < stream_pct;
    s->tail_len = 0;
    s->start = now_us();
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->stream ? BODY_STREAM : BODY_PLAIN);
    curl_multi_add_handle(m, s->easy);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: loadgen URL TOKEN SECONDS CONNECTIONS STREAM_PERCENT\n");
        return 2;
    }
    const char *url = argv[1];
    int seconds = atoi(argv[3]), conns = atoi(argv[4]), stream_pct = atoi(argv[5]);
    if (seconds <= 0 || conns <= 0 || stream_pct < 0 || stream_pct > 100) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");

    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conns);
    Slot *slots = calloc((size_t)conns, sizeof *slots);
    for (int i = 0; i < conns; i++) {
        CURL *e = curl_easy_init();
        slots[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &slots[i]);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    }
    srand((unsigned)now_us());

    long long t0 = now_us(), deadline = t0 + (long long)seconds * 1000000LL;
    long long sent = 0, s2xx = 0, s4xx = 0, s5xx = 0, sother = 0, xfer_err = 0, streams = 0,
              streams_incomplete = 0;
    Vec lat = { 0 };
    int running = 0;
    for (int i = 0; i < conns; i++) {
        start(m, &slots[i], stream_pct);
        sent++;
    }
    int active = conns;
    while (active > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        long long now = now_us();
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            Slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK)
                xfer_err++;
            else if (code >= 200 && code < 300)
                s2xx++;
            else if (code >= 400 && code < 500)
                s4xx++;
            else if (code >= 500)
                s5xx++;
            else
                sother++;
            if (s->stream) {
                streams++;
                static const char done[] = "data: [DONE]";
                int ok = 0;
                for (size_t i = 0; i + sizeof done - 1 <= s->tail_len; i++)
                    if (memcmp(s->tail + i, done, sizeof done - 1) == 0)
                        ok = 1;
                if (!ok)
                    streams_incomplete++;
            }
            push(&lat, now - s->start);
            curl_multi_remove_handle(m, msg->easy_handle);
            if (now < deadline) {
                start(m, s, stream_pct);
                sent++;
            } else {
                active--;
            }
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double wall = (double)(now_us() - t0) / 1e6;
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_ll);
    printf("{\"seconds\":%.1f,\"connections\":%d,\"stream_percent\":%d,\"sent\":%lld,"
           "\"status_2xx\":%lld,\"status_4xx\":%lld,\"status_5xx\":%lld,\"status_other\":%lld,"
           "\"transport_errors\":%lld,\"streams\":%lld,\"streams_incomplete\":%lld,\"rps\":%.1f,"
           "\"p50_us\":%lld,\"p99_us\":%lld,\"max_us\":%lld}\n",
           wall, conns, stream_pct, sent, s2xx, s4xx, s5xx, sother, xfer_err, streams,
           streams_incomplete, (double)sent / wall, pct(&lat, 50), pct(&lat, 99),
           lat.n ? lat.v[lat.n - 1] : 0);
    for (int i = 0; i < conns; i++)
        curl_easy_cleanup(slots[i].easy);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(slots);
    free(lat.v);
    curl_global_cleanup();
    return 0;
}
