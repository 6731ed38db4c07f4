/* page_keys.c — the Keys page: provider keys listed with their masked secret hint, added (the
 * secret is write-only), rotated and deleted (refused while virtual keys use them). Admin only. */
#include "config.h"

#include <string.h>
#include "html.h"
#include "http.h"
#include "layout.h"
#include "ops.h"
#include "router.h"

static const char *const provider_kinds[] = {"openai", "anthropic", "azure", "gemini",
                                             "openai-compatible", "mock"};

static void key_row(AdmCtx *c, GString *out, const GwProviderKey *pk)
{
    const char *def = gw_provider_default_base_url(pk->provider);
    char *created = adm_fmt_time(pk->created_at), *rotated = adm_fmt_time(pk->rotated_at);
    adm_html(out, "<tr><td>%s</td><td>%s</td><td class=\"mono\">%s%s</td><td>%s</td>"
                  "<td class=\"mono\">%s</td><td>%s</td><td>%s</td><td>%d</td>\n<td>",
             pk->name, pk->provider, pk->base_url != NULL ? pk->base_url : def != NULL ? def : "",
             pk->base_url == NULL && def != NULL ? " (default)" : "",
             pk->api_version != NULL ? pk->api_version : "", pk->secret_hint, created, rotated,
             pk->vk_count);
    char *esc = g_uri_escape_string(pk->name, NULL, TRUE);
    adm_html(out, "<details><summary>Rotate</summary><form method=\"post\" action=\"%s/keys/%s/rotate\">",
             c->base, esc);
    adm_csrf_field(c, out);
    g_string_append(out, "<label>New secret <input name=\"secret\" type=\"password\" "
                         "autocomplete=\"off\" required></label> <button type=\"submit\">Rotate"
                         "</button></form></details>\n");
    adm_html(out, "<form class=\"inline\" method=\"post\" action=\"%s/keys/%s/delete\" "
                  "data-confirm=\"Delete provider key %s?\">",
             c->base, esc, pk->name);
    adm_csrf_field(c, out);
    g_string_append(out, "<button class=\"danger\" type=\"submit\">Delete</button></form></td></tr>\n");
    g_free(esc);
    g_free(created);
    g_free(rotated);
}

/* The page, with an optional notice; the add form keeps what was typed (never the secret). */
static void render_keys(AdmCtx *c, int status, const char *kind, const char *notice)
{
    GPtrArray *keys = NULL;
    GError *err = NULL;
    if (gw_store_provider_key_list(c->store, &keys, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Keys", "/keys");
    g_string_append(out, "<h1>Provider keys</h1>\n");
    if (notice != NULL)
        adm_notice(out, kind, notice);
    if (keys->len == 0) {
        g_string_append(out, "<p>No provider keys yet.</p>\n");
    } else {
        g_string_append(out, "<table class=\"keys\">\n<thead><tr><th>Name</th><th>Provider</th>"
                             "<th>Base URL</th><th>API version</th><th>Secret</th><th>Created</th>"
                             "<th>Rotated</th><th>Virtual keys</th><th>Actions</th></tr></thead>\n"
                             "<tbody>\n");
        for (guint i = 0; i < keys->len; i++)
            key_row(c, out, g_ptr_array_index(keys, i));
        g_string_append(out, "</tbody></table>\n");
    }
    const char *provider = adm_form(c, "provider");
    adm_html(out, "<h2>Add a provider key</h2>\n<form class=\"stack\" method=\"post\" "
                  "action=\"%s/keys\">\n", c->base);
    adm_csrf_field(c, out);
    adm_html(out, "<label>Name <input name=\"name\" required maxlength=\"64\" value=\"%s\"></label>\n"
                  "<label>Provider <select name=\"provider\">",
             adm_form(c, "name") != NULL ? adm_form(c, "name") : "");
    for (gsize i = 0; i < G_N_ELEMENTS(provider_kinds); i++) {
        if (g_strcmp0(provider, provider_kinds[i]) == 0)
            adm_html(out, "<option selected>%s</option>", provider_kinds[i]);
        else
            adm_html(out, "<option>%s</option>", provider_kinds[i]);
    }
    adm_html(out, "</select></label>\n"
                  "<label>Base URL <input name=\"base_url\" type=\"url\" value=\"%s\" "
                  "placeholder=\"the provider's default\"></label>\n"
                  "<label>API version (Azure only) <input name=\"api_version\" value=\"%s\" "
                  "placeholder=\"2024-10-21\"></label>\n"
                  "<label>Secret <input name=\"secret\" type=\"password\" autocomplete=\"off\"></label>\n"
                  "<p class=\"hint\">The secret is stored encrypted and never shown again; only "
                  "its last characters are.</p>\n"
                  "<button type=\"submit\">Add</button>\n</form>\n",
             adm_form(c, "base_url") != NULL ? adm_form(c, "base_url") : "",
             adm_form(c, "api_version") != NULL ? adm_form(c, "api_version") : "");
    adm_page_end(c, out);
    adm_respond_html(c, status, out);
    g_string_free(out, TRUE);
    g_ptr_array_unref(keys);
}

static void keys_get(AdmCtx *c)
{
    const char *done = adm_query(c, "done"), *name = adm_query(c, "name");
    char *msg = NULL;
    if (done != NULL && name != NULL &&
        (strcmp(done, "added") == 0 || strcmp(done, "rotated") == 0 || strcmp(done, "deleted") == 0))
        msg = g_strdup_printf("Provider key %s %s.", name, done);
    render_keys(c, 200, "ok", msg);
    g_free(msg);
}

/* After a change: back to the list (a reload does not repeat it). */
static void done_redirect(AdmCtx *c, const char *what, const char *name)
{
    char *esc = g_uri_escape_string(name, NULL, TRUE);
    char *to = g_strdup_printf("/keys?done=%s&name=%s", what, esc);
    adm_redirect(c, to);
    g_free(to);
    g_free(esc);
}

static void fail(AdmCtx *c, GError *err)
{
    int status = adm_status_for(err->domain == GW_ERROR ? (GwStatus)err->code : GW_EIO, NULL);
    if (status >= 500)
        adm_respond_gerror(c, err);
    else
        render_keys(c, status, "error", err->message);
    g_error_free(err);
}

static void keys_add(AdmCtx *c)
{
    GError *err = NULL;
    const char *name = adm_form_text(c, "name");
    if (gw_ops_provider_key_add(&c->ops, name, adm_form_text(c, "provider"),
                                adm_form_text(c, "base_url"), adm_form_text(c, "api_version"),
                                adm_form(c, "secret"), &err) != GW_OK)
        fail(c, err);
    else
        done_redirect(c, "added", name);
}

static void keys_rotate(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_ops_provider_key_rotate(&c->ops, adm_param(c, 0), adm_form(c, "secret"), &err) != GW_OK)
        fail(c, err);
    else
        done_redirect(c, "rotated", adm_param(c, 0));
}

static void keys_delete(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_ops_provider_key_delete(&c->ops, adm_param(c, 0), &err) != GW_OK)
        fail(c, err);
    else
        done_redirect(c, "deleted", adm_param(c, 0));
}

const AdmRoute adm_routes_keys[] = {
    {"GET", "/keys", keys_get, ADM_ROLE_ADMIN},
    {"POST", "/keys", keys_add, ADM_ROLE_ADMIN},
    {"POST", "/keys/{name}/rotate", keys_rotate, ADM_ROLE_ADMIN},
    {"POST", "/keys/{name}/delete", keys_delete, ADM_ROLE_ADMIN},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
