/* page_vks.c — the Agents & Virtual Keys page: virtual keys with their routing targets, models,
 * agent, department, status, expiry, last use and this period's spend against the budget;
 * creating a key (its token is shown exactly once, with a copy button), editing (models, expiry,
 * agent, department) and revoking it; agents and departments (their keys, spend against the
 * budget; create, delete); routing targets, budgets and rate limits of keys, agents and
 * departments, and policies. Admin only;
 * every change goes through lib/ops*.c like alephantctl. */
#include "config.h"

#include <string.h>
#include "fields.h"
#include "html.h"
#include "http.h"
#include "layout.h"
#include "ops.h"
#include "ops_groups.h"
#include "ops_limits.h"
#include "ops_view.h"
#include "store_groups.h"
#include "router.h"

static const char *const policy_kinds[] = {
    "model_allow", "model_deny", "ip_allow", "ip_deny", "country_allow", "country_deny",
    "max_tokens", "max_request_bytes", "max_messages", "forbidden_params",
    "required_properties", "content_regex", "hours",
};

static const char *field(AdmCtx *c, const char *name)
{
    const char *v = adm_form(c, name);
    return v != NULL ? v : "";
}

/* This period's budget row of a scope/name (borrowed from budgets), NULL when none. */
static json_t *budget_of(json_t *budgets, const char *scope, const char *name)
{
    size_t i;
    json_t *b;
    json_array_foreach(budgets, i, b) {
        if (g_strcmp0(json_string_value(json_object_get(b, "scope")), scope) == 0 &&
            g_strcmp0(json_string_value(json_object_get(b, "name")), name) == 0)
            return b;
    }
    return NULL;
}

static gint64 jint(json_t *o, const char *k, gint64 dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* "$1.20 of $50 (monthly)" / "$1.20 (no budget)"; spent over the hard limit is marked. */
static void spend_cell(GString *out, json_t *b)
{
    if (b == NULL) {
        g_string_append(out, "<td>no budget</td>");
        return;
    }
    gint64 spent = jint(b, "spent_nanos", 0), hard = jint(b, "hard_limit_nanos", -1);
    gint64 soft = jint(b, "soft_limit_nanos", -1);
    char *s = adm_fmt_usd(spent);
    char *h = adm_fmt_usd(hard >= 0 ? hard : soft);
    if (hard >= 0 && spent >= hard)
        adm_html(out, "<td class=\"over\">%s of %s (%s, over budget)</td>", s, h,
                 jstr(b, "period"));
    else
        adm_html(out, "<td>%s of %s%s (%s)</td>", s, h, hard >= 0 ? "" : " soft",
                 jstr(b, "period"));
    g_free(s);
    g_free(h);
}

static void vk_rows(AdmCtx *c, GString *out, json_t *keys, json_t *budgets)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *name = jstr(k, "name");
        GString *targets = g_string_new(NULL);
        size_t j;
        json_t *t;
        json_array_foreach(json_object_get(k, "targets"), j, t)
            g_string_append_printf(targets, "%s%s (p%" JSON_INTEGER_FORMAT ", w%" JSON_INTEGER_FORMAT ")",
                                   j > 0 ? ", " : "", jstr(t, "provider_key"),
                                   json_integer_value(json_object_get(t, "priority")),
                                   json_integer_value(json_object_get(t, "weight")));
        GString *models = g_string_new(NULL);
        json_t *m;
        json_array_foreach(json_object_get(k, "models"), j, m)
            g_string_append_printf(models, "%s%s", j > 0 ? ", " : "", json_string_value(m));
        const char *status = json_is_true(json_object_get(k, "expired")) &&
                                     g_strcmp0(jstr(k, "status"), "active") == 0
                                 ? "expired"
                                 : jstr(k, "status");
        char *expires = adm_fmt_time(jint(k, "expires_at", 0));
        char *used = adm_fmt_time(jint(k, "last_used_at", 0));
        adm_html(out, "<tr><td>%s</td><td class=\"mono\">%s…</td><td>%s</td><td>%s</td>"
                      "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
                 name, jstr(k, "prefix"), targets->str,
                 json_is_array(json_object_get(k, "models")) ? models->str : "any",
                 jstr(k, "agent"), jstr(k, "department"), status,
                 jint(k, "expires_at", 0) > 0 ? expires : "never", used);
        spend_cell(out, budget_of(budgets, "virtual_key", name));
        g_string_append(out, "<td>");
        if (g_strcmp0(jstr(k, "status"), "active") == 0) {
            char *esc = g_uri_escape_string(name, NULL, TRUE);
            adm_html(out, "<a href=\"%s/vks/%s/edit\">Edit</a> ", c->base, esc);
            adm_html(out, "<form class=\"inline\" method=\"post\" action=\"%s/vks/%s/revoke\" "
                          "data-confirm=\"Revoke virtual key %s? Applications using it stop "
                          "working.\">",
                     c->base, esc, name);
            adm_csrf_field(c, out);
            g_string_append(out, "<button class=\"danger\" type=\"submit\">Revoke</button></form>");
            g_free(esc);
        }
        g_string_append(out, "</td></tr>\n");
        g_string_free(targets, TRUE);
        g_string_free(models, TRUE);
        g_free(expires);
        g_free(used);
    }
}

