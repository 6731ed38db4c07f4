/* prompt.c — prompt template validation and rendering. Templates are operator data checked at
 * storage time; inputs are client data, inserted verbatim and never parsed as template text. */
#include "config.h"
#include "prompt.h"

#include <string.h>

#define MODEL_MAX 256
/* How much client or template text an error message echoes. */
#define ECHO_MAX 64

typedef struct {
    gsize max;
    gsize used;
} Budget;

/* Printable ASCII only, cut at ECHO_MAX bytes: messages go back in JSON and into logs. */
static char *echo(const char *s, size_t n)
{
    GString *e = g_string_sized_new(MIN(n, (size_t)ECHO_MAX) + 3);
    for (size_t i = 0; i < n && i < ECHO_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        g_string_append_c(e, (c >= 0x20 && c < 0x7f) ? (char)c : '?');
    }
    if (n > ECHO_MAX)
        g_string_append(e, "...");
    return g_string_free(e, FALSE);
}

static gboolean is_name_char(char c)
{
    return g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

static gboolean is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* s[i] and s[i+1] are "{{". On a well-formed placeholder sets the name span and *end (just past
 * "}}"). Scans at most the blanks and GW_PROMPT_NAME_MAX + 1 name characters. */
static gboolean placeholder_at(const char *s, size_t len, size_t i, size_t *name_off,
                               size_t *name_len, size_t *end)
{
    size_t j = i + 2;
    while (j < len && is_blank(s[j]))
        j++;
    size_t start = j;
    while (j < len && j - start <= GW_PROMPT_NAME_MAX && is_name_char(s[j]))
        j++;
    size_t n = j - start;
    if (n == 0 || n > GW_PROMPT_NAME_MAX)
        return FALSE;
    while (j < len && is_blank(s[j]))
        j++;
    if (len - j < 2 || s[j] != '}' || s[j + 1] != '}')
        return FALSE;
    *name_off = start;
    *name_len = n;
    *end = j + 2;
    return TRUE;
}

/* ---- shape ---- */

static GwStatus check_text_part(json_t *part, size_t mi, size_t pi, GError **err)
{
    if (!json_is_object(part))
        return gw_fail(err, GW_EINVAL, "prompt template: messages[%zu].content[%zu] must be an "
                       "object", mi, pi);
    json_t *type = json_object_get(part, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "text") != 0)
        return gw_fail(err, GW_EINVAL, "prompt template: messages[%zu].content[%zu] must have "
                       "\"type\": \"text\"", mi, pi);
    if (!json_is_string(json_object_get(part, "text")))
        return gw_fail(err, GW_EINVAL, "prompt template: messages[%zu].content[%zu].text must be "
                       "a string", mi, pi);
    return GW_OK;
}

static GwStatus check_message(json_t *m, size_t mi, GError **err)
{
    if (!json_is_object(m))
        return gw_fail(err, GW_EINVAL, "prompt template: messages[%zu] must be an object", mi);
    json_t *role = json_object_get(m, "role");
    if (!json_is_string(role) || json_string_length(role) == 0)
        return gw_fail(err, GW_EINVAL, "prompt template: messages[%zu].role must be a non-empty "
                       "string", mi);
    json_t *content = json_object_get(m, "content");
    if (json_is_string(content))
        return GW_OK;
    if (!json_is_array(content))
        return gw_fail(err, GW_EINVAL, "prompt template: messages[%zu].content must be a string "
                       "or an array of text parts", mi);
    for (size_t pi = 0; pi < json_array_size(content); pi++) {
        GwStatus st = check_text_part(json_array_get(content, pi), mi, pi, err);
        if (st != GW_OK)
            return st;
    }
    return GW_OK;
}

