/* translate_anthropic.c — OpenAI Chat Completions ⇄ Anthropic Messages: request, response,
 * error body and stream translation. Every input is hostile: types are checked before use, work is
 * linear in the input, and nothing here aborts on bad data. */
#include "config.h"
#include "translate_anthropic.h"

#include <stdarg.h>
#include <string.h>

#define XLATE_DEFAULT_MAX_TOKENS 4096
#define XLATE_NAME_BYTES 64          /* client-supplied names quoted in errors are cut here */
#define XLATE_MAX_BLOCKS 4096        /* content blocks tracked per streamed message */
/* token counts above this are hostile: clamped, so sums can never overflow */
#define XLATE_TOKEN_MAX ((gint64)1 << 40)

static const char ROLE_USER[] = "user";
static const char ROLE_ASSISTANT[] = "assistant";

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */

typedef struct {
    char s[XLATE_NAME_BYTES + 4];
} ShortName;

/* Client-supplied names go into error messages: cap their length without cutting a UTF-8
 * sequence, so the message stays valid for the JSON error body. */
static const char *shorten(const char *s, ShortName *buf)
{
    if (s == NULL)
        return "(null)";
    size_t n = strnlen(s, XLATE_NAME_BYTES + 1);
    if (n <= XLATE_NAME_BYTES)
        return s;
    n = XLATE_NAME_BYTES;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf->s, s, n);
    memcpy(buf->s + n, "...", 4);
    return buf->s;
}

static GwStatus invalid(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* gw_fail(GW_EINVAL) with a formatted message (gw_fail itself wants a literal format). */
static GwStatus invalid(GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    GwStatus st = gw_fail(err, GW_EINVAL, "%s", msg);
    g_free(msg);
    return st;
}

static gboolean absent(json_t *v)
{
    return v == NULL || json_is_null(v);
}

/* New string with the same bytes (embedded NULs kept). s must be a JSON string. */
static json_t *str_copy(json_t *s)
{
    return json_stringn(json_string_value(s), json_string_length(s));
}

/* Token count from obj[key]: TRUE and *out set (clamped) for a non-negative integer. */
static gboolean take_tokens(json_t *obj, const char *key, gint64 *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return FALSE;
    json_int_t n = json_integer_value(v);
    *out = n > XLATE_TOKEN_MAX ? XLATE_TOKEN_MAX : (gint64)n;
    return TRUE;
}

/* OpenAI usage object (new) from Anthropic counts (negative = unknown = 0). */
static json_t *openai_usage(gint64 input, gint64 output, gint64 cache_read, gint64 cache_creation)
{
    input = MAX(input, 0);
    output = MAX(output, 0);
    cache_read = MAX(cache_read, 0);
    cache_creation = MAX(cache_creation, 0);
    gint64 prompt = input + cache_read + cache_creation; /* each <= 2^40: no overflow */
    json_t *u = json_object();
    json_object_set_new(u, "prompt_tokens", json_integer(prompt));
    json_object_set_new(u, "completion_tokens", json_integer(output));
    json_object_set_new(u, "total_tokens", json_integer(prompt + output));
    json_t *details = json_object();
    json_object_set_new(details, "cached_tokens", json_integer(cache_read));
    json_object_set_new(u, "prompt_tokens_details", details);
    return u;
}

/* Anthropic stop_reason → OpenAI finish_reason. Unknown or future reasons read as a normal
 * stop rather than failing the answer. */
static const char *finish_reason(const char *stop_reason)
{
    if (stop_reason == NULL)
        return "stop";
    if (strcmp(stop_reason, "max_tokens") == 0 ||
        strcmp(stop_reason, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(stop_reason, "tool_use") == 0)
        return "tool_calls";
    if (strcmp(stop_reason, "refusal") == 0)
        return "content_filter";
    return "stop"; /* end_turn, stop_sequence, pause_turn, unknown */
}

/* "chatcmpl-" + the message id without "msg_"; a random suffix when the id is unusable. */
static char *chat_id(const char *msg_id)
{
    if (msg_id != NULL && g_str_has_prefix(msg_id, "msg_"))
        msg_id += 4;
    if (msg_id == NULL || *msg_id == '\0') {
        char *uuid = g_uuid_string_random();
        char *id = g_strconcat("chatcmpl-", uuid, NULL);
        g_free(uuid);
        return id;
    }
    return g_strconcat("chatcmpl-", msg_id, NULL);
}

/* Anthropic tool ids must match ^[a-zA-Z0-9_-]+$: map every other byte to '_' (new string). */
static json_t *tool_id(json_t *id)
{
    size_t len = json_string_length(id);
    char *s = g_strndup(json_string_value(id), len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!g_ascii_isalnum(c) && c != '_' && c != '-')
            s[i] = '_';
    }
    json_t *r = json_stringn(s, len);
    g_free(s);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Request: top-level field policy                                                             */

typedef GwStatus (*FieldCheck)(const char *key, json_t *v, GError **err);

static GwStatus unsupported(GError **err, const char *key, const char *why)
{
    return invalid(err, "Unsupported parameter '%s': %s", key, why);
}

static GwStatus check_n(const char *key, json_t *v, GError **err)
{
    if (json_is_integer(v) && json_integer_value(v) == 1)
        return GW_OK;
    return unsupported(err, key, "only n=1 is supported for Anthropic models");
}

static GwStatus check_false(const char *key, json_t *v, GError **err)
{
    if (json_is_false(v))
        return GW_OK;
    return unsupported(err, key, "only false is supported for Anthropic models");
}

static GwStatus check_zero_int(const char *key, json_t *v, GError **err)
{
    if (json_is_integer(v) && json_integer_value(v) == 0)
        return GW_OK;
    return unsupported(err, key, "only 0 is supported for Anthropic models (no logprobs)");
}

static GwStatus check_zero(const char *key, json_t *v, GError **err)
{
    if (json_is_number(v) && json_number_value(v) == 0.0)
        return GW_OK;
    return unsupported(err, key, "only 0 is supported for Anthropic models");
}

static GwStatus check_empty_object(const char *key, json_t *v, GError **err)
{
    if (json_is_object(v) && json_object_size(v) == 0)
        return GW_OK;
    return unsupported(err, key, "only an empty object is supported for Anthropic models");
}

static GwStatus check_response_format(const char *key, json_t *v, GError **err)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    if (type != NULL && strcmp(type, "text") == 0)
        return GW_OK;
    return unsupported(err, key, "only {\"type\":\"text\"} is supported for Anthropic models");
}

static GwStatus check_modalities(const char *key, json_t *v, GError **err)
{
    const char *m = json_string_value(json_array_get(v, 0));
    if (json_is_array(v) && json_array_size(v) == 1 && m != NULL && strcmp(m, "text") == 0)
        return GW_OK;
    return unsupported(err, key, "only [\"text\"] is supported for Anthropic models");
}

static GwStatus check_service_tier(const char *key, json_t *v, GError **err)
{
    const char *t = json_string_value(v);
    if (t != NULL && (strcmp(t, "auto") == 0 || strcmp(t, "default") == 0))
        return GW_OK;
    return unsupported(err, key, "only \"auto\" or \"default\" is supported for Anthropic models");
}

static GwStatus refuse(const char *key, json_t *v, GError **err)
{
    (void)v;
    return unsupported(err, key, "not supported for Anthropic models");
}

static GwStatus refuse_deprecated(const char *key, json_t *v, GError **err)
{
    (void)v;
    return unsupported(err, key, "deprecated and not supported for Anthropic models; use tools");
}

/* Every top-level field is listed: mapped (check NULL, validated while mapping), ignored
 * (check NULL, never read), ignored only at its no-op value, or refused. Anything else is
 * refused as unrecognised, so no field silently changes meaning. A null value means absent. */
static const struct {
    const char *name;
    FieldCheck check;
} known_fields[] = {
    { "model", NULL },
    { "messages", NULL },
    { "max_tokens", NULL },
    { "max_completion_tokens", NULL },
    { "temperature", NULL },
    { "top_p", NULL },
    { "top_k", NULL },
    { "stop", NULL },
    { "stream", NULL },
    { "user", NULL },
    { "safety_identifier", NULL },
    { "tools", NULL },
    { "tool_choice", NULL },
    { "parallel_tool_calls", NULL },
    /* harmless: the output does not depend on them */
    { "stream_options", NULL },
    { "seed", NULL },
    { "prompt_cache_key", NULL },
    /* harmless only at the no-op value */
    { "n", check_n },
    { "store", check_false },
    { "logprobs", check_false },
    { "top_logprobs", check_zero_int },
    { "frequency_penalty", check_zero },
    { "presence_penalty", check_zero },
    { "logit_bias", check_empty_object },
    { "metadata", check_empty_object },
    { "response_format", check_response_format },
    { "modalities", check_modalities },
    { "service_tier", check_service_tier },
    /* change the output in ways Anthropic cannot honour */
    { "audio", refuse },
    { "prediction", refuse },
    { "reasoning_effort", refuse },
    { "verbosity", refuse },
    { "web_search_options", refuse },
    { "functions", refuse_deprecated },
    { "function_call", refuse_deprecated },
};

static GwStatus check_fields(json_t *req, GError **err)
{
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v) {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(known_fields); i++)
            if (strcmp(known_fields[i].name, key) == 0)
                break;
        if (i == G_N_ELEMENTS(known_fields)) {
            ShortName sn;
            return invalid(err, "Unrecognized request argument supplied: %s", shorten(key, &sn));
        }
        if (known_fields[i].check != NULL && !absent(v)) {
            GwStatus st = known_fields[i].check(known_fields[i].name, v, err);
            if (st != GW_OK)
                return st;
        }
    }
    return GW_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Request: messages                                                                           */