static void pk_options(GString *out, GPtrArray *pks, const char *selected)
{
    for (guint i = 0; i < pks->len; i++) {
        const GwProviderKey *pk = g_ptr_array_index(pks, i);
        if (g_strcmp0(selected, pk->name) == 0)
            adm_html(out, "<option selected>%s</option>", pk->name);
        else
            adm_html(out, "<option>%s</option>", pk->name);
    }
}

static void create_form(AdmCtx *c, GString *out, GPtrArray *pks)
{
    adm_html(out, "<h2>Create a virtual key</h2>\n<form class=\"stack\" method=\"post\" "
                  "action=\"%s/vks\">\n", c->base);
    adm_csrf_field(c, out);
    adm_html(out, "<label>Name (the app, service or user) <input name=\"name\" required "
                  "maxlength=\"64\" value=\"%s\"></label>\n<label>Provider key <select "
                  "name=\"provider_key\">", field(c, "name"));
    pk_options(out, pks, adm_form(c, "provider_key"));
    adm_html(out, "</select></label>\n"
                  "<label>Allowed models (comma-separated, empty = any) <input name=\"models\" "
                  "value=\"%s\"></label>\n"
                  "<label>Agent <input name=\"agent\" maxlength=\"64\" value=\"%s\"></label>\n"
                  "<label>Department <input name=\"department\" maxlength=\"64\" value=\"%s\">"
                  "</label>\n"
                  "<label>Expires (UTC date, empty = never) <input name=\"expires\" "
                  "type=\"date\" value=\"%s\"></label>\n"
                  "<label>Budget in USD (empty = none) <input name=\"budget_usd\" "
                  "inputmode=\"decimal\" value=\"%s\"></label>\n"
                  "<label>Budget period <select name=\"budget_period\"><option>monthly</option>"
                  "<option>weekly</option><option>daily</option><option>lifetime</option>"
                  "</select></label>\n"
                  "<label>Requests per minute (empty = no limit) <input name=\"rpm\" "
                  "inputmode=\"numeric\" value=\"%s\"></label>\n"
                  "<label>Tokens per minute (empty = no limit) <input name=\"tpm\" "
                  "inputmode=\"numeric\" value=\"%s\"></label>\n"
                  "<button type=\"submit\">Create</button>\n</form>\n",
             field(c, "models"), field(c, "agent"), field(c, "department"), field(c, "expires"),
             field(c, "budget_usd"), field(c, "rpm"), field(c, "tpm"));
}

static void targets_section(AdmCtx *c, GString *out, GPtrArray *pks)
{
    adm_html(out, "<h2>Routing targets</h2>\n<p class=\"hint\">Lower priorities are tried first; "
                  "equal priorities share traffic by weight (0 = only when forced).</p>\n"
                  "<form class=\"stack\" method=\"post\" action=\"%s/targets\">\n", c->base);
    adm_csrf_field(c, out);
    adm_html(out, "<label>Virtual key <input name=\"vk\" required value=\"%s\"></label>\n"
                  "<label>Provider key <select name=\"provider_key\">", field(c, "vk"));
    pk_options(out, pks, adm_form(c, "provider_key"));
    adm_html(out, "</select></label>\n<label>Priority <input name=\"priority\" "
                  "inputmode=\"numeric\" value=\"%s\"></label>\n<label>Weight (0-1000) <input "
                  "name=\"weight\" inputmode=\"numeric\" value=\"%s\"></label>\n<label>Model map "
                  "(from=to, comma-separated) <input name=\"model_map\" value=\"%s\"></label>\n"
                  "<label><input type=\"checkbox\" name=\"remove\" value=\"1\"> remove this "
                  "target</label>\n<button type=\"submit\">Save target</button>\n</form>\n",
             field(c, "priority"), field(c, "weight"), field(c, "model_map"));
}

