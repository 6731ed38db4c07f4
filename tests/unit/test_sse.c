/* test_sse.c — the SSE parser against OpenAI/Anthropic shaped streams, every feed split, line
 * ending variants, comments, the size cap and partial-event detection. */
#include "config.h"
#include "sse.h"

#include <string.h>

/* Each dispatched event recorded as "event" '\x1f' data (data may hold NUL bytes). */
typedef struct {
    GPtrArray *events;   /* of GBytes */
} Collector;

static void collect(const char *event, const char *data, size_t data_len, void *user)
{
    Collector *c = user;
    g_assert_nonnull(event);
    g_assert_nonnull(data);
    g_assert_cmpint(data[data_len], ==, '\0');
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)event, (guint)strlen(event));
    g_byte_array_append(b, (const guint8 *)"\x1f", 1);
    g_byte_array_append(b, (const guint8 *)data, (guint)data_len);
    g_ptr_array_add(c->events, g_byte_array_free_to_bytes(b));
}

static void collector_init(Collector *c)
{
    c->events = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void collector_clear(Collector *c)
{
    g_ptr_array_unref(c->events);
}

static void assert_event(const Collector *c, guint i, const char *event, const char *data,
                         size_t data_len)
{
    g_assert_cmpuint(i, <, c->events->len);
    GBytes *got = g_ptr_array_index(c->events, i);
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, (const guint8 *)event, (guint)strlen(event));
    g_byte_array_append(want, (const guint8 *)"\x1f", 1);
    g_byte_array_append(want, (const guint8 *)data, (guint)data_len);
    gsize got_len;
    const guint8 *got_p = g_bytes_get_data(got, &got_len);
    g_assert_cmpmem(got_p, got_len, want->data, want->len);
    g_byte_array_unref(want);
}

#define ASSERT_EVENT(c, i, ev, data) assert_event((c), (i), (ev), (data), strlen(data))
/* Feeds a string literal (sizeof, so embedded NULs and lengths are never miscounted). */
#define FEED(p, lit) gw_sse_parser_feed((p), "" lit, sizeof(lit) - 1)

/* Parses s fed as the given chunk sizes (cycled); 0 chunk = all at once. */
static GwStatus parse_chunked(const char *s, size_t len, size_t chunk, size_t max,
                              Collector *c, gboolean *partial)
{
    GwSseParser *p = gw_sse_parser_new(max, collect, c);
    GwStatus st = GW_OK;
    size_t off = 0;
    while (off < len && st == GW_OK) {
        size_t n = chunk == 0 ? len - off : MIN(chunk, len - off);
        st = gw_sse_parser_feed(p, s + off, n);
        off += n;
    }
    if (partial != NULL)
        *partial = gw_sse_parser_has_partial(p);
    gw_sse_parser_free(p);
    return st;
}

static void assert_same_events(const Collector *a, const Collector *b)
{
    g_assert_cmpuint(a->events->len, ==, b->events->len);
    for (guint i = 0; i < a->events->len; i++)
        g_assert_true(g_bytes_equal(g_ptr_array_index(a->events, i),
                                    g_ptr_array_index(b->events, i)));
}

static void test_openai(void)
{
    static const char s[] =
        "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5}}\n\n"
        "data: [DONE]\n\n";
    Collector c;
    collector_init(&c);
    gboolean partial = TRUE;
    g_assert_cmpint(parse_chunked(s, strlen(s), 0, 4096, &c, &partial), ==, GW_OK);
    g_assert_false(partial);
    g_assert_cmpuint(c.events->len, ==, 4);
    ASSERT_EVENT(&c, 0, "", "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
    ASSERT_EVENT(&c, 2, "", "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5}}");
    ASSERT_EVENT(&c, 3, "", "[DONE]");
    collector_clear(&c);
}

static const char anthropic_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25}}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

static void test_anthropic(void)
{
    Collector c;
    collector_init(&c);
    g_assert_cmpint(parse_chunked(anthropic_stream, strlen(anthropic_stream), 0, 4096, &c, NULL),
                    ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 6);
    ASSERT_EVENT(&c, 0, "message_start",
                 "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25}}}");
    ASSERT_EVENT(&c, 2, "ping", "{\"type\": \"ping\"}");
    ASSERT_EVENT(&c, 4, "message_delta",
                 "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}");
    ASSERT_EVENT(&c, 5, "message_stop", "{\"type\":\"message_stop\"}");
    collector_clear(&c);
}