/* Builds the alternating Anthropic message list: blocks for the same role as the pending message
 * merge into it. Within a user message tool_result blocks are kept first (Anthropic requires them
 * before other content), using two arrays instead of inserts so merging stays linear. */
typedef struct {
    json_t *messages;  /* new: output array */
    GString *system;   /* joined system/developer text */
    const char *role;  /* ROLE_USER / ROLE_ASSISTANT of the pending message, NULL when none */
    json_t *results;   /* new: pending tool_result blocks */
    json_t *blocks;    /* new: pending other blocks */
} MsgBuilder;

static void mb_init(MsgBuilder *b)
{
    b->messages = json_array();
    b->system = g_string_new(NULL);
    b->role = NULL;
    b->results = json_array();
    b->blocks = json_array();
}

static void mb_clear(MsgBuilder *b)
{
    json_decref(b->messages);
    g_string_free(b->system, TRUE);
    json_decref(b->results);
    json_decref(b->blocks);
}

static void mb_flush(MsgBuilder *b)
{
    if (b->role != NULL && json_array_size(b->results) + json_array_size(b->blocks) > 0) {
        json_t *content = b->results; /* ownership moves into the message */
        json_array_extend(content, b->blocks);
        json_array_clear(b->blocks);
        b->results = json_array();
        json_t *m = json_object();
        json_object_set_new(m, "role", json_string(b->role));
        json_object_set_new(m, "content", content);
        json_array_append_new(b->messages, m);
    }
    b->role = NULL;
}

/* Adds a block (stolen) to the pending message of role, starting a new message on a role
 * change. Empty messages never reach the output (they are never flushed). */
static void mb_add(MsgBuilder *b, const char *role, json_t *block, gboolean is_result)
{
    if (block == NULL)
        return;
    if (b->role != role) {
        mb_flush(b);
        b->role = role;
    }
    json_array_append_new(is_result ? b->results : b->blocks, block);
}

static void mb_system(MsgBuilder *b, json_t *text)
{
    if (json_string_length(text) == 0)
        return;
    if (b->system->len > 0)
        g_string_append(b->system, "\n\n");
    g_string_append_len(b->system, json_string_value(text), (gssize)json_string_length(text));
}

/* {"type":"text","text"} (new); text borrowed; cache_control (borrowed, optional) copied so
 * OpenAI-format clients can still mark prompt-cache breakpoints. */
static json_t *text_block(json_t *text, json_t *cache_control)
{
    json_t *b = json_object();
    json_object_set_new(b, "type", json_string("text"));
    json_object_set_new(b, "text", str_copy(text));
    if (json_is_object(cache_control))
        json_object_set_new(b, "cache_control", json_deep_copy(cache_control));
    return b;
}

static const char *const image_types[] = { "image/jpeg", "image/png", "image/gif", "image/webp" };