static void budgets_section(AdmCtx *c, GString *out, json_t *budgets, json_t *limits)
{
    g_string_append(out, "<h2 id=\"limits\">Budgets and rate limits</h2>\n");
    if (json_array_size(budgets) > 0) {
        g_string_append(out, "<table><thead><tr><th>Scope</th><th>Name</th><th>Period</th>"
                             "<th>Hard</th><th>Soft</th><th>Spent</th><th>Resets</th></tr>"
                             "</thead><tbody>\n");
        size_t i;
        json_t *b;
        json_array_foreach(budgets, i, b) {
            char *h = adm_fmt_usd(jint(b, "hard_limit_nanos", -1));
            char *s = adm_fmt_usd(jint(b, "soft_limit_nanos", -1));
            char *sp = adm_fmt_usd(jint(b, "spent_nanos", 0));
            char *end = jint(b, "period_end", 0) == G_MAXINT64 ? g_strdup("never")
                                                               : adm_fmt_time(jint(b, "period_end", 0));
            adm_html(out, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                          "<td>%s</td></tr>\n",
                     jstr(b, "scope"), jstr(b, "name"), jstr(b, "period"), h, s, sp, end);
            g_free(h);
            g_free(s);
            g_free(sp);
            g_free(end);
        }
        g_string_append(out, "</tbody></table>\n");
    }
    if (json_array_size(limits) > 0) {
        g_string_append(out, "<table><thead><tr><th>Scope</th><th>Name</th><th>Per</th>"
                             "<th>Requests</th><th>Tokens</th><th>Window</th></tr></thead>"
                             "<tbody>\n");
        size_t i;
        json_t *r;
        json_array_foreach(limits, i, r) {
            const char *prop = jstr(r, "property");
            char *per = prop != NULL && *prop != '\0' ? g_strdup_printf("property:%s", prop)
                                                     : g_strdup(jstr(r, "per"));
            adm_html(out, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%l</td><td>%l</td>"
                          "<td>%l s</td></tr>\n",
                     jstr(r, "scope"), jstr(r, "name"), per, jint(r, "max_requests", -1),
                     jint(r, "max_tokens", -1), jint(r, "window_ms", 0) / 1000);
            g_free(per);
        }
        g_string_append(out, "</tbody></table>\n<p class=\"hint\">-1 = no limit.</p>\n");
    }
    adm_html(out, "<form class=\"stack\" method=\"post\" action=\"%s/limits\">\n", c->base);
    adm_csrf_field(c, out);
    const char *sel = field(c, "limit_scope");
    adm_html(out, "<label>Scope <select name=\"scope\"><option value=\"virtual_key\">virtual "
                  "key</option><option%s>agent</option><option%s>department</option></select>"
                  "</label>\n",
             strcmp(sel, "agent") == 0 ? " selected" : "",
             strcmp(sel, "department") == 0 ? " selected" : "");
    adm_html(out, "<label>Name <input name=\"scope_name\" required value=\"%s\"></label>\n"
                  "<label>Budget in USD (none = remove the limit) <input name=\"budget_usd\" "
                  "value=\"\"></label>\n<label>Soft budget in USD <input name=\"soft_budget_usd\">"
                  "</label>\n<label>Period <select name=\"budget_period\"><option value=\"\">"
                  "(keep)</option><option>monthly</option><option>weekly</option><option>daily"
                  "</option><option>lifetime</option></select></label>\n<label>Reset day "
                  "<input name=\"reset_day\" inputmode=\"numeric\"></label>\n<label>Requests per "
                  "window (none = no limit) <input name=\"rpm\"></label>\n<label>Tokens per window "
                  "<input name=\"tpm\"></label>\n<label>Window in seconds <input name=\"window_s\">"
                  "</label>\n<label>Per (key, ip, session, property:NAME) <input name=\"per\">"
                  "</label>\n<button type=\"submit\">Save limits</button>\n</form>\n",
             field(c, "scope_name"));
}

static void policies_section(AdmCtx *c, GString *out, json_t *policies)
{
    g_string_append(out, "<h2>Policies</h2>\n");
    if (json_array_size(policies) > 0) {
        g_string_append(out, "<table><thead><tr><th>Name</th><th>Scope</th><th>Kind</th>"
                             "<th>Action</th><th>Position</th><th>Config</th><th></th></tr>"
                             "</thead><tbody>\n");
        size_t i;
        json_t *p;
        json_array_foreach(policies, i, p) {
            char *cfg = json_dumps(json_object_get(p, "config"), JSON_COMPACT | JSON_ENCODE_ANY);
            char *esc = g_uri_escape_string(jstr(p, "name"), NULL, TRUE);
            adm_html(out, "<tr><td>%s</td><td>%s%s%s</td><td>%s</td><td>%s</td><td>%l</td>"
                          "<td class=\"mono\">%s</td><td><form class=\"inline\" method=\"post\" "
                          "action=\"%s/policies/%s/remove\" data-confirm=\"Remove policy %s?\">",
                     jstr(p, "name"), jstr(p, "scope"), jstr(p, "scope_name") != NULL ? ":" : "",
                     jstr(p, "scope_name"), jstr(p, "kind"), jstr(p, "action"),
                     jint(p, "position", 0), cfg, c->base, esc, jstr(p, "name"));
            adm_csrf_field(c, out);
            g_string_append(out, "<button class=\"danger\" type=\"submit\">Remove</button>"
                                 "</form></td></tr>\n");
            free(cfg);
            g_free(esc);
        }
        g_string_append(out, "</tbody></table>\n");
    }
    adm_html(out, "<form class=\"stack\" method=\"post\" action=\"%s/policies\">\n", c->base);
    adm_csrf_field(c, out);
    adm_html(out, "<label>Name <input name=\"policy_name\" required value=\"%s\"></label>\n"
                  "<label>Kind <select name=\"kind\">", field(c, "policy_name"));
    for (gsize i = 0; i < G_N_ELEMENTS(policy_kinds); i++)
        adm_html(out, "<option>%s</option>", policy_kinds[i]);
    adm_html(out, "</select></label>\n<label>Config (JSON) <textarea name=\"config\" rows=\"3\">"
                  "%s</textarea></label>\n<label>Action <select name=\"action\"><option>block"
                  "</option><option>flag</option></select></label>\n<label>Scope (global, "
                  "vk:NAME, agent:NAME, department:NAME) <input name=\"scope\" value=\"%s\">"
                  "</label>\n<label>Position <input name=\"position\" inputmode=\"numeric\" "
                  "value=\"%s\"></label>\n<button type=\"submit\">Add policy</button>\n</form>\n",
             field(c, "config"), field(c, "scope"), field(c, "position"));
}

