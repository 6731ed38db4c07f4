/* sse_message.c — stream reassembly for display (see sse_message.h). */
#include "config.h"
#include "sse_message.h"

#include <string.h>
#include <glib.h>

typedef struct {
    GString *content;
    GString *reasoning;
    GPtrArray *tools;          /* Tool*, by position of first appearance */
    char *role;
    char *finish;
    char *model;
    int events;
    int unparsed;
} Acc;

typedef struct {
    gint64 index;              /* stream's index (OpenAI tool index, Anthropic block index) */
    char *id;
    char *name;
    GString *args;
} Tool;

static void tool_free(gpointer p)
{
    Tool *t = p;
    g_free(t->id);
    g_free(t->name);
    g_string_free(t->args, TRUE);
    g_free(t);
}

static Tool *tool_at(Acc *a, gint64 index)
{
    for (guint i = 0; i < a->tools->len; i++) {
        Tool *t = g_ptr_array_index(a->tools, i);
        if (t->index == index)
            return t;
    }
    Tool *t = g_new0(Tool, 1);
    t->index = index;
    t->args = g_string_new(NULL);
    g_ptr_array_add(a->tools, t);
    return t;
}

static void set_once(char **dst, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0) {
        g_free(*dst);
        *dst = g_strdup(json_string_value(v));
    }
}

static void append_str(GString *s, json_t *v)
{
    if (json_is_string(v))
        g_string_append_len(s, json_string_value(v), (gssize)json_string_length(v));
}

static void openai_chunk(Acc *a, json_t *o)
{
    json_t *choices = json_object_get(o, "choices");
    size_t i;
    json_t *c;
    json_array_foreach(choices, i, c) {
        json_t *idx = json_object_get(c, "index");
        if (idx != NULL && json_integer_value(idx) != 0)
            continue;
        json_t *d = json_object_get(c, "delta");
        set_once(&a->role, json_object_get(d, "role"));
        append_str(a->content, json_object_get(d, "content"));
        append_str(a->reasoning, json_object_get(d, "reasoning_content"));
        json_t *calls = json_object_get(d, "tool_calls");
        size_t j;
        json_t *tc;
        json_array_foreach(calls, j, tc) {
            json_t *ti = json_object_get(tc, "index");
            Tool *t = tool_at(a, json_is_integer(ti) ? json_integer_value(ti) : (json_int_t)j);
            set_once(&t->id, json_object_get(tc, "id"));
            json_t *fn = json_object_get(tc, "function");
            set_once(&t->name, json_object_get(fn, "name"));
            append_str(t->args, json_object_get(fn, "arguments"));
        }
        set_once(&a->finish, json_object_get(c, "finish_reason"));
    }
}

static void anthropic_event(Acc *a, const char *type, json_t *o)
{
    json_t *idx = json_object_get(o, "index");
    gint64 index = json_is_integer(idx) ? json_integer_value(idx) : 0;
    if (strcmp(type, "message_start") == 0) {
        json_t *m = json_object_get(o, "message");
        set_once(&a->role, json_object_get(m, "role"));
        set_once(&a->model, json_object_get(m, "model"));
    } else if (strcmp(type, "content_block_start") == 0) {
        json_t *b = json_object_get(o, "content_block");
        const char *bt = json_string_value(json_object_get(b, "type"));
        if (bt != NULL && strcmp(bt, "text") == 0) {
            append_str(a->content, json_object_get(b, "text"));
        } else if (bt != NULL && strcmp(bt, "tool_use") == 0) {
            Tool *t = tool_at(a, index);
            set_once(&t->id, json_object_get(b, "id"));
            set_once(&t->name, json_object_get(b, "name"));
        }
    } else if (strcmp(type, "content_block_delta") == 0) {
        json_t *d = json_object_get(o, "delta");
        const char *dt = json_string_value(json_object_get(d, "type"));
        if (dt == NULL)
            return;
        if (strcmp(dt, "text_delta") == 0)
            append_str(a->content, json_object_get(d, "text"));
        else if (strcmp(dt, "thinking_delta") == 0)
            append_str(a->reasoning, json_object_get(d, "thinking"));
        else if (strcmp(dt, "input_json_delta") == 0)
            append_str(tool_at(a, index)->args, json_object_get(d, "partial_json"));
    } else if (strcmp(type, "message_delta") == 0) {
        set_once(&a->finish, json_object_get(json_object_get(o, "delta"), "stop_reason"));
    }
}