static GwStatus check_shape(json_t *tmpl, GError **err)
{
    if (!json_is_object(tmpl))
        return gw_fail(err, GW_EINVAL, "prompt template must be a JSON object");

    const char *key;
    json_t *v;
    json_object_foreach(tmpl, key, v) {
        if (strcmp(key, "messages") != 0 && strcmp(key, "model") != 0 &&
            strcmp(key, "params") != 0) {
            char *e = echo(key, strlen(key));
            gw_fail(err, GW_EINVAL, "prompt template: unknown field '%s'", e);
            g_free(e);
            return GW_EINVAL;
        }
    }

    json_t *msgs = json_object_get(tmpl, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return gw_fail(err, GW_EINVAL, "prompt template: \"messages\" must be a non-empty array");
    for (size_t mi = 0; mi < json_array_size(msgs); mi++) {
        GwStatus st = check_message(json_array_get(msgs, mi), mi, err);
        if (st != GW_OK)
            return st;
    }

    json_t *model = json_object_get(tmpl, "model");
    if (model != NULL && (!json_is_string(model) || json_string_length(model) == 0 ||
                          json_string_length(model) > MODEL_MAX))
        return gw_fail(err, GW_EINVAL, "prompt template: \"model\" must be a non-empty string of "
                       "at most %d bytes", MODEL_MAX);

    json_t *params = json_object_get(tmpl, "params");
    if (params != NULL) {
        if (!json_is_object(params))
            return gw_fail(err, GW_EINVAL, "prompt template: \"params\" must be an object");
        static const char *const reserved[] = {"messages", "model", "inputs"};
        for (size_t i = 0; i < G_N_ELEMENTS(reserved); i++)
            if (json_object_get(params, reserved[i]) != NULL)
                return gw_fail(err, GW_EINVAL, "prompt template: \"params\" may not contain "
                               "\"%s\"", reserved[i]);
    }
    return GW_OK;
}

/* ---- validation ---- */

/* Every "{{" must start a well-formed placeholder; names are added to names (g_free). */
static GwStatus scan_placeholders(json_t *text, const char *where, GPtrArray *names, GError **err)
{
    const char *s = json_string_value(text);
    size_t len = json_string_length(text);
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '{' || s[i + 1] != '{')
            continue;
        size_t off, n, end;
        if (!placeholder_at(s, len, i, &off, &n, &end)) {
            char *e = echo(s + i, MIN(len - i, (size_t)24));
            gw_fail(err, GW_EINVAL, "prompt template: %s: malformed placeholder near '%s' (names "
                    "are 1-%d characters of A-Z a-z 0-9 _ . -, closed by \"}}\")", where, e,
                    GW_PROMPT_NAME_MAX);
            g_free(e);
            return GW_EINVAL;
        }
        g_ptr_array_add(names, g_strndup(s + off, n));
        i = end - 1;
    }
    return GW_OK;
}

static int strptr_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GwStatus gw_prompt_validate(json_t *tmpl, char ***vars, GError **err)
{
    if (vars != NULL)
        *vars = NULL;
    GwStatus st = check_shape(tmpl, err);
    if (st != GW_OK)
        return st;

    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    json_t *msgs = json_object_get(tmpl, "messages");
    for (size_t mi = 0; mi < json_array_size(msgs) && st == GW_OK; mi++) {
        json_t *content = json_object_get(json_array_get(msgs, mi), "content");
        if (json_is_string(content)) {
            char *where = g_strdup_printf("messages[%zu].content", mi);
            st = scan_placeholders(content, where, names, err);
            g_free(where);
            continue;
        }
        for (size_t pi = 0; pi < json_array_size(content) && st == GW_OK; pi++) {
            char *where = g_strdup_printf("messages[%zu].content[%zu].text", mi, pi);
            st = scan_placeholders(json_object_get(json_array_get(content, pi), "text"), where,
                                   names, err);
            g_free(where);
        }
    }
    if (st != GW_OK) {
        g_ptr_array_unref(names);
        return st;
    }
    if (vars != NULL) {
        g_ptr_array_sort(names, strptr_cmp);
        GPtrArray *uniq = g_ptr_array_new();
        for (guint i = 0; i < names->len; i++) {
            char *n = g_ptr_array_index(names, i);
            if (uniq->len == 0 || strcmp(g_ptr_array_index(uniq, uniq->len - 1), n) != 0)
                g_ptr_array_add(uniq, g_strdup(n));
        }
        g_ptr_array_add(uniq, NULL);
        *vars = (char **)g_ptr_array_free(uniq, FALSE);
    }
    g_ptr_array_unref(names);
    return GW_OK;
}