/* "budget" of an agents/departments row as a spend cell. */
static void group_spend_cell(GString *out, json_t *row)
{
    json_t *b = json_object_get(row, "budget");
    spend_cell(out, json_is_object(b) ? b : NULL);
}

/* Names of a JSON array of strings, comma-separated (caller frees); "none" when empty. */
static char *names_text(json_t *arr)
{
    if (json_array_size(arr) == 0)
        return g_strdup("none");
    GString *s = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        g_string_append_printf(s, "%s%s", i > 0 ? ", " : "", json_string_value(v));
    return g_string_free(s, FALSE);
}

/* Rate limits of an agents/departments row: "100 req / 60 s per key; …", or "none". */
static char *limits_text(json_t *row)
{
    json_t *rules = json_object_get(row, "rate_limits");
    if (json_array_size(rules) == 0)
        return g_strdup("none");
    GString *s = g_string_new(NULL);
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r) {
        g_string_append(s, i > 0 ? "; " : "");
        if (jint(r, "max_requests", -1) >= 0)
            g_string_append_printf(s, "%" G_GINT64_FORMAT " req ", jint(r, "max_requests", -1));
        if (jint(r, "max_tokens", -1) >= 0)
            g_string_append_printf(s, "%" G_GINT64_FORMAT " tokens ", jint(r, "max_tokens", -1));
        g_string_append_printf(s, "/ %" G_GINT64_FORMAT " s per %s", jint(r, "window_ms", 0) / 1000,
                               jstr(r, "per"));
    }
    return g_string_free(s, FALSE);
}

/* The Limits link and Delete button of an agent or department row. */
static void group_actions(AdmCtx *c, GString *out, const char *kind, const char *name)
{
    char *esc = g_uri_escape_string(name, NULL, TRUE);
    adm_html(out, "<td><a href=\"%s/vks?for=%s:%s#limits\">Budget, limits, policies</a> "
                  "<form class=\"inline\" method=\"post\" action=\"%s/%ss/%s/delete\" "
                  "data-confirm=\"Delete %s %s with its budget, rate limits and policies?\">",
             c->base, kind, esc, c->base, kind, esc, kind, name);
    adm_csrf_field(c, out);
    g_string_append(out, "<button class=\"danger\" type=\"submit\">Delete</button></form></td>"
                         "</tr>\n");
    g_free(esc);
}

/* The inputs of a budget and a rate limit, shared by the create forms of agents and
 * departments (and read by apply_limits). */
static void limit_inputs(AdmCtx *c, GString *out)
{
    adm_html(out, "<label>Budget in USD (empty = none) <input name=\"budget_usd\" "
                  "inputmode=\"decimal\" value=\"%s\"></label>\n"
                  "<label>Budget period <select name=\"budget_period\"><option>monthly</option>"
                  "<option>weekly</option><option>daily</option><option>lifetime</option>"
                  "</select></label>\n"
                  "<label>Requests per minute (empty = no limit) <input name=\"rpm\" "
                  "inputmode=\"numeric\" value=\"%s\"></label>\n"
                  "<label>Tokens per minute (empty = no limit) <input name=\"tpm\" "
                  "inputmode=\"numeric\" value=\"%s\"></label>\n",
             field(c, "budget_usd"), field(c, "rpm"), field(c, "tpm"));
}

static void dept_options(GString *out, json_t *depts, const char *selected)
{
    g_string_append(out, "<option value=\"\">(none)</option>");
    size_t i;
    json_t *d;
    json_array_foreach(depts, i, d) {
        const char *n = jstr(d, "name");
        adm_html(out, "<option%s>%s</option>", g_strcmp0(selected, n) == 0 ? " selected" : "", n);
    }
}