static void responses_event(Acc *a, const char *type, json_t *o)
{
    if (strcmp(type, "response.output_text.delta") == 0) {
        append_str(a->content, json_object_get(o, "delta"));
    } else if (strcmp(type, "response.output_item.added") == 0) {
        json_t *item = json_object_get(o, "item");
        const char *it = json_string_value(json_object_get(item, "type"));
        json_t *oi = json_object_get(o, "output_index");
        if (it != NULL && strcmp(it, "function_call") == 0 && json_is_integer(oi)) {
            Tool *t = tool_at(a, json_integer_value(oi));
            set_once(&t->id, json_object_get(item, "call_id"));
            set_once(&t->name, json_object_get(item, "name"));
        }
    } else if (strcmp(type, "response.function_call_arguments.delta") == 0) {
        json_t *oi = json_object_get(o, "output_index");
        if (json_is_integer(oi))
            append_str(tool_at(a, json_integer_value(oi))->args, json_object_get(o, "delta"));
    } else if (strcmp(type, "response.completed") == 0) {
        json_t *r = json_object_get(o, "response");
        set_once(&a->model, json_object_get(r, "model"));
        set_once(&a->finish, json_object_get(r, "status"));
    }
}

static void dispatch(Acc *a, GString *data)
{
    if (data->len == 0)
        return;
    a->events++;
    if (strcmp(data->str, "[DONE]") == 0)
        return;
    json_t *o = json_loadb(data->str, data->len, JSON_DECODE_ANY, NULL);
    if (!json_is_object(o)) {
        a->unparsed++;
        json_decref(o);
        return;
    }
    const char *type = json_string_value(json_object_get(o, "type"));
    if (json_object_get(o, "choices") != NULL) {
        set_once(&a->model, json_object_get(o, "model"));
        openai_chunk(a, o);
    } else if (type != NULL && strncmp(type, "response.", 9) == 0) {
        responses_event(a, type, o);
    } else if (type != NULL) {
        anthropic_event(a, type, o);
    }
    json_decref(o);
}

static json_t *str_or_null(const char *s)
{
    json_t *v = s != NULL ? json_string(s) : NULL;
    return v != NULL ? v : json_null();
}

/* GString text as JSON (invalid UTF-8 from a cut body becomes U+FFFD). */
static json_t *gstr_json(const GString *s)
{
    if (g_utf8_validate(s->str, (gssize)s->len, NULL))
        return json_stringn(s->str, s->len);
    char *fixed = g_utf8_make_valid(s->str, (gssize)s->len);
    json_t *v = json_string(fixed);
    g_free(fixed);
    return v != NULL ? v : json_string("");
}

json_t *gw_sse_message_assemble(const char *text, size_t len)
{
    if (text == NULL)
        return NULL;
    Acc a = {.content = g_string_new(NULL), .reasoning = g_string_new(NULL),
             .tools = g_ptr_array_new_with_free_func(tool_free)};
    GString *data = g_string_new(NULL);
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        const char *line = text + pos;
        size_t n = end - pos;
        /* CRLF counts as one line end. */
        pos = end < len && text[end] == '\r' && end + 1 < len && text[end + 1] == '\n' ? end + 2
                                                                                          : end + 1;
        if (n == 0) {
            dispatch(&a, data);
            g_string_truncate(data, 0);
        } else if (n >= 5 && memcmp(line, "data:", 5) == 0) {
            size_t skip = n > 5 && line[5] == ' ' ? 6 : 5;
            if (data->len > 0)
                g_string_append_c(data, '\n');
            g_string_append_len(data, line + skip, (gssize)(n - skip));
        }
        /* event:, id:, retry: and comments carry nothing the message needs (the JSON has the
         * type). */
    }
    dispatch(&a, data);
    g_string_free(data, TRUE);

    json_t *out = json_object();
    json_object_set_new(out, "role", str_or_null(a.role));
    json_object_set_new(out, "content", gstr_json(a.content));
    json_object_set_new(out, "reasoning", a.reasoning->len > 0 ? gstr_json(a.reasoning) : json_null());
    json_t *tools = json_array();
    for (guint i = 0; i < a.tools->len; i++) {
        Tool *t = g_ptr_array_index(a.tools, i);
        json_t *fn = json_object();
        json_object_set_new(fn, "name", str_or_null(t->name));
        json_object_set_new(fn, "arguments", gstr_json(t->args));
        json_t *call = json_object();
        json_object_set_new(call, "id", str_or_null(t->id));
        json_object_set_new(call, "type", json_string("function"));
        json_object_set_new(call, "function", fn);
        json_array_append_new(tools, call);
    }
    json_object_set_new(out, "tool_calls", tools);
    json_object_set_new(out, "finish_reason", str_or_null(a.finish));
    json_object_set_new(out, "model", str_or_null(a.model));
    json_object_set_new(out, "events", json_integer(a.events));
    json_object_set_new(out, "unparsed_events", json_integer(a.unparsed));
    g_string_free(a.content, TRUE);
    g_string_free(a.reasoning, TRUE);
    g_ptr_array_unref(a.tools);
    g_free(a.role);
    g_free(a.finish);
    g_free(a.model);
    return out;
}