/* image_url part (borrowed) → Anthropic image block (new, in *out). */
static GwStatus image_block(json_t *part, size_t i, size_t j, json_t **out, GError **err)
{
    json_t *iu = json_object_get(part, "image_url");
    json_t *url = json_is_string(iu) ? iu : json_object_get(iu, "url");
    if (!json_is_string(url))
        return invalid(err, "messages[%zu].content[%zu].image_url.url must be a string", i, j);
    const char *s = json_string_value(url);
    size_t len = json_string_length(url);
    json_t *source = json_object();
    if (len >= 5 && g_ascii_strncasecmp(s, "data:", 5) == 0) {
        const char *comma = memchr(s, ',', len);
        const char *semi = comma != NULL ? memchr(s, ';', (size_t)(comma - s)) : NULL;
        /* header is "<media>[;params];base64" */
        if (comma == NULL || semi == NULL || comma - s < 12 ||
            g_ascii_strncasecmp(comma - 7, ";base64", 7) != 0) {
            json_decref(source);
            return invalid(err, "messages[%zu].content[%zu].image_url.url: image data URLs must "
                                "be base64-encoded (data:<media type>;base64,<data>)", i, j);
        }
        char *media = g_ascii_strdown(s + 5, semi - (s + 5));
        if (strcmp(media, "image/jpg") == 0) { /* common misspelling of the registered type */
            g_free(media);
            media = g_strdup("image/jpeg");
        }
        gboolean ok = FALSE;
        for (size_t k = 0; k < G_N_ELEMENTS(image_types); k++)
            ok = ok || strcmp(media, image_types[k]) == 0;
        if (!ok) {
            ShortName sn;
            invalid(err, "messages[%zu].content[%zu].image_url: image media type '%s' is not "
                         "supported for Anthropic models (use image/jpeg, image/png, image/gif "
                         "or image/webp)", i, j, shorten(media, &sn));
            g_free(media);
            json_decref(source);
            return GW_EINVAL;
        }
        size_t dlen = len - (size_t)(comma + 1 - s);
        if (dlen == 0) {
            g_free(media);
            json_decref(source);
            return invalid(err, "messages[%zu].content[%zu].image_url: empty image data", i, j);
        }
        json_object_set_new(source, "type", json_string("base64"));
        json_object_set_new(source, "media_type", json_string(media));
        json_object_set_new(source, "data", json_stringn(comma + 1, dlen));
        g_free(media);
    } else if ((len > 7 && g_ascii_strncasecmp(s, "http://", 7) == 0) ||
               (len > 8 && g_ascii_strncasecmp(s, "https://", 8) == 0)) {
        json_object_set_new(source, "type", json_string("url"));
        json_object_set_new(source, "url", str_copy(url));
    } else {
        json_decref(source);
        return invalid(err, "messages[%zu].content[%zu].image_url.url must be an http(s) URL or "
                            "a base64 data URL", i, j);
    }
    json_t *b = json_object();
    json_object_set_new(b, "type", json_string("image"));
    json_object_set_new(b, "source", source);
    json_t *cc = json_object_get(part, "cache_control");
    if (json_is_object(cc))
        json_object_set_new(b, "cache_control", json_deep_copy(cc));
    *out = b;
    return GW_OK;
}

static GwStatus bad_part_type(GError **err, size_t i, size_t j, const char *role, const char *type)
{
    ShortName sn;
    return invalid(err, "messages[%zu].content[%zu]: content part type '%s' is not supported in "
                        "%s messages for Anthropic models", i, j, shorten(type, &sn), role);
}

/* user/assistant content (borrowed) → blocks of role. user: text, image_url; assistant: text,
 * refusal (a past refusal is shown to the model as text). Empty texts are dropped: Anthropic
 * rejects empty text blocks and OpenAI clients often send "" next to tool_calls. */
static GwStatus content_blocks(MsgBuilder *b, const char *role, json_t *content, size_t i,
                               GError **err)
{
    if (json_is_null(content) && role == ROLE_ASSISTANT)
        return GW_OK;
    if (json_is_string(content)) {
        if (json_string_length(content) > 0)
            mb_add(b, role, text_block(content, NULL), FALSE);
        return GW_OK;
    }
    if (!json_is_array(content))
        return invalid(err, "messages[%zu].content must be a string or an array of content parts",
                       i);
    size_t j;
    json_t *part;
    json_array_foreach(content, j, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        if (type == NULL)
            return invalid(err, "messages[%zu].content[%zu].type must be a string", i, j);
        if (strcmp(type, "text") == 0 || (role == ROLE_ASSISTANT && strcmp(type, "refusal") == 0)) {
            json_t *text = json_object_get(part, type); /* "text" or "refusal" holds the text */
            if (!json_is_string(text))
                return invalid(err, "messages[%zu].content[%zu].%s must be a string", i, j, type);
            if (json_string_length(text) > 0)
                mb_add(b, role, text_block(text, json_object_get(part, "cache_control")), FALSE);
        } else if (strcmp(type, "image_url") == 0 && role == ROLE_USER) {
            json_t *img = NULL;
            GwStatus st = image_block(part, i, j, &img, err);
            if (st != GW_OK)
                return st;
            mb_add(b, role, img, FALSE);
        } else {
            return bad_part_type(err, i, j, role, type);
        }
    }
    return GW_OK;
}

/* system/developer content → appended to the top-level system text. */
static GwStatus system_content(MsgBuilder *b, json_t *content, size_t i, GError **err)
{
    if (json_is_string(content)) {
        mb_system(b, content);
        return GW_OK;
    }
    if (!json_is_array(content))
        return invalid(err, "messages[%zu].content must be a string or an array of text parts", i);
    size_t j;
    json_t *part;
    json_array_foreach(content, j, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *text = json_object_get(part, "text");
        if (type == NULL)
            return invalid(err, "messages[%zu].content[%zu].type must be a string", i, j);
        if (strcmp(type, "text") != 0)
            return bad_part_type(err, i, j, "system", type);
        if (!json_is_string(text))
            return invalid(err, "messages[%zu].content[%zu].text must be a string", i, j);
        mb_system(b, text);
    }
    return GW_OK;
}

/* assistant tool_calls (borrowed) → tool_use blocks. */
static GwStatus tool_calls_blocks(MsgBuilder *b, json_t *calls, size_t i, GError **err)
{
    if (absent(calls))
        return GW_OK;
    if (!json_is_array(calls))
        return invalid(err, "messages[%zu].tool_calls must be an array", i);
    size_t j;
    json_t *call;
    json_array_foreach(calls, j, call) {
        json_t *type = json_object_get(call, "type");
        json_t *id = json_object_get(call, "id");
        json_t *fn = json_object_get(call, "function");
        json_t *name = json_object_get(fn, "name");
        json_t *args = json_object_get(fn, "arguments");
        if (!json_is_object(call))
            return invalid(err, "messages[%zu].tool_calls[%zu] must be an object", i, j);
        const char *ts = json_string_value(type);
        if (!absent(type) && (ts == NULL || strcmp(ts, "function") != 0)) {
            ShortName sn;
            return invalid(err, "messages[%zu].tool_calls[%zu].type '%s' is not supported for "
                                "Anthropic models (only 'function')", i, j,
                           ts != NULL ? shorten(ts, &sn) : "?");
        }
        if (!json_is_string(id))
            return invalid(err, "messages[%zu].tool_calls[%zu].id must be a string", i, j);
        if (!json_is_string(name))
            return invalid(err, "messages[%zu].tool_calls[%zu].function.name must be a string",
                           i, j);
        json_t *input = NULL;
        if (absent(args)) {
            input = json_object();
        } else if (json_is_object(args)) { /* lenient: some clients send the object itself */
            input = json_deep_copy(args);
        } else if (json_is_string(args)) {
            const char *a = json_string_value(args);
            size_t alen = json_string_length(args);
            size_t k = 0;
            while (k < alen && g_ascii_isspace(a[k]))
                k++;
            /* "" is what many clients send for a call without arguments */
            input = k == alen ? json_object() : json_loadb(a, alen, 0, NULL);
            if (!json_is_object(input)) {
                json_decref(input);
                return invalid(err, "messages[%zu].tool_calls[%zu].function.arguments must be a "
                                    "JSON object encoded as a string", i, j);
            }
        } else {
            return invalid(err, "messages[%zu].tool_calls[%zu].function.arguments must be a "
                                "string", i, j);
        }
        json_t *blk = json_object();
        json_object_set_new(blk, "type", json_string("tool_use"));
        json_object_set_new(blk, "id", tool_id(id));
        json_object_set_new(blk, "name", str_copy(name));
        json_object_set_new(blk, "input", input);
        mb_add(b, ROLE_ASSISTANT, blk, FALSE);
    }
    return GW_OK;
}

