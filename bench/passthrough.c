/* passthrough.c — the architecture's floor for the benchmark: a bare FastCGI program (libfcgi,
 * threaded FCGX_Accept_r, one libcurl easy handle per thread) that forwards the request body to
 * $BENCH_UPSTREAM (+ the request's path after /v1) and relays the answer: status, Content-Type
 * and body, flushing after every piece when the answer is an event stream. Nothing else.
 * Threads: $ALEPHANT_THREADS (default 64). */
#include <curl/curl.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *upstream;

typedef struct {
    FCGX_Request *req;
    long status;
    char ctype[128];
    int head_sent;
    int streaming;
} Relay;

static void send_head(Relay *r)
{
    if (r->head_sent)
        return;
    r->head_sent = 1;
    FCGX_FPrintF(r->req->out, "Status: %ld\r\nContent-Type: %s\r\n\r\n", r->status,
                 r->ctype[0] ? r->ctype : "application/json");
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    Relay *r = ud;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 502;
        r->ctype[0] = '\0';
    } else if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        size_t i = 13;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t e = len;
        while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n'))
            e--;
        size_t m = e - i < sizeof r->ctype - 1 ? e - i : sizeof r->ctype - 1;
        memcpy(r->ctype, p + i, m);
        r->ctype[m] = '\0';
        r->streaming = strncasecmp(r->ctype, "text/event-stream", 17) == 0;
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    Relay *r = ud;
    send_head(r);
    if (FCGX_PutStr(p, (int)(size * n), r->req->out) < 0)
        return 0;
    if (r->streaming)
        FCGX_FFlush(r->req->out);
    return size * n;
}

static void *worker(void *arg)
{
    (void)arg;
    FCGX_Request req;
    FCGX_InitRequest(&req, 0, 0);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    size_t cap = 65536;
    char *body = malloc(cap);
    char url[2048];
    while (FCGX_Accept_r(&req) >= 0) {
        const char *cl = FCGX_GetParam("CONTENT_LENGTH", req.envp);
        const char *uri = FCGX_GetParam("SCRIPT_NAME", req.envp);
        const char *pi = FCGX_GetParam("PATH_INFO", req.envp);
        size_t len = cl ? strtoul(cl, NULL, 10) : 0;
        if (len + 1 > cap) {
            cap = len + 1;
            body = realloc(body, cap);
        }
        size_t got = 0;
        while (got < len) {
            int k = FCGX_GetStr(body + got, (int)(len - got), req.in);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        /* /v1/chat/completions → $BENCH_UPSTREAM/chat/completions */
        const char *path = uri ? uri : "/v1/chat/completions";
        if (strncmp(path, "/v1", 3) == 0)
            path += 3;
        snprintf(url, sizeof url, "%s%s%s", upstream, path, pi ? pi : "");
        Relay r = {.req = &req, .status = 502};
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)got);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK && !r.head_sent) {
            r.status = 502;
            snprintf(r.ctype, sizeof r.ctype, "application/json");
            send_head(&r);
            FCGX_FPrintF(req.out, "{\"error\":\"%s\"}", curl_easy_strerror(rc));
        } else {
            send_head(&r);
        }
        FCGX_Finish_r(&req);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(body);
    return NULL;
}

int main(void)
{
    upstream = getenv("BENCH_UPSTREAM");
    if (upstream == NULL || *upstream == '\0')
        upstream = "http://127.0.0.1:18001/v1";
    const char *t = getenv("ALEPHANT_THREADS");
    int threads = t ? atoi(t) : 64;
    if (threads < 1)
        threads = 1;
    curl_global_init(CURL_GLOBAL_ALL);
    FCGX_Init();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int i = 1; i < threads; i++)
        pthread_create(&tids[i], &attr, worker, NULL);
    worker(NULL);
    return 0;
}