/* ---- rendering ---- */

static void gstring_free_all(gpointer p)
{
    g_string_free(p, TRUE);
}

/* A real as the shortest JSON text that reads back as the same double (0.1, not
 * 0.10000000000000001). */
static char *dump_real(json_t *v)
{
    double d = json_real_value(v);
    char *text = NULL;
    for (int prec = 1; prec <= 17; prec++) {
        g_free(text);
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(prec));
        text = t != NULL ? g_strdup(t) : NULL;
        free(t);
        if (text != NULL && g_ascii_strtod(text, NULL) == d)
            break;
    }
    return text;
}

/* name (borrowed from req) → GString* of the value's text. */
static GwStatus collect_inputs(json_t *req, GHashTable **out, GError **err)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, gstring_free_all);
    *out = t;
    json_t *inputs = json_object_get(req, "inputs");
    if (inputs == NULL || json_is_null(inputs))
        return GW_OK;
    if (!json_is_object(inputs))
        return gw_fail(err, GW_EINVAL, "'inputs' must be an object");

    const char *key;
    json_t *v;
    json_object_foreach(inputs, key, v) {
        GString *text = NULL;
        if (json_is_string(v)) {
            text = g_string_new_len(json_string_value(v), (gssize)json_string_length(v));
        } else if (json_is_integer(v) || json_is_boolean(v) || json_is_real(v)) {
            char *dumped;
            if (json_is_real(v)) {
                dumped = dump_real(v);
            } else {
                char *t2 = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                dumped = t2 != NULL ? g_strdup(t2) : NULL;
                free(t2);
            }
            if (dumped != NULL)
                text = g_string_new(dumped);
            g_free(dumped);
        }
        if (text == NULL) {
            char *e = echo(key, strlen(key));
            gw_fail(err, GW_EINVAL, "prompt input '%s' must be a string, number or boolean", e);
            g_free(e);
            return GW_EINVAL;
        }
        g_hash_table_insert(t, (gpointer)key, text);
    }
    return GW_OK;
}

static GwStatus budget_append(GString *out, const char *s, size_t n, Budget *b, GError **err)
{
    if (n > b->max - b->used)
        return gw_fail(err, GW_ETOOBIG, "rendered prompt exceeds %" G_GSIZE_FORMAT " bytes",
                       b->max);
    b->used += n;
    g_string_append_len(out, s, (gssize)n);
    return GW_OK;
}

/* Renders one template string into a new JSON string (*out). */
static GwStatus render_text(json_t *text, GHashTable *vars, Budget *b, json_t **out,
                            GError **err)
{
    const char *s = json_string_value(text);
    size_t len = json_string_length(text);
    GString *r = g_string_sized_new(MIN(len, (size_t)4096));
    GwStatus st = GW_OK;
    size_t i = 0;

    *out = NULL;
    while (i < len && st == GW_OK) {
        const char *brace = memchr(s + i, '{', len - i);
        size_t next = brace != NULL ? (size_t)(brace - s) : len;
        st = budget_append(r, s + i, next - i, b, err);
        i = next;
        if (st != GW_OK || i >= len)
            break;
        size_t off, n, end;
        if (i + 1 < len && s[i + 1] == '{' && placeholder_at(s, len, i, &off, &n, &end)) {
            char *name = g_strndup(s + off, n);
            GString *val = g_hash_table_lookup(vars, name);
            if (val == NULL)
                st = gw_fail(err, GW_EINVAL, "missing prompt variable '%s'", name);
            else
                st = budget_append(r, val->str, val->len, b, err);
            g_free(name);
            i = end;
        } else {
            /* Not a placeholder: the brace is text; rescan from the next byte. */
            st = budget_append(r, s + i, 1, b, err);
            i++;
        }
    }
    if (st == GW_OK) {
        /* Template and values are valid UTF-8, so the result is too; checked anyway. */
        *out = json_stringn(r->str, r->len);
        if (*out == NULL)
            st = gw_fail(err, GW_EINVAL, "rendered prompt is not valid UTF-8");
    }
    g_string_free(r, TRUE);
    return st;
}