/* tool message → tool_result block in a user message. Text parts keep their structure as
 * Anthropic text blocks; empty content omits "content" (valid, and empty texts are not). */
static GwStatus tool_result(MsgBuilder *b, json_t *m, size_t i, GError **err)
{
    json_t *id = json_object_get(m, "tool_call_id");
    json_t *content = json_object_get(m, "content");
    if (!json_is_string(id))
        return invalid(err, "messages[%zu].tool_call_id must be a string", i);
    json_t *c = NULL;
    if (json_is_string(content)) {
        if (json_string_length(content) > 0)
            c = str_copy(content);
    } else if (json_is_array(content)) {
        c = json_array();
        size_t j;
        json_t *part;
        json_array_foreach(content, j, part) {
            const char *type = json_string_value(json_object_get(part, "type"));
            json_t *text = json_object_get(part, "text");
            if (type == NULL || strcmp(type, "text") != 0 || !json_is_string(text)) {
                json_decref(c);
                if (type != NULL && strcmp(type, "text") != 0)
                    return bad_part_type(err, i, j, "tool", type);
                return invalid(err, "messages[%zu].content[%zu] must be a text part", i, j);
            }
            if (json_string_length(text) > 0)
                json_array_append_new(c, text_block(text, json_object_get(part, "cache_control")));
        }
        if (json_array_size(c) == 0) {
            json_decref(c);
            c = NULL;
        }
    } else if (!json_is_null(content)) {
        return invalid(err, "messages[%zu].content must be a string or an array of text parts", i);
    }
    json_t *blk = json_object();
    json_object_set_new(blk, "type", json_string("tool_result"));
    json_object_set_new(blk, "tool_use_id", tool_id(id));
    if (c != NULL)
        json_object_set_new(blk, "content", c);
    mb_add(b, ROLE_USER, blk, TRUE);
    return GW_OK;
}

static const char *const message_fields[] = {
    "role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio", "function_call",
};

/* Per-message field policy: name is ignored (Anthropic has no participant names), audio and
 * function_call are refused, unknown fields are refused like unknown top-level fields. */
static GwStatus check_message_fields(json_t *m, size_t i, GError **err)
{
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        size_t k;
        for (k = 0; k < G_N_ELEMENTS(message_fields); k++)
            if (strcmp(message_fields[k], key) == 0)
                break;
        if (k == G_N_ELEMENTS(message_fields)) {
            ShortName sn;
            return invalid(err, "messages[%zu]: unrecognized field '%s'", i, shorten(key, &sn));
        }
        if ((strcmp(key, "audio") == 0 || strcmp(key, "function_call") == 0) && !absent(v))
            return invalid(err, "Unsupported parameter 'messages[%zu].%s': not supported for "
                                "Anthropic models", i, key);
    }
    return GW_OK;
}

static GwStatus convert_message(MsgBuilder *b, json_t *m, size_t i, GError **err)
{
    if (!json_is_object(m))
        return invalid(err, "messages[%zu] must be an object", i);
    const char *role = json_string_value(json_object_get(m, "role"));
    if (role == NULL)
        return invalid(err, "messages[%zu].role must be a string", i);
    GwStatus st = check_message_fields(m, i, err);
    if (st != GW_OK)
        return st;
    json_t *content = json_object_get(m, "content");
    json_t *calls = json_object_get(m, "tool_calls");
    gboolean assistant = strcmp(role, "assistant") == 0;
    if (!assistant && !absent(calls) && !(json_is_array(calls) && json_array_size(calls) == 0))
        return invalid(err, "messages[%zu].tool_calls is only allowed in assistant messages", i);

    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
        return system_content(b, content, i, err);
    if (strcmp(role, "user") == 0)
        return content_blocks(b, ROLE_USER, content, i, err);
    if (assistant) {
        if (content == NULL)
            content = json_null();
        st = content_blocks(b, ROLE_ASSISTANT, content, i, err);
        json_t *refusal = json_object_get(m, "refusal");
        if (st == GW_OK && json_is_string(refusal) && json_string_length(refusal) > 0)
            mb_add(b, ROLE_ASSISTANT, text_block(refusal, NULL), FALSE);
        return st != GW_OK ? st : tool_calls_blocks(b, calls, i, err);
    }
    if (strcmp(role, "tool") == 0)
        return tool_result(b, m, i, err);
    if (strcmp(role, "function") == 0)
        return invalid(err, "messages[%zu]: role 'function' is deprecated and not supported for "
                            "Anthropic models; use tool messages", i);
    ShortName sn;
    return invalid(err, "messages[%zu]: role '%s' is not supported", i, shorten(role, &sn));
}

/* messages (borrowed) → a["system"], a["messages"]. */
static GwStatus convert_messages(json_t *msgs, json_t *a, GError **err)
{
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return invalid(err, "'messages' must be a non-empty array");
    MsgBuilder b;
    mb_init(&b);
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        GwStatus st = convert_message(&b, m, i, err);
        if (st != GW_OK) {
            mb_clear(&b);
            return st;
        }
    }
    mb_flush(&b);
    if (json_array_size(b.messages) == 0) {
        mb_clear(&b);
        return invalid(err, "'messages' must include at least one user or assistant message with "
                            "content");
    }
    if (b.system->len > 0)
        json_object_set_new(a, "system", json_stringn(b.system->str, b.system->len));
    json_object_set(a, "messages", b.messages);
    mb_clear(&b);
    return GW_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Request: tools and scalar parameters                                                        */