static void groups_section(AdmCtx *c, GString *out, json_t *agents, json_t *depts)
{
    g_string_append(out, "<h2 id=\"agents\">Agents</h2>\n");
    if (json_array_size(agents) == 0) {
        g_string_append(out, "<p>No agents yet.</p>\n");
    } else {
        g_string_append(out, "<table class=\"agents\"><thead><tr><th>Agent</th><th>Department</th>"
                             "<th>Virtual keys</th><th>Spend this period</th><th>Rate limits</th>"
                             "<th></th></tr></thead><tbody>\n");
        size_t i;
        json_t *a;
        json_array_foreach(agents, i, a) {
            char *keys = names_text(json_object_get(a, "virtual_keys"));
            char *limits = limits_text(a);
            const char *dept = jstr(a, "department");
            adm_html(out, "<tr><td>%s</td><td>%s</td><td>%s</td>", jstr(a, "name"),
                     dept != NULL ? dept : "none", keys);
            group_spend_cell(out, a);
            adm_html(out, "<td>%s</td>", limits);
            group_actions(c, out, "agent", jstr(a, "name"));
            g_free(keys);
            g_free(limits);
        }
        g_string_append(out, "</tbody></table>\n");
    }
    adm_html(out, "<details><summary>Create an agent</summary>\n<form class=\"stack\" "
                  "method=\"post\" action=\"%s/agents\">\n", c->base);
    adm_csrf_field(c, out);
    adm_html(out, "<label>Name (an app, service or user acting through keys) <input "
                  "name=\"agent_name\" required maxlength=\"64\" value=\"%s\"></label>\n"
                  "<label>Department <select name=\"department\">",
             field(c, "agent_name"));
    dept_options(out, depts, adm_form(c, "department"));
    g_string_append(out, "</select></label>\n");
    limit_inputs(c, out);
    g_string_append(out, "<button type=\"submit\">Create agent</button>\n</form></details>\n");

    g_string_append(out, "<h2 id=\"departments\">Departments</h2>\n");
    if (json_array_size(depts) == 0) {
        g_string_append(out, "<p>No departments yet.</p>\n");
    } else {
        g_string_append(out, "<table class=\"departments\"><thead><tr><th>Department</th>"
                             "<th>Agents</th><th>Virtual keys</th><th>Spend this period</th>"
                             "<th>Rate limits</th><th></th></tr></thead><tbody>\n");
        size_t i;
        json_t *d;
        json_array_foreach(depts, i, d) {
            char *agents_s = names_text(json_object_get(d, "agents"));
            char *keys = names_text(json_object_get(d, "virtual_keys"));
            char *limits = limits_text(d);
            adm_html(out, "<tr><td>%s</td><td>%s</td><td>%s</td>", jstr(d, "name"), agents_s,
                     keys);
            group_spend_cell(out, d);
            adm_html(out, "<td>%s</td>", limits);
            group_actions(c, out, "department", jstr(d, "name"));
            g_free(agents_s);
            g_free(keys);
            g_free(limits);
        }
        g_string_append(out, "</tbody></table>\n");
    }
    adm_html(out, "<details><summary>Create a department</summary>\n<form class=\"stack\" "
                  "method=\"post\" action=\"%s/departments\">\n", c->base);
    adm_csrf_field(c, out);
    adm_html(out, "<label>Name <input name=\"department_name\" required maxlength=\"64\" "
                  "value=\"%s\"></label>\n", field(c, "department_name"));
    limit_inputs(c, out);
    g_string_append(out, "<button type=\"submit\">Create department</button>\n</form>"
                         "</details>\n");
}