/* Mixed line endings, comments, a BOM, ignored fields, multi-line data: every way of cutting it
 * must give the same events as one feed. */
static const char mixed_stream[] =
    "\xEF\xBB\xBF"
    ": keepalive\r\n"
    "event: first\r\n"
    "data: a\r\n"
    "data:b\r"
    "data\n"
    "id: 7\n"
    "retry: 1000\n"
    "bogus: x\n"
    "\r\n"
    ":\r"
    "\r"
    "data:  two spaces\r\r"
    "event: third\n"
    "data: {\"x\":\"y\"}\r\n"
    "\r\n"
    "event: no-data\n"
    "\n"
    "data: tail\n"
    "\n";

static void check_mixed_events(const Collector *c)
{
    g_assert_cmpuint(c->events->len, ==, 4);
    ASSERT_EVENT(c, 0, "first", "a\nb\n");
    ASSERT_EVENT(c, 1, "", " two spaces");
    ASSERT_EVENT(c, 2, "third", "{\"x\":\"y\"}");
    ASSERT_EVENT(c, 3, "", "tail");   /* the data-less event's type did not leak */
}

static void test_every_split(void)
{
    const size_t len = strlen(mixed_stream);
    Collector ref;
    collector_init(&ref);
    g_assert_cmpint(parse_chunked(mixed_stream, len, 0, 4096, &ref, NULL), ==, GW_OK);
    check_mixed_events(&ref);

    /* One byte at a time, and every fixed chunk size. */
    for (size_t chunk = 1; chunk <= len; chunk++) {
        Collector c;
        collector_init(&c);
        gboolean partial = TRUE;
        g_assert_cmpint(parse_chunked(mixed_stream, len, chunk, 4096, &c, &partial), ==, GW_OK);
        g_assert_false(partial);
        assert_same_events(&ref, &c);
        collector_clear(&c);
    }

    /* Every pair of cut points (three feeds). */
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            Collector c;
            collector_init(&c);
            GwSseParser *p = gw_sse_parser_new(4096, collect, &c);
            g_assert_cmpint(gw_sse_parser_feed(p, mixed_stream, i), ==, GW_OK);
            g_assert_cmpint(gw_sse_parser_feed(p, mixed_stream + i, j - i), ==, GW_OK);
            g_assert_cmpint(gw_sse_parser_feed(p, mixed_stream + j, len - j), ==, GW_OK);
            g_assert_false(gw_sse_parser_has_partial(p));
            gw_sse_parser_free(p);
            assert_same_events(&ref, &c);
            collector_clear(&c);
        }
    }
    collector_clear(&ref);
}

static void test_one_byte_anthropic(void)
{
    const size_t len = strlen(anthropic_stream);
    Collector ref, c;
    collector_init(&ref);
    collector_init(&c);
    g_assert_cmpint(parse_chunked(anthropic_stream, len, 0, 4096, &ref, NULL), ==, GW_OK);
    g_assert_cmpint(parse_chunked(anthropic_stream, len, 1, 4096, &c, NULL), ==, GW_OK);
    assert_same_events(&ref, &c);
    collector_clear(&ref);
    collector_clear(&c);
}

static void test_crlf_split(void)
{
    Collector c;
    collector_init(&c);
    GwSseParser *p = gw_sse_parser_new(4096, collect, &c);
    /* The LF completing "a\r" arrives alone: it must not count as an empty line. */
    g_assert_cmpint(FEED(p, "data: a\r"), ==, GW_OK);
    g_assert_cmpint(FEED(p, "\n"), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 0);
    g_assert_cmpint(FEED(p, "data: b\r"), ==, GW_OK);
    g_assert_cmpint(FEED(p, "\n\r"), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 1);
    ASSERT_EVENT(&c, 0, "", "a\nb");
    /* The final CR dispatched; an LF after it is the rest of that CRLF, not a new line. */
    g_assert_cmpint(FEED(p, "\n"), ==, GW_OK);
    g_assert_false(gw_sse_parser_has_partial(p));
    /* CR CR is two line ends. */
    g_assert_cmpint(FEED(p, "data: c\r"), ==, GW_OK);
    g_assert_cmpint(FEED(p, "\r"), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 2);
    ASSERT_EVENT(&c, 1, "", "c");
    gw_sse_parser_free(p);
    collector_clear(&c);
}