static GwStatus convert_tools(json_t *tools, json_t *a, GError **err)
{
    if (absent(tools))
        return GW_OK;
    if (!json_is_array(tools))
        return invalid(err, "'tools' must be an array");
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *type = json_string_value(json_object_get(t, "type"));
        json_t *fn = json_object_get(t, "function");
        json_t *name = json_object_get(fn, "name");
        json_t *desc = json_object_get(fn, "description");
        json_t *params = json_object_get(fn, "parameters");
        GwStatus st = GW_OK;
        ShortName sn;
        if (type == NULL)
            st = invalid(err, "tools[%zu].type must be a string", i);
        else if (strcmp(type, "function") != 0)
            st = invalid(err, "tools[%zu]: tool type '%s' is not supported for Anthropic models "
                              "(only 'function')", i, shorten(type, &sn));
        else if (!json_is_string(name))
            st = invalid(err, "tools[%zu].function.name must be a string", i);
        else if (!absent(desc) && !json_is_string(desc))
            st = invalid(err, "tools[%zu].function.description must be a string", i);
        else if (!absent(params) && !json_is_object(params))
            st = invalid(err, "tools[%zu].function.parameters must be an object", i);
        if (st != GW_OK) {
            json_decref(out);
            return st;
        }
        json_t *o = json_object();
        json_object_set_new(o, "name", str_copy(name));
        if (json_is_string(desc))
            json_object_set_new(o, "description", str_copy(desc));
        /* "strict" is ignored: the schema is still enforced as tool input validation upstream */
        json_object_set_new(o, "input_schema", json_is_object(params) ? json_deep_copy(params)
                            : json_pack("{s:s, s:{}}", "type", "object", "properties"));
        json_array_append_new(out, o);
    }
    if (json_array_size(out) > 0)
        json_object_set_new(a, "tools", out);
    else
        json_decref(out);
    return GW_OK;
}

static GwStatus convert_tool_choice(json_t *req, json_t *a, GError **err)
{
    json_t *tc = json_object_get(req, "tool_choice");
    json_t *ptc = json_object_get(req, "parallel_tool_calls");
    if (!absent(ptc) && !json_is_boolean(ptc))
        return invalid(err, "'parallel_tool_calls' must be a boolean");
    json_t *out = NULL;
    if (absent(tc)) {
        out = NULL;
    } else if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        const char *type = strcmp(s, "auto") == 0 ? "auto"
                         : strcmp(s, "required") == 0 ? "any"
                         : strcmp(s, "none") == 0 ? "none" : NULL;
        if (type == NULL) {
            ShortName sn;
            return invalid(err, "'tool_choice' value '%s' is not supported (use 'auto', "
                                "'required', 'none' or a function)", shorten(s, &sn));
        }
        out = json_pack("{s:s}", "type", type);
    } else if (json_is_object(tc)) {
        const char *type = json_string_value(json_object_get(tc, "type"));
        json_t *name = json_object_get(json_object_get(tc, "function"), "name");
        if (name == NULL)
            name = json_object_get(tc, "name"); /* the flat form some clients send */
        if (type == NULL || strcmp(type, "function") != 0) {
            ShortName sn;
            return invalid(err, "'tool_choice' type '%s' is not supported for Anthropic models "
                                "(only 'function')", type != NULL ? shorten(type, &sn) : "?");
        }
        if (!json_is_string(name))
            return invalid(err, "'tool_choice.function.name' must be a string");
        out = json_object();
        json_object_set_new(out, "type", json_string("tool"));
        json_object_set_new(out, "name", str_copy(name));
    } else {
        return invalid(err, "'tool_choice' must be a string or an object");
    }
    if (json_is_false(ptc)) {
        if (out == NULL)
            out = json_pack("{s:s}", "type", "auto");
        /* "none" takes no parallelism option: nothing runs anyway */
        if (strcmp(json_string_value(json_object_get(out, "type")), "none") != 0)
            json_object_set_new(out, "disable_parallel_tool_use", json_true());
    }
    if (out != NULL)
        json_object_set_new(a, "tool_choice", out);
    return GW_OK;
}

/* Optional number in [lo, hi]; copied to a[akey]. */
static GwStatus copy_number(json_t *req, const char *key, json_t *a, const char *akey, double lo,
                            double hi, GError **err)
{
    json_t *v = json_object_get(req, key);
    if (absent(v))
        return GW_OK;
    if (!json_is_number(v))
        return invalid(err, "'%s' must be a number", key);
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return invalid(err, "'%s' must be between %g and %g", key, lo, hi);
    json_object_set_new(a, akey, json_is_integer(v) ? json_integer(json_integer_value(v))
                                                    : json_real(d));
    return GW_OK;
}

static GwStatus convert_temperature(json_t *req, json_t *a, GError **err)
{
    json_t *v = json_object_get(req, "temperature");
    if (json_is_number(v) && json_number_value(v) > 1.0 && json_number_value(v) <= 2.0)
        /* OpenAI's 1–2 has no Anthropic equivalent: refuse rather than silently clamp */
        return invalid(err, "Unsupported value for 'temperature': %g is above 1, the maximum for "
                            "Anthropic models (range 0 to 1)", json_number_value(v));
    return copy_number(req, "temperature", a, "temperature", 0.0, 2.0, err);
}