/* A copy of object o with key `field` replaced by repl (reference stolen). */
static json_t *copy_with(json_t *o, const char *field, json_t *repl)
{
    json_t *c = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, field) == 0)
            json_object_set(c, key, repl);
        else
            json_object_set_new(c, key, json_deep_copy(v));
    }
    json_decref(repl);
    return c;
}

static GwStatus render_message(json_t *m, GHashTable *vars, Budget *b, json_t **out, GError **err)
{
    json_t *content = json_object_get(m, "content");
    json_t *rendered = NULL;
    GwStatus st;

    *out = NULL;
    if (json_is_string(content)) {
        st = render_text(content, vars, b, &rendered, err);
    } else {
        rendered = json_array();
        st = GW_OK;
        for (size_t pi = 0; pi < json_array_size(content) && st == GW_OK; pi++) {
            json_t *part = json_array_get(content, pi);
            json_t *text;
            st = render_text(json_object_get(part, "text"), vars, b, &text, err);
            if (st == GW_OK)
                json_array_append_new(rendered, copy_with(part, "text", text));
        }
    }
    if (st != GW_OK) {
        json_decref(rendered);
        return st;
    }
    *out = copy_with(m, "content", rendered);
    return GW_OK;
}

GwStatus gw_prompt_apply(json_t *tmpl, json_t *req, gsize max_bytes, json_t **out, GError **err)
{
    *out = NULL;
    if (!json_is_object(req))
        return gw_fail(err, GW_EINVAL, "request body must be a JSON object");
    GwStatus st = check_shape(tmpl, err);
    if (st != GW_OK)
        return st;
    json_t *req_msgs = json_object_get(req, "messages");
    if (json_is_null(req_msgs))
        req_msgs = NULL;
    if (req_msgs != NULL && !json_is_array(req_msgs))
        return gw_fail(err, GW_EINVAL, "'messages' must be an array");

    GHashTable *vars;
    st = collect_inputs(req, &vars, err);
    if (st != GW_OK) {
        g_hash_table_unref(vars);
        return st;
    }

    Budget b = {.max = max_bytes, .used = 0};
    json_t *msgs = json_array();
    json_t *tmsgs = json_object_get(tmpl, "messages");
    for (size_t mi = 0; mi < json_array_size(tmsgs) && st == GW_OK; mi++) {
        json_t *m;
        st = render_message(json_array_get(tmsgs, mi), vars, &b, &m, err);
        if (st == GW_OK)
            json_array_append_new(msgs, m);
    }
    g_hash_table_unref(vars);
    if (st != GW_OK) {
        json_decref(msgs);
        return st;
    }
    for (size_t i = 0; i < json_array_size(req_msgs); i++)
        json_array_append_new(msgs, json_deep_copy(json_array_get(req_msgs, i)));

    /* Defaults first, then the client's fields over them. */
    json_t *result = json_object();
    const char *key;
    json_t *v;
    json_t *params = json_object_get(tmpl, "params");
    if (params != NULL) {
        json_object_foreach(params, key, v)
            json_object_set_new(result, key, json_deep_copy(v));
    }
    json_t *model = json_object_get(tmpl, "model");
    if (model != NULL)
        json_object_set_new(result, "model", json_deep_copy(model));
    json_object_foreach(req, key, v) {
        if (strcmp(key, "inputs") == 0 || strcmp(key, "messages") == 0)
            continue;
        if (json_is_null(v) && json_object_get(result, key) != NULL)
            continue;
        json_object_set_new(result, key, json_deep_copy(v));
    }
    json_object_set_new(result, "messages", msgs);
    *out = result;
    return GW_OK;
}
