/* sse.c — incremental text/event-stream parser (WHATWG "Server-sent events", parsing rules).
 *
 * Sits on the streaming hot path: complete lines are parsed straight out of the caller's buffer
 * and only a line cut by a feed boundary is copied; the data/event buffers are GStrings reused
 * across events, so steady state does no allocation. */
#include "config.h"
#include "sse.h"

#include <string.h>

static const unsigned char sse_bom[3] = { 0xEF, 0xBB, 0xBF };

struct GwSseParser {
    size_t max_event_bytes;
    GwSseEventFn fn;
    void *user;
    GString *line;       /* an unterminated line carried over from the previous feed */
    GString *data;       /* data lines joined by '\n' (no trailing '\n') */
    GString *event;      /* last "event" field value of the current event */
    size_t event_bytes;  /* raw bytes of the current event's completed non-comment lines */
    gboolean have_data;  /* a data line was seen ("data:" alone still counts) */
    gboolean skip_line;  /* in a comment line: discard bytes up to its end, buffer nothing */
    gboolean after_cr;   /* previous line ended in CR: a leading LF completes that CRLF */
    gboolean started;    /* past the (optional) BOM at stream start */
    guint bom_seen;      /* BOM bytes matched so far while !started */
    gboolean failed;
};

GwSseParser *gw_sse_parser_new(size_t max_event_bytes, GwSseEventFn fn, void *user)
{
    GwSseParser *p = g_new0(GwSseParser, 1);
    p->max_event_bytes = max_event_bytes;
    p->fn = fn;
    p->user = user;
    p->line = g_string_sized_new(256);
    p->data = g_string_sized_new(1024);
    p->event = g_string_sized_new(32);
    return p;
}

void gw_sse_parser_free(GwSseParser *p)
{
    if (p == NULL)
        return;
    g_string_free(p->line, TRUE);
    g_string_free(p->data, TRUE);
    g_string_free(p->event, TRUE);
    g_free(p);
}

/* TRUE when `add` more line bytes would push the current event past the cap. The cap counts
 * raw line bytes (complete + partial, comments excluded) so the verdict does not depend on
 * where the feeds were cut; data and event buffers are always smaller than that. */
static gboolean sse_over_cap(const GwSseParser *p, size_t add)
{
    size_t held = p->event_bytes + p->line->len;
    return add > p->max_event_bytes || held > p->max_event_bytes - add;
}

static void sse_reset_event(GwSseParser *p)
{
    g_string_truncate(p->data, 0);
    g_string_truncate(p->event, 0);
    p->have_data = FALSE;
    p->event_bytes = 0;
}

static GwStatus sse_fail(GwSseParser *p)
{
    p->failed = TRUE;
    sse_reset_event(p);
    g_string_truncate(p->line, 0);
    return GW_ETOOBIG;
}

static void sse_dispatch(GwSseParser *p)
{
    /* Per spec an event without any data line is dropped (its event type too). */
    if (p->have_data && p->fn != NULL)
        p->fn(p->event->str, p->data->str, p->data->len, p->user);
    sse_reset_event(p);
}

/* One complete line without its terminator (already counted against the cap); s is in the
 * caller's buffer or in p->line. */
static void sse_line(GwSseParser *p, const char *s, size_t n)
{
    if (n == 0) {
        sse_dispatch(p);
        return;
    }
    if (s[0] == ':')
        return;   /* comment / keepalive (normally skipped before getting here) */

    const char *colon = memchr(s, ':', n);
    size_t name_len = colon != NULL ? (size_t)(colon - s) : n;
    const char *value = "";
    size_t value_len = 0;
    if (colon != NULL) {
        value = colon + 1;
        value_len = n - name_len - 1;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    }

    if (name_len == 4 && memcmp(s, "data", 4) == 0) {
        if (p->have_data)
            g_string_append_c(p->data, '\n');
        g_string_append_len(p->data, value, (gssize)value_len);
        p->have_data = TRUE;
    } else if (name_len == 5 && memcmp(s, "event", 5) == 0) {
        g_string_truncate(p->event, 0);
        g_string_append_len(p->event, value, (gssize)value_len);
    }
    /* "id", "retry" and unknown fields are ignored: the gateway needs neither reconnection
     * state nor last-event-id. */
}

/* Parses bytes that are past the BOM check. */
static GwStatus sse_feed_body(GwSseParser *p, const char *buf, size_t len)
{
    const char *s = buf;
    const char *end = buf + len;

    while (s < end) {
        if (p->after_cr) {
            p->after_cr = FALSE;
            if (*s == '\n') {   /* second half of a CRLF, possibly from the previous feed */
                s++;
                continue;
            }
        }

        /* Find the next CR or LF with memchr (vectorised) rather than a byte loop. */
        size_t avail = (size_t)(end - s);
        const char *lf = memchr(s, '\n', avail);
        const char *cr = memchr(s, '\r', lf != NULL ? (size_t)(lf - s) : avail);
        const char *eol = cr != NULL ? cr : lf;

        if (p->line->len == 0 && !p->skip_line && s[0] == ':') {
            p->skip_line = TRUE;   /* comment: never buffered, however long */
        }

        if (eol == NULL) {
            /* Unterminated: keep it for the next feed (unless it is a comment). */
            if (!p->skip_line) {
                if (sse_over_cap(p, avail))
                    return sse_fail(p);
                g_string_append_len(p->line, s, (gssize)avail);
            }
            return GW_OK;
        }

        size_t n = (size_t)(eol - s);
        if (p->skip_line) {
            p->skip_line = FALSE;
        } else {
            if (sse_over_cap(p, n))
                return sse_fail(p);
            size_t total = p->line->len + n;
            if (p->line->len == 0) {
                sse_line(p, s, n);   /* whole line in the caller's buffer: no copy */
            } else {
                g_string_append_len(p->line, s, (gssize)n);
                sse_line(p, p->line->str, p->line->len);
                g_string_truncate(p->line, 0);
            }
            /* A dispatching empty line reset the count; other lines add to it. */
            if (total > 0)
                p->event_bytes += total;
        }

        s = eol + 1;
        if (*eol == '\r')
            p->after_cr = TRUE;
    }
    return GW_OK;
}

GwStatus gw_sse_parser_feed(GwSseParser *p, const char *buf, size_t len)
{
    g_return_val_if_fail(p != NULL, GW_EINVAL);
    if (p->failed)
        return GW_ETOOBIG;
    if (len == 0)
        return GW_OK;
    g_return_val_if_fail(buf != NULL, GW_EINVAL);

    /* A UTF-8 BOM may open the stream and may itself be split across feeds. */
    while (!p->started && len > 0) {
        if ((unsigned char)buf[0] == sse_bom[p->bom_seen]) {
            buf++;
            len--;
            if (++p->bom_seen == sizeof sse_bom)
                p->started = TRUE;
        } else {
            p->started = TRUE;
            if (p->bom_seen > 0) {
                /* Not a BOM after all: the held prefix bytes are ordinary input. */
                GwStatus st = sse_feed_body(p, (const char *)sse_bom, p->bom_seen);
                if (st != GW_OK)
                    return st;
            }
        }
    }
    if (len == 0)
        return GW_OK;
    return sse_feed_body(p, buf, len);
}

gboolean gw_sse_parser_has_partial(const GwSseParser *p)
{
    g_return_val_if_fail(p != NULL, FALSE);
    if (p->failed)
        return FALSE;
    return p->line->len > 0 || p->have_data || p->event->len > 0 ||
           (!p->started && p->bom_seen > 0);
}