static GwStatus convert_max_tokens(json_t *req, json_t *a, GError **err)
{
    const char *key = "max_completion_tokens"; /* the current name wins over the deprecated one */
    json_t *v = json_object_get(req, key);
    if (absent(v)) {
        key = "max_tokens";
        v = json_object_get(req, key);
    }
    json_int_t n = XLATE_DEFAULT_MAX_TOKENS; /* Anthropic requires max_tokens */
    if (!absent(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return invalid(err, "'%s' must be a positive integer", key);
        n = json_integer_value(v);
    }
    json_object_set_new(a, "max_tokens", json_integer(n));
    return GW_OK;
}

static GwStatus convert_stop(json_t *req, json_t *a, GError **err)
{
    json_t *v = json_object_get(req, "stop");
    if (absent(v))
        return GW_OK;
    json_t *seqs = json_array();
    if (json_is_string(v)) {
        json_array_append_new(seqs, str_copy(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s) {
            if (!json_is_string(s)) {
                json_decref(seqs);
                return invalid(err, "'stop' must be a string or an array of strings");
            }
            json_array_append_new(seqs, str_copy(s));
        }
    } else {
        json_decref(seqs);
        return invalid(err, "'stop' must be a string or an array of strings");
    }
    if (json_array_size(seqs) > 0)
        json_object_set_new(a, "stop_sequences", seqs);
    else
        json_decref(seqs);
    return GW_OK;
}

static GwStatus convert_misc(json_t *req, json_t *a, GError **err)
{
    json_t *top_k = json_object_get(req, "top_k");
    if (!absent(top_k)) {
        if (!json_is_integer(top_k) || json_integer_value(top_k) < 0)
            return invalid(err, "'top_k' must be a non-negative integer");
        json_object_set_new(a, "top_k", json_integer(json_integer_value(top_k)));
    }
    json_t *stream = json_object_get(req, "stream");
    if (!absent(stream)) {
        if (!json_is_boolean(stream))
            return invalid(err, "'stream' must be a boolean");
        json_object_set_new(a, "stream", json_boolean(json_is_true(stream)));
    }
    json_t *so = json_object_get(req, "stream_options");
    if (!absent(so) && !json_is_object(so))
        return invalid(err, "'stream_options' must be an object");
    /* safety_identifier replaces the deprecated user; both are end-user ids for abuse tracking */
    json_t *uid = NULL;
    const char *keys[] = { "safety_identifier", "user" };
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        json_t *v = json_object_get(req, keys[i]);
        if (absent(v))
            continue;
        if (!json_is_string(v))
            return invalid(err, "'%s' must be a string", keys[i]);
        if (uid == NULL)
            uid = v;
    }
    if (uid != NULL)
        json_object_set_new(a, "metadata", json_pack("{s:o}", "user_id", str_copy(uid)));
    return GW_OK;
}

GwStatus gw_xlate_request_to_anthropic(json_t *oa_req, const char *model, json_t **out,
                                       GError **err)
{
    if (out == NULL)
        return gw_fail(err, GW_EINVAL, "no output");
    *out = NULL;
    if (!json_is_object(oa_req))
        return gw_fail(err, GW_EINVAL, "The request body must be a JSON object");
    if (model == NULL)
        model = json_string_value(json_object_get(oa_req, "model"));
    if (model == NULL || *model == '\0')
        return gw_fail(err, GW_EINVAL, "'model' is required");
    json_t *model_json = json_string(model);
    if (model_json == NULL) /* not UTF-8: cannot come from JSON, only from a bad mapping */
        return gw_fail(err, GW_EINVAL, "The model name is not valid UTF-8");

    json_t *a = json_object();
    json_object_set_new(a, "model", model_json);
    GwStatus st = check_fields(oa_req, err);
    /* output keys in a fixed, readable order: model, max_tokens, system, messages, … */
    if (st == GW_OK)
        st = convert_max_tokens(oa_req, a, err);
    if (st == GW_OK)
        st = convert_messages(json_object_get(oa_req, "messages"), a, err);
    if (st == GW_OK)
        st = convert_tools(json_object_get(oa_req, "tools"), a, err);
    if (st == GW_OK)
        st = convert_tool_choice(oa_req, a, err);
    if (st == GW_OK)
        st = convert_temperature(oa_req, a, err);
    if (st == GW_OK)
        st = copy_number(oa_req, "top_p", a, "top_p", 0.0, 1.0, err);
    if (st == GW_OK)
        st = convert_stop(oa_req, a, err);
    if (st == GW_OK)
        st = convert_misc(oa_req, a, err);
    if (st != GW_OK) {
        json_decref(a);
        return st;
    }
    *out = a;
    return GW_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Response                                                                                    */

/* tool_use block (borrowed) → OpenAI tool call (new), NULL when id/name are missing. */
static json_t *tool_call_from_block(json_t *blk)
{
    json_t *id = json_object_get(blk, "id");
    json_t *name = json_object_get(blk, "name");
    json_t *input = json_object_get(blk, "input");
    if (!json_is_string(id) || !json_is_string(name))
        return NULL;
    char *args = json_is_object(input) ? json_dumps(input, JSON_COMPACT) : NULL;
    json_t *fn = json_object();
    json_object_set_new(fn, "name", str_copy(name));
    json_object_set_new(fn, "arguments", json_string(args != NULL ? args : "{}"));
    free(args); /* json_dumps allocates with Jansson's allocator (malloc) */
    json_t *tc = json_object();
    json_object_set_new(tc, "id", str_copy(id));
    json_object_set_new(tc, "type", json_string("function"));
    json_object_set_new(tc, "function", fn);
    return tc;
}

GwStatus gw_xlate_response_from_anthropic(json_t *anth, json_t **out, GError **err)
{
    if (out == NULL)
        return gw_fail(err, GW_EINVAL, "no output");
    *out = NULL;
    json_t *content = json_object_get(anth, "content");
    const char *type = json_string_value(json_object_get(anth, "type"));
    if (!json_is_object(anth) || (type != NULL && strcmp(type, "message") != 0) ||
        !json_is_array(content))
        return gw_fail(err, GW_EINVAL, "The upstream answer is not an Anthropic message");

    GString *text = g_string_new(NULL);
    gboolean has_text = FALSE;
    json_t *calls = json_array();
    size_t i;
    json_t *blk;
    json_array_foreach(content, i, blk) {
        const char *bt = json_string_value(json_object_get(blk, "type"));
        json_t *t = json_object_get(blk, "text");
        if (bt == NULL)
            continue;
        if (strcmp(bt, "text") == 0 && json_is_string(t)) {
            g_string_append_len(text, json_string_value(t), (gssize)json_string_length(t));
            has_text = TRUE;
        } else if (strcmp(bt, "tool_use") == 0) {
            json_t *tc = tool_call_from_block(blk);
            if (tc != NULL)
                json_array_append_new(calls, tc);
        }
        /* thinking, redacted_thinking and server-tool blocks have no OpenAI equivalent */
    }

    json_t *msg = json_object();
    json_object_set_new(msg, "role", json_string("assistant"));
    json_object_set_new(msg, "content",
                        has_text ? json_stringn(text->str, text->len) : json_null());
    json_object_set_new(msg, "refusal", json_null());
    if (json_array_size(calls) > 0)
        json_object_set_new(msg, "tool_calls", calls);
    else
        json_decref(calls);
    g_string_free(text, TRUE);

    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "message", msg);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", json_string(finish_reason(
        json_string_value(json_object_get(anth, "stop_reason")))));

    json_t *usage = json_object_get(anth, "usage");
    gint64 in = 0, outk = 0, cr = 0, cc = 0;
    take_tokens(usage, "input_tokens", &in);
    take_tokens(usage, "output_tokens", &outk);
    take_tokens(usage, "cache_read_input_tokens", &cr);
    take_tokens(usage, "cache_creation_input_tokens", &cc);

    json_t *model = json_object_get(anth, "model");
    char *id = chat_id(json_string_value(json_object_get(anth, "id")));
    json_t *r = json_object();
    json_object_set_new(r, "id", json_string(id));
    json_object_set_new(r, "object", json_string("chat.completion"));
    json_object_set_new(r, "created", json_integer(g_get_real_time() / G_USEC_PER_SEC));
    json_object_set_new(r, "model", json_is_string(model) ? str_copy(model) : json_string(""));
    json_object_set_new(r, "choices", json_pack("[o]", choice));
    json_object_set_new(r, "usage", openai_usage(in, outk, cr, cc));
    g_free(id);
    *out = r;
    return GW_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