/* The whole page. token: a just-created key's token, shown once. */
static void render_vks(AdmCtx *c, int status, const char *kind, const char *notice,
                       const char *token_name, const char *token)
{
    GError *err = NULL;
    json_t *keys = NULL, *budgets = NULL, *limits = NULL, *policies = NULL;
    json_t *agents = NULL, *depts = NULL;
    GPtrArray *pks = NULL;
    if (gw_virtual_keys_json(c->store, &keys, &err) != GW_OK ||
        gw_ops_agents_json(c->store, &agents, &err) != GW_OK ||
        gw_ops_departments_json(c->store, &depts, &err) != GW_OK ||
        gw_store_budget_list_json(c->store, &budgets, &err) != GW_OK ||
        gw_store_rate_limit_list_json(c->store, &limits, &err) != GW_OK ||
        gw_store_policy_list_json(c->store, &policies, &err) != GW_OK ||
        gw_store_provider_key_list(c->store, &pks, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        json_decref(keys);
        json_decref(agents);
        json_decref(depts);
        json_decref(budgets);
        json_decref(limits);
        json_decref(policies);
        return;
    }
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Agents & Virtual Keys", "/vks");
    g_string_append(out, "<h1>Agents &amp; Virtual Keys</h1>\n");
    if (notice != NULL)
        adm_notice(out, kind, notice);
    if (token != NULL) {
        adm_html(out, "<section class=\"notice ok\"><p>Virtual key <strong>%s</strong> created. "
                      "Copy its token now: it is shown only this once.</p>\n<div class=\"token\">"
                      "<output id=\"new-token\">%s</output> <button type=\"button\" "
                      "data-copy=\"new-token\" hidden>Copy</button></div></section>\n",
                 token_name, token);
    }
    if (json_array_size(keys) == 0) {
        g_string_append(out, "<p>No virtual keys yet.</p>\n");
    } else {
        g_string_append(out, "<table class=\"vks\">\n<thead><tr><th>Name</th><th>Token</th>"
                             "<th>Targets</th><th>Models</th><th>Agent</th><th>Department</th>"
                             "<th>Status</th><th>Expires</th><th>Last used</th>"
                             "<th>Spend this period</th><th></th></tr></thead>\n<tbody>\n");
        vk_rows(c, out, keys, budgets);
        g_string_append(out, "</tbody></table>\n");
    }
    create_form(c, out, pks);
    groups_section(c, out, agents, depts);
    targets_section(c, out, pks);
    budgets_section(c, out, budgets, limits);
    policies_section(c, out, policies);
    adm_page_end(c, out);
    adm_respond_html(c, status, out);
    g_string_free(out, TRUE);
    json_decref(keys);
    json_decref(agents);
    json_decref(depts);
    json_decref(budgets);
    json_decref(limits);
    json_decref(policies);
    g_ptr_array_unref(pks);
}

static void vks_get(AdmCtx *c)
{
    /* ?for=agent:NAME (or department:, vk:) fills in the limits and policy forms. */
    const char *target = adm_query(c, "for");
    const char *colon = target != NULL ? strchr(target, ':') : NULL;
    if (colon != NULL && colon[1] != '\0') {
        char *kind = g_strndup(target, (gsize)(colon - target));
        if (strcmp(kind, "agent") == 0 || strcmp(kind, "department") == 0 ||
            strcmp(kind, "vk") == 0) {
            g_hash_table_replace(c->form, g_strdup("limit_scope"), g_strdup(kind));
            g_hash_table_replace(c->form, g_strdup("scope_name"), g_strdup(colon + 1));
            g_hash_table_replace(c->form, g_strdup("scope"), g_strdup(target));
        }
        g_free(kind);
    }
    const char *done = adm_query(c, "done");
    static const char *const messages[] = {"revoked", "Virtual key revoked.",
                                           "target", "Routing target saved.",
                                           "limits", "Limits saved.",
                                           "policy", "Policy saved.",
                                           "policy_removed", "Policy removed.",
                                           "edited", "Virtual key saved.",
                                           "agent", "Agent created.",
                                           "department", "Department created."};
    const char *msg = NULL;
    for (gsize i = 0; done != NULL && i < G_N_ELEMENTS(messages); i += 2)
        if (strcmp(done, messages[i]) == 0)
            msg = messages[i + 1];
    render_vks(c, 200, "ok", msg, NULL, NULL);
}

static void fail(AdmCtx *c, GError *err)
{
    int status = adm_status_for(err->domain == GW_ERROR ? (GwStatus)err->code : GW_EIO, NULL);
    if (status >= 500)
        adm_respond_gerror(c, err);
    else
        render_vks(c, status, "error", err->message, NULL, NULL);
    g_error_free(err);
}

static void done(AdmCtx *c, const char *what)
{
    char *to = g_strconcat("/vks?done=", what, NULL);
    adm_redirect(c, to);
    g_free(to);
}

/* Budget and rate limits of the form applied to scope/name. */
static GwStatus apply_limits(AdmCtx *c, const char *scope, const char *name, gboolean creating,
                             gboolean *any, GError **err)
{
    GwBudgetChange bc;
    GwRateChange rc;
    char *per = NULL, *prop = NULL;
    gboolean b_any = FALSE, r_any = FALSE;
    GwStatus gs = adm_budget_change_from(c, adm_field_form, &bc, &b_any, err);
    if (gs == GW_OK)
        gs = adm_rate_change_from(c, adm_field_form, &rc, &per, &prop, &r_any, err);
    /* The create form always sends a period: without an amount there is no budget to set. */
    if (creating && !bc.hard_given && !bc.soft_given)
        b_any = FALSE;
    if (gs == GW_OK && b_any)
        gs = gw_ops_budget_change(&c->ops, scope, name, &bc, NULL, err);
    if (gs == GW_OK && r_any)
        gs = gw_ops_rate_limit_change(&c->ops, scope, name, &rc, NULL, err);
    g_free(per);
    g_free(prop);
    if (any != NULL)
        *any = b_any || r_any;
    return gs;
}

static void vks_create(AdmCtx *c)
{
    GError *err = NULL;
    const char *name = adm_form_text(c, "name");
    /* Limits are checked before the key exists, so a typo there creates nothing. */
    GwBudgetChange bc;
    GwRateChange rc;
    char *per = NULL, *prop = NULL;
    gboolean any = FALSE;
    if (adm_budget_change_from(c, adm_field_form, &bc, &any, &err) != GW_OK ||
        adm_rate_change_from(c, adm_field_form, &rc, &per, &prop, &any, &err) != GW_OK) {
        fail(c, err);
        return;
    }
    g_free(per);
    g_free(prop);
    char *token = NULL;
    if (gw_ops_vk_create(&c->ops, name, adm_form_text(c, "provider_key"),
                         adm_form_text(c, "models"), adm_form_text(c, "department"),
                         adm_form_text(c, "agent"), adm_form_text(c, "expires"), &token,
                         &err) != GW_OK) {
        fail(c, err);
        return;
    }
    if (apply_limits(c, "virtual_key", name, TRUE, NULL, &err) != GW_OK) {
        char *msg = g_strdup_printf("The key was created, but its limits were not set: %s",
                                    err->message);
        g_error_free(err);
        render_vks(c, 201, "error", msg, name, token);
        g_free(msg);
    } else {
        /* The form's fields are not shown again once the key exists (name lives in it). */
        char *shown = g_strdup(name);
        g_hash_table_remove_all(c->form);
        render_vks(c, 201, "ok", NULL, shown, token);
        g_free(shown);
    }
    gw_secret_free(token);
}

static void vks_revoke(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_ops_vk_revoke(&c->ops, adm_param(c, 0), &err) != GW_OK)
        fail(c, err);
    else
        done(c, "revoked");
}