static void test_comments(void)
{
    Collector c;
    collector_init(&c);
    GwSseParser *p = gw_sse_parser_new(64, collect, &c);
    static const char s[] = ": OPENROUTER PROCESSING\n\n:\n\n: ping\r\n\r\ndata: x\n: mid\n\n";
    g_assert_cmpint(gw_sse_parser_feed(p, s, strlen(s)), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 1);
    ASSERT_EVENT(&c, 0, "", "x");

    /* Comments are discarded, not buffered: a comment far above the cap is harmless, and
     * endless keepalives do not accumulate. */
    g_assert_cmpint(FEED(p, ":"), ==, GW_OK);
    char pad[1000];
    memset(pad, 'k', sizeof pad);
    for (int i = 0; i < 100; i++)
        g_assert_cmpint(gw_sse_parser_feed(p, pad, sizeof pad), ==, GW_OK);
    g_assert_false(gw_sse_parser_has_partial(p));
    g_assert_cmpint(FEED(p, "\n"), ==, GW_OK);
    for (int i = 0; i < 1000; i++)
        g_assert_cmpint(FEED(p, ": keepalive\n\n"), ==, GW_OK);
    g_assert_cmpint(FEED(p, "data: y\n\n"), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 2);
    ASSERT_EVENT(&c, 1, "", "y");
    gw_sse_parser_free(p);
    collector_clear(&c);
}

static void test_fields(void)
{
    Collector c;
    collector_init(&c);
    static const char s[] =
        "data: a\ndata:b\ndata\ndata:  c\ndata: \n\n"   /* multi-line, no-colon, spaces */
        "data:\n\n"                                      /* empty data still dispatches */
        "event:x\nevent: y\ndata: z\n\n"                 /* last event field wins */
        "Data: ignored\nDATA: ignored\n\n"               /* field names are case-sensitive */
        "data: colon: inside\n\n";
    g_assert_cmpint(parse_chunked(s, strlen(s), 0, 4096, &c, NULL), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 4);
    ASSERT_EVENT(&c, 0, "", "a\nb\n\n c\n");
    ASSERT_EVENT(&c, 1, "", "");
    ASSERT_EVENT(&c, 2, "y", "z");
    ASSERT_EVENT(&c, 3, "", "colon: inside");
    collector_clear(&c);

    /* NUL bytes inside data are passed through with an exact length. */
    collector_init(&c);
    static const char nul[] = "data: a\0b\n\n";
    g_assert_cmpint(parse_chunked(nul, sizeof nul - 1, 0, 4096, &c, NULL), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 1);
    assert_event(&c, 0, "", "a\0b", 3);
    collector_clear(&c);
}

static void test_bom(void)
{
    Collector c;
    collector_init(&c);
    static const char s[] = "\xEF\xBB\xBF" "data: x\n\n";
    for (size_t chunk = 1; chunk <= 4; chunk++)
        g_assert_cmpint(parse_chunked(s, strlen(s), chunk, 4096, &c, NULL), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 4);
    for (guint i = 0; i < 4; i++)
        ASSERT_EVENT(&c, i, "", "x");
    collector_clear(&c);

    /* Only at stream start: later it is part of a (then unknown) field name. */
    collector_init(&c);
    static const char s2[] = "data: 1\n\n\xEF\xBB\xBF" "data: 2\n\n";
    g_assert_cmpint(parse_chunked(s2, strlen(s2), 0, 4096, &c, NULL), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 1);
    ASSERT_EVENT(&c, 0, "", "1");
    collector_clear(&c);

    /* A BOM prefix that turns out not to be one is ordinary input (unknown field here). */
    collector_init(&c);
    static const char s3[] = "\xEF\xBB" "data: 3\n\ndata: 4\n\n";
    g_assert_cmpint(parse_chunked(s3, strlen(s3), 1, 4096, &c, NULL), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 1);
    ASSERT_EVENT(&c, 0, "", "4");
    collector_clear(&c);

    /* A stream starting with a plain line still works when the first byte is split off. */
    collector_init(&c);
    g_assert_cmpint(parse_chunked("data: 5\n\n", 9, 1, 4096, &c, NULL), ==, GW_OK);
    ASSERT_EVENT(&c, 0, "", "5");
    collector_clear(&c);
}