static const struct {
    const char *anthropic;
    const char *type;
    const char *code;
} error_kinds[] = {
    { "invalid_request_error", "invalid_request_error", "invalid_request" },
    { "authentication_error", "authentication_error", "upstream_authentication_failed" },
    { "permission_error", "permission_error", "permission_denied" },
    { "not_found_error", "invalid_request_error", "not_found" },
    { "request_too_large", "invalid_request_error", "request_too_large" },
    { "rate_limit_error", "rate_limit_error", "rate_limit_exceeded" },
    { "billing_error", "insufficient_quota", "insufficient_quota" },
    { "api_error", "api_error", "upstream_error" },
    { "overloaded_error", "api_error", "overloaded" },
    { "timeout_error", "api_error", "upstream_timeout" },
};

json_t *gw_xlate_error_from_anthropic(json_t *anth_body, int http_status)
{
    json_t *e = json_object_get(anth_body, "error");
    const char *atype = json_string_value(json_object_get(e, "type"));
    json_t *msg = json_object_get(e, "message");
    const char *type = NULL, *code = NULL;
    for (size_t i = 0; atype != NULL && i < G_N_ELEMENTS(error_kinds); i++) {
        if (strcmp(atype, error_kinds[i].anthropic) == 0) {
            type = error_kinds[i].type;
            code = error_kinds[i].code;
        }
    }
    if (type == NULL) {
        if (http_status == 429) {
            type = "rate_limit_error";
            code = "rate_limit_exceeded";
        } else if (http_status >= 400 && http_status < 500) {
            type = "invalid_request_error";
            code = "upstream_error";
        } else {
            type = "api_error";
            code = "upstream_error";
        }
    }
    json_t *m;
    if (json_is_string(msg) && json_string_length(msg) > 0)
        m = str_copy(msg);
    else if (http_status > 0)
        m = json_sprintf("The upstream provider returned an error (HTTP %d)", http_status);
    else
        m = json_string("The upstream provider returned an error");
    json_t *inner = json_object();
    json_object_set_new(inner, "message", m);
    json_object_set_new(inner, "type", json_string(type));
    json_object_set_new(inner, "code", json_string(code));
    json_t *r = json_object();
    json_object_set_new(r, "error", inner);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Stream                                                                                      */

typedef enum { BLOCK_TEXT, BLOCK_TOOL, BLOCK_OTHER } BlockKind;

typedef struct {
    gint64 index;      /* upstream content block index (the hash key points here) */
    BlockKind kind;
    gint tool;         /* 0-based index among tool calls (BLOCK_TOOL) */
} Block;

struct GwXlateStream {
    gboolean include_usage;
    gboolean started;      /* message_start seen: id/model set, role chunk sent */
    gboolean finish_sent;
    gboolean ended;        /* message_stop or error seen: later events are ignored */
    char *id;
    char *model;
    gint64 created;
    GHashTable *blocks;    /* gint64 upstream index → Block (owned) */
    gint n_tools;
    gint64 input, output, cache_read, cache_creation; /* -1: unknown */
};

GwXlateStream *gw_xlate_stream_new(gboolean include_usage)
{
    GwXlateStream *xs = g_new0(GwXlateStream, 1);
    xs->include_usage = include_usage;
    xs->created = g_get_real_time() / G_USEC_PER_SEC;
    xs->blocks = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    xs->input = xs->output = xs->cache_read = xs->cache_creation = -1;
    return xs;
}

void gw_xlate_stream_free(GwXlateStream *xs)
{
    if (xs == NULL)
        return;
    g_free(xs->id);
    g_free(xs->model);
    g_hash_table_unref(xs->blocks);
    g_free(xs);
}

void gw_xlate_stream_usage(const GwXlateStream *xs, gint64 *prompt, gint64 *completion,
                           gint64 *cached)
{
    gint64 p = -1, c = -1, k = -1;
    if (xs != NULL) {
        if (xs->input >= 0)
            p = xs->input + MAX(xs->cache_read, 0) + MAX(xs->cache_creation, 0);
        c = xs->output;
        k = xs->cache_read;
    }
    if (prompt != NULL)
        *prompt = p;
    if (completion != NULL)
        *completion = c;
    if (cached != NULL)
        *cached = k;
}

static void stream_usage_from(GwXlateStream *xs, json_t *usage)
{
    take_tokens(usage, "input_tokens", &xs->input);
    take_tokens(usage, "output_tokens", &xs->output);
    take_tokens(usage, "cache_read_input_tokens", &xs->cache_read);
    take_tokens(usage, "cache_creation_input_tokens", &xs->cache_creation);
}

/* chat.completion.chunk skeleton (new) with the given choices (stolen). */
static json_t *chunk_base(const GwXlateStream *xs, json_t *choices)
{
    json_t *c = json_object();
    json_object_set_new(c, "id", json_string(xs->id));
    json_object_set_new(c, "object", json_string("chat.completion.chunk"));
    json_object_set_new(c, "created", json_integer(xs->created));
    json_object_set_new(c, "model", json_string(xs->model));
    json_object_set_new(c, "choices", choices);
    return c;
}

/* Appends "data: <chunk>\n\n"; chunk stolen. */
static void emit(GString *out, json_t *chunk)
{
    char *s = json_dumps(chunk, JSON_COMPACT);
    if (s != NULL) {
        g_string_append(out, "data: ");
        g_string_append(out, s);
        g_string_append(out, "\n\n");
        free(s);
    }
    json_decref(chunk);
}

/* One-choice chunk with delta (stolen) and finish_reason (NULL → null). */
static void emit_delta(GwXlateStream *xs, GString *out, json_t *delta, const char *finish)
{
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "delta", delta);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason",
                        finish != NULL ? json_string(finish) : json_null());
    json_t *c = chunk_base(xs, json_pack("[o]", choice));
    if (xs->include_usage) /* as OpenAI: every chunk but the usage one carries "usage": null */
        json_object_set_new(c, "usage", json_null());
    emit(out, c);
}