static void targets_post(AdmCtx *c)
{
    GError *err = NULL;
    const char *vk = adm_form_text(c, "vk"), *pk = adm_form_text(c, "provider_key");
    gint64 priority = 0, weight = 1;
    GwStatus gs = GW_OK;
    if (vk == NULL || pk == NULL)
        gs = gw_fail(&err, GW_EINVAL, "name the virtual key and the provider key");
    else if (g_strcmp0(adm_form(c, "remove"), "1") == 0)
        gs = gw_store_vk_target_remove(c->store, vk, pk, &err);
    else if ((gs = adm_int_field(c, adm_field_form, "priority", G_MININT32, G_MAXINT32, &priority,
                                 &err)) == GW_OK &&
             (gs = adm_int_field(c, adm_field_form, "weight", 0, 1000, &weight, &err)) == GW_OK)
        gs = gw_ops_vk_target_set(&c->ops, vk, pk, (int)priority, (int)weight,
                                  adm_form_text(c, "model_map"), &err);
    if (gs != GW_OK)
        fail(c, err);
    else
        done(c, "target");
}

static void limits_post(AdmCtx *c)
{
    GError *err = NULL;
    const char *scope = adm_form_text(c, "scope"), *name = adm_form_text(c, "scope_name");
    gboolean any = FALSE;
    GwStatus gs = GW_OK;
    if (g_strcmp0(scope, "virtual_key") != 0 && g_strcmp0(scope, "agent") != 0 &&
        g_strcmp0(scope, "department") != 0)
        gs = gw_fail(&err, GW_EINVAL, "the scope must be virtual_key, agent or department");
    else if (name == NULL)
        gs = gw_fail(&err, GW_EINVAL, "name the virtual key, agent or department");
    else if ((gs = apply_limits(c, scope, name, FALSE, &any, &err)) == GW_OK && !any)
        gs = gw_fail(&err, GW_EINVAL, "nothing to change: give a budget or a rate limit");
    if (gs != GW_OK)
        fail(c, err);
    else
        done(c, "limits");
}

static void policies_post(AdmCtx *c)
{
    GError *err = NULL;
    gint64 position = 0;
    if (adm_int_field(c, adm_field_form, "position", G_MININT32, G_MAXINT32, &position, &err) !=
            GW_OK ||
        gw_ops_policy_add(&c->ops, adm_form_text(c, "policy_name"), adm_form_text(c, "kind"),
                          adm_form_text(c, "config"), adm_form_text(c, "action"),
                          adm_form_text(c, "scope"), (int)position, NULL, &err) != GW_OK)
        fail(c, err);
    else
        done(c, "policy");
}

static void policy_remove(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_store_policy_remove(c->store, adm_param(c, 0), &err) != GW_OK)
        fail(c, err);
    else
        done(c, "policy_removed");
}

/* POST /agents and /departments: the create forms (name, [department], budget, rate limit). */
static void group_post(AdmCtx *c, gboolean agent)
{
    GError *err = NULL;
    const char *scope = agent ? "agent" : "department";
    const char *name = adm_form_text(c, agent ? "agent_name" : "department_name");
    /* Limits are checked before anything exists, so a typo there creates nothing. */
    GwBudgetChange bc;
    GwRateChange rc;
    char *per = NULL, *prop = NULL;
    gboolean any = FALSE;
    GwStatus gs = adm_budget_change_from(c, adm_field_form, &bc, &any, &err);
    if (gs == GW_OK)
        gs = adm_rate_change_from(c, adm_field_form, &rc, &per, &prop, &any, &err);
    g_free(per);
    g_free(prop);
    if (gs == GW_OK)
        gs = agent ? gw_ops_agent_create(&c->ops, name, adm_form_text(c, "department"), &err)
                   : gw_ops_department_create(&c->ops, name, &err);
    if (gs != GW_OK) {
        fail(c, err);
        return;
    }
    if (apply_limits(c, scope, name, TRUE, NULL, &err) != GW_OK) {
        char *msg = g_strdup_printf("The %s was created, but its limits were not set: %s", scope,
                                    err->message);
        g_error_free(err);
        render_vks(c, 201, "error", msg, NULL, NULL);
        g_free(msg);
        return;
    }
    done(c, scope);
}

static void agents_post(AdmCtx *c) { group_post(c, TRUE); }
static void departments_post(AdmCtx *c) { group_post(c, FALSE); }

static void group_delete_post(AdmCtx *c, gboolean agent)
{
    GError *err = NULL;
    GwGroupDeleted d;
    const char *name = adm_param(c, 0);
    GwStatus gs = agent ? gw_ops_agent_delete(&c->ops, name, &d, &err)
                        : gw_ops_department_delete(&c->ops, name, &d, &err);
    if (gs != GW_OK) {
        fail(c, err);
        return;
    }
    char *msg = gw_ops_group_deleted_text(agent ? "agent" : "department", name, &d);
    render_vks(c, 200, "ok", msg, NULL, NULL);
    g_free(msg);
}

static void agent_delete_post(AdmCtx *c) { group_delete_post(c, TRUE); }
static void department_delete_post(AdmCtx *c) { group_delete_post(c, FALSE); }

/* <option>s of the names of a listing (agents or departments), "(none)" first. */
static void name_options(GString *out, json_t *rows, const char *selected)
{
    dept_options(out, rows, selected);
}

/* The edit page of a key: allowed models, expiry, agent, department. Values come from the form
 * (after a refused save) or from the key. */
