/* reqbody.c — strict parse of the client's JSON body and the fields the gateway itself reads.
 *
 * Strictness matters because the gateway and the provider must see the same document: a
 * duplicate "model" key, an embedded \u0000 or invalid UTF-8 could make the gateway authorise
 * one model while the provider's parser picks another. */
#include "config.h"
#include "reqbody.h"

#include <string.h>

#define REQ_MAX_DEPTH 64
#define REQ_MODEL_MAX 256
#define REQ_TOKENS_MAX G_GINT64_CONSTANT(2147483647)
/* How much of Jansson's "near '…'" token (client bytes) an error message may echo. Jansson 2.14
 * itself omits tokens over 20 bytes; this is the backstop should another version not. */
#define REQ_ECHO_MAX 40

/* Appends src[0..n) keeping printable ASCII only: the message goes back to the client inside
 * JSON, and raw client bytes may be invalid UTF-8 or control characters. */
static void append_printable(GString *out, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        g_string_append_c(out, (c >= 0x20 && c < 0x7f) ? (char)c : '?');
    }
}

/* Jansson's text, with the echoed client token cut to REQ_ECHO_MAX bytes and sanitised. The
 * text itself is bounded by JSON_ERROR_TEXT_LENGTH. */
static char *describe_json_error(const json_error_t *je)
{
    const char *text = je->text;
    GString *msg = g_string_new("Invalid JSON body: ");

    if (g_str_has_prefix(text, "\\u0000 is not allowed")) {
        g_string_append(msg, "\\u0000 is not allowed in strings");
    } else {
        const char *near = strstr(text, " near '");
        const char *close = near != NULL ? strrchr(text, '\'') : NULL;
        if (near != NULL && close > near + 6) {
            const char *tok = near + 7;
            size_t tok_len = (size_t)(close - tok);
            append_printable(msg, text, (size_t)(tok - text));
            append_printable(msg, tok, MIN(tok_len, (size_t)REQ_ECHO_MAX));
            if (tok_len > REQ_ECHO_MAX)
                g_string_append(msg, "...");
            append_printable(msg, close, strlen(close));
        } else {
            append_printable(msg, text, strnlen(text, sizeof je->text));
        }
    }
    if (je->line > 0)
        g_string_append_printf(msg, " (line %d column %d)", je->line, je->column);
    return g_string_free(msg, FALSE);
}

/* Depth of nested containers, the root counting as 1. Recursion stops at REQ_MAX_DEPTH + 1,
 * so the stack stays bounded whatever Jansson accepted (its own limit is 2048). */
static gboolean depth_ok(json_t *v, int depth)
{
    if (!json_is_object(v) && !json_is_array(v))
        return TRUE;
    if (depth > REQ_MAX_DEPTH)
        return FALSE;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child) {
            if (!depth_ok(child, depth + 1))
                return FALSE;
        }
    } else {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            if (!depth_ok(child, depth + 1))
                return FALSE;
        }
    }
    return TRUE;
}

/* Reads an optional token limit; *out stays -1 when absent. */
static GwStatus read_tokens(json_t *root, const char *key, gint64 *out, GError **err)
{
    json_t *v = json_object_get(root, key);
    *out = -1;
    if (v == NULL || json_is_null(v)) /* SDKs send null for "not given" */
        return GW_OK;
    /* json_is_integer is false for reals, so 100.0 is refused as well. */
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > REQ_TOKENS_MAX)
        return gw_fail(err, GW_EINVAL, "\"%s\" must be an integer between 1 and %" G_GINT64_FORMAT,
                       key, REQ_TOKENS_MAX);
    *out = (gint64)json_integer_value(v);
    return GW_OK;
}

GwStatus gw_reqbody_parse(const char *body, size_t len, GwReqBody *out, GError **err)
{
    g_return_val_if_fail(out != NULL, GW_EINVAL);
    memset(out, 0, sizeof *out);
    out->max_tokens = -1;

    if (body == NULL || len == 0)
        return gw_fail(err, GW_EINVAL, "Request body is empty; a JSON object is required");

    json_error_t je;
    /* No JSON_DECODE_ANY, no JSON_DISABLE_EOF_CHECK (trailing bytes refused), no
     * JSON_ALLOW_NUL (a \u0000 would cut strings short for C code but not for the provider). */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        char *msg = describe_json_error(&je);
        GwStatus st = gw_fail(err, GW_EINVAL, "%s", msg);
        g_free(msg);
        return st;
    }

    GwStatus st = GW_OK;
    json_t *model, *stream;
    gint64 mt, mct;
    if (!json_is_object(root)) {
        st = gw_fail(err, GW_EINVAL, "Request body must be a JSON object");
        goto fail;
    }
    if (!depth_ok(root, 1)) {
        st = gw_fail(err, GW_EINVAL, "Request body is nested deeper than %d levels",
                     REQ_MAX_DEPTH);
        goto fail;
    }

    model = json_object_get(root, "model");
    if (model != NULL) {
        if (!json_is_string(model) || json_string_length(model) == 0) {
            st = gw_fail(err, GW_EINVAL, "\"model\" must be a non-empty string");
            goto fail;
        }
        if (json_string_length(model) > REQ_MODEL_MAX) {
            st = gw_fail(err, GW_EINVAL, "\"model\" is too long (at most %d bytes)",
                         REQ_MODEL_MAX);
            goto fail;
        }
    }

    stream = json_object_get(root, "stream");
    if (stream != NULL && !json_is_boolean(stream) && !json_is_null(stream)) {
        st = gw_fail(err, GW_EINVAL, "\"stream\" must be a boolean");
        goto fail;
    }

    if ((st = read_tokens(root, "max_tokens", &mt, err)) != GW_OK ||
        (st = read_tokens(root, "max_completion_tokens", &mct, err)) != GW_OK)
        goto fail;

    out->root = root;
    out->model = model != NULL ? json_string_value(model) : NULL;
    out->stream = json_is_true(stream);
    /* Both present: the larger, so budget estimates err on the safe side. */
    out->max_tokens = MAX(mt, mct);
    return GW_OK;

fail:
    json_decref(root);
    return st;
}

void gw_reqbody_clear(GwReqBody *b)
{
    if (b == NULL)
        return;
    json_decref(b->root);
    memset(b, 0, sizeof *b);
    b->max_tokens = -1;
}