static void on_message_start(GwXlateStream *xs, json_t *data, GString *out)
{
    json_t *msg = json_object_get(data, "message");
    if (xs->started || !json_is_object(msg))
        return;
    const char *model = json_string_value(json_object_get(msg, "model"));
    xs->id = chat_id(json_string_value(json_object_get(msg, "id")));
    xs->model = g_strdup(model != NULL ? model : "");
    xs->started = TRUE;
    stream_usage_from(xs, json_object_get(msg, "usage"));
    emit_delta(xs, out, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
}

/* Upstream block index from data, FALSE when missing or not a sane integer. */
static gboolean block_index(json_t *data, gint64 *idx)
{
    json_t *v = json_object_get(data, "index");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return FALSE;
    *idx = json_integer_value(v);
    return TRUE;
}

static GwStatus on_block_start(GwXlateStream *xs, json_t *data, GString *out, GError **err)
{
    gint64 idx;
    json_t *cb = json_object_get(data, "content_block");
    const char *type = json_string_value(json_object_get(cb, "type"));
    if (!block_index(data, &idx) || type == NULL || g_hash_table_contains(xs->blocks, &idx))
        return GW_OK; /* malformed or a repeated start: keep the first */
    if (g_hash_table_size(xs->blocks) >= XLATE_MAX_BLOCKS)
        return gw_fail(err, GW_ETOOBIG, "Too many content blocks in the upstream stream");
    Block *b = g_new0(Block, 1);
    b->index = idx;
    b->kind = BLOCK_OTHER;
    json_t *id = json_object_get(cb, "id");
    json_t *name = json_object_get(cb, "name");
    if (strcmp(type, "text") == 0) {
        b->kind = BLOCK_TEXT;
        json_t *text = json_object_get(cb, "text");
        if (json_string_length(text) > 0)
            emit_delta(xs, out, json_pack("{s:o}", "content", str_copy(text)), NULL);
    } else if (strcmp(type, "tool_use") == 0 && json_is_string(id) && json_is_string(name)) {
        b->kind = BLOCK_TOOL;
        b->tool = xs->n_tools++;
        json_t *input = json_object_get(cb, "input");
        /* input is {} with the JSON following as deltas; a non-empty one is sent up front */
        char *args = json_is_object(input) && json_object_size(input) > 0
                   ? json_dumps(input, JSON_COMPACT) : NULL;
        json_t *fn = json_object();
        json_object_set_new(fn, "name", str_copy(name));
        json_object_set_new(fn, "arguments", json_string(args != NULL ? args : ""));
        free(args);
        json_t *tc = json_object();
        json_object_set_new(tc, "index", json_integer(b->tool));
        json_object_set_new(tc, "id", str_copy(id));
        json_object_set_new(tc, "type", json_string("function"));
        json_object_set_new(tc, "function", fn);
        emit_delta(xs, out, json_pack("{s:[o]}", "tool_calls", tc), NULL);
    }
    /* thinking, redacted_thinking, server tools: tracked so their deltas are skipped */
    g_hash_table_insert(xs->blocks, &b->index, b);
    return GW_OK;
}

static void on_block_delta(GwXlateStream *xs, json_t *data, GString *out)
{
    gint64 idx;
    if (!block_index(data, &idx))
        return;
    Block *b = g_hash_table_lookup(xs->blocks, &idx);
    json_t *delta = json_object_get(data, "delta");
    const char *type = json_string_value(json_object_get(delta, "type"));
    if (b == NULL || type == NULL)
        return; /* delta for a block never started: ignored */
    if (b->kind == BLOCK_TEXT && strcmp(type, "text_delta") == 0) {
        json_t *text = json_object_get(delta, "text");
        if (json_string_length(text) > 0)
            emit_delta(xs, out, json_pack("{s:o}", "content", str_copy(text)), NULL);
    } else if (b->kind == BLOCK_TOOL && strcmp(type, "input_json_delta") == 0) {
        json_t *pj = json_object_get(delta, "partial_json");
        if (json_string_length(pj) == 0)
            return; /* Anthropic opens with an empty fragment; OpenAI sends none */
        json_t *tc = json_object();
        json_object_set_new(tc, "index", json_integer(b->tool));
        json_object_set_new(tc, "function", json_pack("{s:o}", "arguments", str_copy(pj)));
        emit_delta(xs, out, json_pack("{s:[o]}", "tool_calls", tc), NULL);
    }
    /* thinking_delta, signature_delta, citations_delta, mismatched kinds: skipped */
}

static void emit_finish(GwXlateStream *xs, GString *out, const char *stop_reason)
{
    if (xs->finish_sent)
        return;
    xs->finish_sent = TRUE;
    emit_delta(xs, out, json_object(), finish_reason(stop_reason));
}

static void on_message_delta(GwXlateStream *xs, json_t *data, GString *out)
{
    stream_usage_from(xs, json_object_get(data, "usage"));
    const char *sr = json_string_value(json_object_get(json_object_get(data, "delta"),
                                                       "stop_reason"));
    if (sr != NULL)
        emit_finish(xs, out, sr);
}

static void on_message_stop(GwXlateStream *xs, GString *out)
{
    if (xs->started) {
        emit_finish(xs, out, NULL);
        if (xs->include_usage) {
            json_t *c = chunk_base(xs, json_array());
            json_object_set_new(c, "usage", openai_usage(xs->input, xs->output, xs->cache_read,
                                                         xs->cache_creation));
            emit(out, c);
        }
    }
    g_string_append(out, "data: [DONE]\n\n");
    xs->ended = TRUE;
}

static void on_error(GwXlateStream *xs, json_t *data, GString *out)
{
    json_t *e = gw_xlate_error_from_anthropic(data, 0);
    char *s = json_dumps(e, JSON_COMPACT);
    if (s != NULL) {
        g_string_append(out, "event: error\ndata: ");
        g_string_append(out, s);
        g_string_append(out, "\n\n");
        free(s);
    }
    json_decref(e);
    xs->ended = TRUE;
}

GwStatus gw_xlate_stream_event(GwXlateStream *xs, const char *event, json_t *data, GString *out,
                               GError **err)
{
    if (xs == NULL || out == NULL)
        return gw_fail(err, GW_EINVAL, "no stream state or output");
    if (xs->ended)
        return GW_OK;
    /* data.type first, as the provider's usage reader does, so both agree on every event */
    const char *type = json_string_value(json_object_get(data, "type"));
    if (type == NULL)
        type = event != NULL ? event : "";

    if (strcmp(type, "error") == 0) {
        on_error(xs, data, out);
    } else if (strcmp(type, "message_stop") == 0) {
        on_message_stop(xs, out);
    } else if (strcmp(type, "message_start") == 0) {
        on_message_start(xs, data, out);
    } else if (!xs->started) {
        return GW_OK; /* content before message_start has no id/model to send it with */
    } else if (strcmp(type, "content_block_start") == 0) {
        return on_block_start(xs, data, out, err);
    } else if (strcmp(type, "content_block_delta") == 0) {
        on_block_delta(xs, data, out);
    } else if (strcmp(type, "message_delta") == 0) {
        on_message_delta(xs, data, out);
    }
    /* ping, content_block_stop and unknown types: nothing to send */
    return GW_OK;
}