static void render_edit(AdmCtx *c, int status, const char *error)
{
    GError *err = NULL;
    const char *name = adm_param(c, 0);
    json_t *keys = NULL, *agents = NULL, *depts = NULL, *key = NULL;
    if (gw_virtual_keys_json(c->store, &keys, &err) != GW_OK ||
        gw_store_agents_json(c->store, &agents, &err) != GW_OK ||
        gw_store_departments_json(c->store, &depts, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        json_decref(keys);
        json_decref(agents);
        return;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        if (g_strcmp0(jstr(k, "name"), name) == 0)
            key = k;
    if (key == NULL) {
        adm_respond_error(c, 404, "not_found", "No virtual key with that name");
    } else {
        gboolean again = error != NULL;
        GString *models = g_string_new(NULL);
        json_t *m;
        json_array_foreach(json_object_get(key, "models"), i, m)
            g_string_append_printf(models, "%s%s", i > 0 ? "," : "", json_string_value(m));
        char *expires = NULL;
        if (jint(key, "expires_at", 0) > 0) {
            GDateTime *dt = g_date_time_new_from_unix_utc(jint(key, "expires_at", 0) / 1000);
            expires = dt != NULL ? g_date_time_format(dt, "%Y-%m-%d") : NULL;
            if (dt != NULL)
                g_date_time_unref(dt);
        }
        GString *out = g_string_new(NULL);
        adm_page_begin(c, out, "Edit virtual key", "/vks");
        adm_html(out, "<h1>Virtual key %s</h1>\n", name);
        if (error != NULL)
            adm_notice(out, "error", error);
        char *esc = g_uri_escape_string(name, NULL, TRUE);
        adm_html(out, "<form class=\"stack\" method=\"post\" action=\"%s/vks/%s/edit\">\n",
                 c->base, esc);
        adm_csrf_field(c, out);
        adm_html(out, "<label>Allowed models (comma-separated, empty = any) <input name=\"models\" "
                      "value=\"%s\"></label>\n<label>Expires (UTC date, empty = never) <input "
                      "name=\"expires\" type=\"date\" value=\"%s\"></label>\n"
                      "<label>Agent <select name=\"agent\">",
                 again ? field(c, "models") : models->str,
                 again ? field(c, "expires") : expires != NULL ? expires : "");
        name_options(out, agents, again ? field(c, "agent") : jstr(key, "agent"));
        g_string_append(out, "</select></label>\n<label>Department <select name=\"department\">");
        name_options(out, depts, again ? field(c, "department") : jstr(key, "department"));
        adm_html(out, "</select></label>\n<p class=\"hint\">Agents and departments are created on "
                      "the <a href=\"%s/vks#agents\">Agents &amp; Virtual Keys</a> page. Routing "
                      "targets, budget and rate limits: <a href=\"%s/vks?for=vk:%s#limits\">there"
                      "</a> too.</p>\n<button type=\"submit\">Save</button>\n</form>\n",
                 c->base, c->base, esc);
        adm_page_end(c, out);
        adm_respond_html(c, status, out);
        g_string_free(out, TRUE);
        g_string_free(models, TRUE);
        g_free(expires);
        g_free(esc);
    }
    json_decref(keys);
    json_decref(agents);
    json_decref(depts);
}

static void vk_edit_get(AdmCtx *c)
{
    render_edit(c, 200, NULL);
}

static void vk_edit_post(AdmCtx *c)
{
    GError *err = NULL;
    /* The form sends every field: an empty one clears (any model, never, none); a missing one
     * keeps the stored value. */
    GwVkEditText t = {adm_form(c, "models"), adm_form(c, "expires"), adm_form(c, "agent"),
                      adm_form(c, "department")};
    if (gw_ops_vk_edit(&c->ops, adm_param(c, 0), &t, &err) != GW_OK) {
        int status = adm_status_for(err->domain == GW_ERROR ? (GwStatus)err->code : GW_EIO, NULL);
        if (status >= 500)
            adm_respond_gerror(c, err);
        else
            render_edit(c, status, err->message);
        g_error_free(err);
        return;
    }
    done(c, "edited");
}

const AdmRoute adm_routes_vks[] = {
    {"GET", "/vks", vks_get, ADM_ROLE_ADMIN},
    {"POST", "/vks", vks_create, ADM_ROLE_ADMIN},
    {"POST", "/vks/{name}/revoke", vks_revoke, ADM_ROLE_ADMIN},
    {"GET", "/vks/{name}/edit", vk_edit_get, ADM_ROLE_ADMIN},
    {"POST", "/vks/{name}/edit", vk_edit_post, ADM_ROLE_ADMIN},
    {"POST", "/agents", agents_post, ADM_ROLE_ADMIN},
    {"POST", "/agents/{name}/delete", agent_delete_post, ADM_ROLE_ADMIN},
    {"POST", "/departments", departments_post, ADM_ROLE_ADMIN},
    {"POST", "/departments/{name}/delete", department_delete_post, ADM_ROLE_ADMIN},
    {"POST", "/targets", targets_post, ADM_ROLE_ADMIN},
    {"POST", "/limits", limits_post, ADM_ROLE_ADMIN},
    {"POST", "/policies", policies_post, ADM_ROLE_ADMIN},
    {"POST", "/policies/{name}/remove", policy_remove, ADM_ROLE_ADMIN},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
