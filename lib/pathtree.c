/* pathtree.c — session path tree (see pathtree.h). */
#include "config.h"
#include "pathtree.h"

#include <string.h>
#include <glib.h>

static json_t *node_new(const char *name, const char *path)
{
    json_t *n = json_object();
    json_object_set_new(n, "name", json_string(name));
    json_object_set_new(n, "path", json_string(path));
    json_object_set_new(n, "requests", json_integer(0));
    json_object_set_new(n, "total_requests", json_integer(0));
    json_object_set_new(n, "cost_nanos", json_null());
    json_object_set_new(n, "children", json_array());
    return n;
}

static json_t *child(json_t *node, const char *name, const char *path)
{
    json_t *kids = json_object_get(node, "children");
    size_t i;
    json_t *k;
    json_array_foreach(kids, i, k)
        if (strcmp(json_string_value(json_object_get(k, "name")), name) == 0)
            return k;
    k = node_new(name, path);
    json_array_append_new(kids, k);
    return k;
}

static void add_to(json_t *n, const char *key, json_int_t v)
{
    json_t *cur = json_object_get(n, key);
    json_object_set_new(n, key, json_integer((json_is_integer(cur) ? json_integer_value(cur) : 0) + v));
}

static int name_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "name")),
                  json_string_value(json_object_get(y, "name")));
}

static void sort_tree(json_t *n)
{
    json_t *kids = json_object_get(n, "children");
    size_t len = json_array_size(kids);
    if (len == 0)
        return;
    json_t **v = g_new(json_t *, len);
    for (size_t i = 0; i < len; i++)
        v[i] = json_incref(json_array_get(kids, i));
    qsort(v, len, sizeof *v, name_cmp);
    json_array_clear(kids);
    for (size_t i = 0; i < len; i++) {
        sort_tree(v[i]);
        json_array_append_new(kids, v[i]);
    }
    g_free(v);
}

json_t *gw_path_tree(json_t *paths)
{
    json_t *root = node_new("/", "/");
    size_t i;
    json_t *e;
    json_array_foreach(paths, i, e) {
        if (!json_is_object(e))
            continue;
        json_int_t req = json_integer_value(json_object_get(e, "requests"));
        json_t *cost = json_object_get(e, "cost_nanos");
        const char *path = json_string_value(json_object_get(e, "path"));
        char **segs = g_strsplit(path != NULL ? path : "", "/", -1);
        GString *prefix = g_string_new(NULL);
        json_t *n = root;
        add_to(n, "total_requests", req);
        if (json_is_integer(cost))
            add_to(n, "cost_nanos", json_integer_value(cost));
        for (char **s = segs; *s != NULL; s++) {
            if ((*s)[0] == '\0')
                continue;
            g_string_append_c(prefix, '/');
            g_string_append(prefix, *s);
            n = child(n, *s, prefix->str);
            add_to(n, "total_requests", req);
            if (json_is_integer(cost))
                add_to(n, "cost_nanos", json_integer_value(cost));
        }
        add_to(n, "requests", req);
        g_string_free(prefix, TRUE);
        g_strfreev(segs);
    }
    sort_tree(root);
    return root;
}
