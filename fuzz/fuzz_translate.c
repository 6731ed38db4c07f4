/* fuzz_translate.c — OpenAI ⇄ Anthropic translation. The whole input, when it is JSON, is
 * translated as a client request, as an Anthropic response and as an Anthropic error body; then
 * every line is taken as one streamed Anthropic event, "[event-name ]{json data}", parsed as the
 * proxy parses SSE data, and fed to one stream translator. Every "data:" the translator emits
 * must be valid JSON (or [DONE]). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "translate_anthropic.h"

static void check_stream_output(const GString *out)
{
    const char *p = out->str;
    while ((p = strstr(p, "data: ")) != NULL) {
        p += 6;
        const char *end = strstr(p, "\n\n");
        if (end == NULL)
            abort(); /* every emitted event is complete */
        size_t n = (size_t)(end - p);
        if (!(n == 6 && memcmp(p, "[DONE]", 6) == 0)) {
            json_t *j = json_loadb(p, n, 0, NULL);
            if (j == NULL)
                abort();
            json_decref(j);
        }
        p = end + 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *j = json_loadb(text, size, 0, NULL);
    if (j != NULL) {
        GError *err = NULL;
        json_t *out = NULL;
        const char *model = (size % 2) ? NULL : "claude-3-5-sonnet-latest";
        if (gw_xlate_request_to_anthropic(j, model, &out, &err) == GW_OK) {
            char *s = json_dumps(out, JSON_COMPACT);
            if (s == NULL)
                abort();
            free(s);
        }
        json_decref(out);
        out = NULL;
        g_clear_error(&err);
        if (gw_xlate_response_from_anthropic(j, &out, &err) == GW_OK) {
            char *s = json_dumps(out, JSON_COMPACT);
            if (s == NULL)
                abort();
            free(s);
        }
        json_decref(out);
        g_clear_error(&err);
        json_t *e = gw_xlate_error_from_anthropic(j, (int)(size % 600));
        if (e == NULL)
            abort();
        json_decref(e);
        json_decref(j);
    }

    GwXlateStream *xs = gw_xlate_stream_new(size > 0 && (data[0] & 1));
    GString *out = g_string_new(NULL);
    size_t at = 0;
    while (at < size) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : size - at;
        const char *line = text + at;
        at += n + 1;
        const char *brace = memchr(line, '{', n);
        if (brace == NULL)
            continue;
        /* As proxy.c's on_sse_event: the event name ("" when absent) and data starting with '{'. */
        char *event = g_strstrip(g_strndup(line, (gsize)(brace - line)));
        json_t *obj = json_loadb(brace, n - (size_t)(brace - line), 0, NULL);
        if (obj != NULL) {
            GError *err = NULL;
            GwStatus st = gw_xlate_stream_event(xs, event, obj, out, &err);
            if (st != GW_OK && (st != GW_ETOOBIG || err == NULL))
                abort();
            g_clear_error(&err);
            json_decref(obj);
        }
        g_free(event);
    }
    check_stream_output(out);
    gint64 pt, ct, cached;
    gw_xlate_stream_usage(xs, &pt, &ct, &cached);
    gw_xlate_stream_free(xs);
    g_string_free(out, TRUE);
    return 0;
}