static void test_too_big(void)
{
    char big[200];
    memset(big, 'x', sizeof big);

    /* One oversized line in one feed. */
    Collector c;
    collector_init(&c);
    GwSseParser *p = gw_sse_parser_new(64, collect, &c);
    g_assert_cmpint(FEED(p, "data: "), ==, GW_OK);
    g_assert_cmpint(gw_sse_parser_feed(p, big, 100), ==, GW_ETOOBIG);
    /* Stays failed: further input, even a valid event, is ignored. */
    g_assert_cmpint(FEED(p, "\n\ndata: ok\n\n"), ==, GW_ETOOBIG);
    g_assert_cmpuint(c.events->len, ==, 0);
    gw_sse_parser_free(p);

    /* Many small data lines adding up past the cap, fed one byte at a time. */
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 20; i++)
        g_string_append(s, "data: 0123456789\n");
    g_string_append(s, "\n");
    g_assert_cmpint(parse_chunked(s->str, s->len, 1, 64, &c, NULL), ==, GW_ETOOBIG);
    g_assert_cmpint(parse_chunked(s->str, s->len, 0, 64, &c, NULL), ==, GW_ETOOBIG);
    g_assert_cmpuint(c.events->len, ==, 0);
    g_string_free(s, TRUE);

    /* An oversized event type, and an oversized ignored field still being buffered. */
    p = gw_sse_parser_new(64, collect, &c);
    g_assert_cmpint(FEED(p, "event: "), ==, GW_OK);
    g_assert_cmpint(gw_sse_parser_feed(p, big, 100), ==, GW_ETOOBIG);
    gw_sse_parser_free(p);
    p = gw_sse_parser_new(64, collect, &c);
    g_assert_cmpint(FEED(p, "id"), ==, GW_OK);
    g_assert_cmpint(gw_sse_parser_feed(p, big, sizeof big), ==, GW_ETOOBIG);
    gw_sse_parser_free(p);

    /* The cap counts the event's raw line bytes: a 64-byte line ("data: " + 58) is exactly at
     * it, whatever the feed split; and the cap is per event, not per stream. */
    GString *ok = g_string_new(NULL);
    for (int i = 0; i < 10; i++) {
        g_string_append(ok, ": comments do not count toward the cap\n");
        g_string_append(ok, "data: ");
        g_string_append_len(ok, big, 58);
        g_string_append(ok, "\r\n\r\n");
    }
    for (size_t chunk = 0; chunk <= 3; chunk++) {
        Collector c2;
        collector_init(&c2);
        g_assert_cmpint(parse_chunked(ok->str, ok->len, chunk, 64, &c2, NULL), ==, GW_OK);
        g_assert_cmpuint(c2.events->len, ==, 10);
        assert_event(&c2, 9, "", big, 58);
        collector_clear(&c2);
    }
    g_string_append(ok, "data: ");
    g_string_append_len(ok, big, 59);
    g_string_append(ok, "\n\n");
    for (size_t chunk = 0; chunk <= 7; chunk++)
        g_assert_cmpint(parse_chunked(ok->str, ok->len, chunk, 64, &c, NULL), ==, GW_ETOOBIG);
    /* Two lines of 32 + 33 bytes: over by one. */
    static const char two[] = "event: 0123456789abcdefghijklmno\ndata: 0123456789abcdefghijklmnopq\n\n";
    for (size_t chunk = 0; chunk <= 3; chunk++)
        g_assert_cmpint(parse_chunked(two, strlen(two), chunk, 64, &c, NULL), ==, GW_ETOOBIG);
    g_ptr_array_set_size(c.events, 0);
    g_assert_cmpint(parse_chunked(two, strlen(two), 0, 65, &c, NULL), ==, GW_OK);
    g_assert_cmpuint(c.events->len, ==, 1);
    g_string_free(ok, TRUE);
    collector_clear(&c);
}

