/* fuzz_sse.c — upstream text/event-stream bytes through the incremental SSE parser. The input is
 * fed once whole and once cut at up to three positions derived from its first byte; both runs
 * must report the same events (the parser promises any split gives the same result). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sse.h"

typedef struct {
    GString *log;   /* every event as "event\0data\0", to compare the two runs */
    guint count;
} Events;

static void on_event(const char *event, const char *data, size_t data_len, void *user)
{
    Events *ev = user;
    if (event == NULL || data == NULL || data[data_len] != '\0')
        abort();
    g_string_append_len(ev->log, event, (gssize)strlen(event) + 1);
    g_string_append_len(ev->log, data, (gssize)data_len + 1);
    ev->count++;
}

/* Feeds data cut at the given positions (ascending, ≤ size); returns the last status. */
static GwStatus run(const uint8_t *data, size_t size, const size_t *cuts, int ncuts,
                    size_t cap, Events *ev, gboolean *partial)
{
    GwSseParser *p = gw_sse_parser_new(cap, on_event, ev);
    GwStatus st = GW_OK;
    size_t at = 0;
    for (int i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : size;
        if (end < at)
            end = at;
        /* An exact-size copy per piece so ASan sees reads past the end of each feed. */
        size_t n = end - at;
        char *piece = calloc(n > 0 ? n : 1, 1);
        if (n > 0)
            memcpy(piece, data + at, n);
        st = gw_sse_parser_feed(p, piece, n);
        free(piece);
        at = end;
    }
    *partial = gw_sse_parser_has_partial(p);
    gw_sse_parser_free(p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned k = data[0];
    /* A small cap sometimes, so the size limit is exercised too. */
    size_t cap = (k & 0x80) ? 64 + (k & 0x3f) : 1 << 16;
    size_t cuts[3];
    cuts[0] = (k % 7) < size ? (k % 7) : size;
    cuts[1] = size / 2 + (k % 3);
    cuts[2] = size > 2 ? size - 1 - (k % 2) : size;
    for (int i = 0; i < 3; i++)
        if (cuts[i] > size)
            cuts[i] = size;
    if (cuts[1] < cuts[0])
        cuts[1] = cuts[0];
    if (cuts[2] < cuts[1])
        cuts[2] = cuts[1];

    Events whole = {g_string_new(NULL), 0}, split = {g_string_new(NULL), 0};
    gboolean pw, ps;
    GwStatus sw = run(data, size, NULL, 0, cap, &whole, &pw);
    GwStatus ss = run(data, size, cuts, 3, cap, &split, &ps);
    if (sw == GW_OK && ss == GW_OK) {
        if (whole.count != split.count || whole.log->len != split.log->len ||
            memcmp(whole.log->str, split.log->str, whole.log->len) != 0 || pw != ps)
            abort();
    }
    g_string_free(whole.log, TRUE);
    g_string_free(split.log, TRUE);
    return 0;
}