static void test_partial(void)
{
    Collector c;
    collector_init(&c);
    GwSseParser *p = gw_sse_parser_new(4096, collect, &c);
    g_assert_false(gw_sse_parser_has_partial(p));
    g_assert_cmpint(FEED(p, "data: {\"a\":1}\n\n"), ==, GW_OK);
    g_assert_false(gw_sse_parser_has_partial(p));
    g_assert_cmpint(FEED(p, "data: {\"b\""), ==, GW_OK);
    g_assert_true(gw_sse_parser_has_partial(p));   /* cut mid-line */
    g_assert_cmpint(FEED(p, ":2}\n"), ==, GW_OK);
    g_assert_true(gw_sse_parser_has_partial(p));   /* line done, event not dispatched */
    g_assert_cmpint(FEED(p, "\n"), ==, GW_OK);
    g_assert_false(gw_sse_parser_has_partial(p));
    g_assert_cmpint(FEED(p, "event: message_stop\n"), ==, GW_OK);
    g_assert_true(gw_sse_parser_has_partial(p));
    g_assert_cmpint(FEED(p, "\n"), ==, GW_OK);
    g_assert_false(gw_sse_parser_has_partial(p));
    g_assert_cmpint(FEED(p, ": ping"), ==, GW_OK);
    g_assert_false(gw_sse_parser_has_partial(p));  /* a comment is not an event */
    g_assert_cmpuint(c.events->len, ==, 2);
    ASSERT_EVENT(&c, 0, "", "{\"a\":1}");
    ASSERT_EVENT(&c, 1, "", "{\"b\":2}");
    gw_sse_parser_free(p);
    collector_clear(&c);

    /* No callback is allowed; empty feeds are no-ops. */
    p = gw_sse_parser_new(16, NULL, NULL);
    g_assert_cmpint(gw_sse_parser_feed(p, NULL, 0), ==, GW_OK);
    g_assert_cmpint(FEED(p, "data: x\n\n"), ==, GW_OK);
    gw_sse_parser_free(p);
    gw_sse_parser_free(NULL);
}

/* Hostile bytes: random input with a small cap must never crash or overrun, and whole vs
 * byte-at-a-time feeding agrees on events, status and partial state. */
static void test_fuzz(void)
{
    static const char alphabet[] = "data:event: \r\n\r\n:id\xEF\xBB\xBF\0x";
    GRand *r = g_rand_new_with_seed(1234);
    char buf[512];
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t)g_rand_int_range(r, 0, (gint32)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[g_rand_int_range(r, 0, (gint32)sizeof alphabet - 1)];
        Collector whole, bytes;
        collector_init(&whole);
        collector_init(&bytes);
        gboolean pw, pb;
        GwStatus sw = parse_chunked(buf, n, 0, 48, &whole, &pw);
        GwStatus sb = parse_chunked(buf, n, 1, 48, &bytes, &pb);
        g_assert_cmpint(sw, ==, sb);
        assert_same_events(&whole, &bytes);
        g_assert_cmpint(pw, ==, pb);
        collector_clear(&whole);
        collector_clear(&bytes);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sse/openai", test_openai);
    g_test_add_func("/sse/anthropic", test_anthropic);
    g_test_add_func("/sse/every-split", test_every_split);
    g_test_add_func("/sse/one-byte-anthropic", test_one_byte_anthropic);
    g_test_add_func("/sse/crlf-split", test_crlf_split);
    g_test_add_func("/sse/comments", test_comments);
    g_test_add_func("/sse/fields", test_fields);
    g_test_add_func("/sse/bom", test_bom);
    g_test_add_func("/sse/too-big", test_too_big);
    g_test_add_func("/sse/partial", test_partial);
    g_test_add_func("/sse/fuzz", test_fuzz);
    return g_test_run();
}
