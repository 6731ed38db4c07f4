/* enforce.c — policies, rate limits and budgets for one request.
 *
 * - Policies: the enabled policies of the key, its agent, its department and global ones, in
 *   order; every decision is recorded on the log row; the first block answers 403
 *   policy_violation with the policy's name and a reason that never echoes client data.
 * - Rate limits: GCRA buckets in shared memory (ratelimit.c), one per rule and subject (the key,
 *   the rate-limit client IP, the session or a property value). Token limits are checked before
 *   forwarding (is the bucket exhausted?) and charged with the actual usage afterwards; request
 *   limits are taken atomically, so N workers never let more than the limit through.
 * - Budgets: the request's most possible cost is reserved in SQLite against every budget that
 *   applies (one transaction for all of them), and settled to the actual cost afterwards. */
#include "config.h"
#include "enforce.h"

#include <string.h>
#include "budget.h"
#include "cost.h"
#include "policy.h"
#include "ratelimit.h"
#include "uuid.h"

/* A token bucket to charge after the response. */
typedef struct {
    char *key;
    gint64 limit;
    gint64 window_ms;
} TokenCharge;

static void token_charge_free(gpointer p)
{
    TokenCharge *t = p;
    g_free(t->key);
    g_free(t);
}

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

static void add_header(GwCall *call, const char *name, char *value_take)
{
    if (call->limit_headers == NULL)
        call->limit_headers = g_ptr_array_new_with_free_func(header_free);
    GwHeader *h = g_new(GwHeader, 1);
    h->name = g_strdup(name);
    h->value = value_take;
    g_ptr_array_add(call->limit_headers, h);
}

static gint64 request_max_tokens(json_t *body)
{
    json_t *v = json_object_get(body, "max_completion_tokens");
    if (!json_is_integer(v))
        v = json_object_get(body, "max_tokens");
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* ---- policies ---- */

gboolean gw_enforce_policies(GwCall *call)
{
    GwWorker *w = call->worker;
    const GwVirtualKey *vk = call->vk;
    GPtrArray *policies = NULL;
    GError *err = NULL;
    if (gw_store_policies_for_key(w->store, vk->id, vk->agent_id, vk->department_id, &policies,
                                  &err) != GW_OK) {
        /* Fail closed: a policy that cannot be read must not be skipped. */
        g_warning("policies of virtual key %" G_GINT64_FORMAT ": %s", vk->id, err->message);
        g_error_free(err);
        gw_call_fail(call, GW_E_UNAVAILABLE, "The gateway cannot read its policies right now; "
                     "retry shortly");
        return FALSE;
    }
    if (policies->len == 0) {
        g_ptr_array_unref(policies);
        return TRUE;
    }
    GHashTable *props = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *tp = call->tracking.properties;
    for (guint i = 0; tp != NULL && i < tp->len; i++) {
        GwProperty *p = g_ptr_array_index(tp, i);
        g_hash_table_insert(props, p->name, p->value);
    }
    GwPolicyInput in = {
        .model = call->model,
        .body = call->json,
        .body_bytes = call->req->body != NULL ? call->req->body->len : 0,
        .max_tokens = request_max_tokens(call->json),
        .client_ip = call->tracking.client_ip,
        .country = call->tracking.country,
        .properties = props,
        .now_ms = g_get_real_time() / 1000,
    };
    GPtrArray *decisions = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_decision_free);
    const GwPolicyDecision *blocking = NULL;
    gboolean blocked = gw_policy_evaluate(policies, &in, decisions, &blocking);
    gboolean flagged = FALSE;
    for (guint i = 0; i < decisions->len; i++) {
        const GwPolicyDecision *d = g_ptr_array_index(decisions, i);
        GwLogDecision *ld = g_new0(GwLogDecision, 1);
        ld->policy_id = d->policy_id;
        ld->policy_name = g_strdup(d->policy_name);
        ld->rule = g_strdup(d->rule);
        ld->decision = g_strdup(d->decision);
        ld->reason = g_strdup(d->reason);
        g_ptr_array_add(call->log->decisions, ld);
        flagged |= strcmp(d->decision, "flag") == 0;
    }
    call->log->policy_result = g_strdup(blocked ? "block" : flagged ? "flag" : "allow");
    if (blocked) {
        char *msg = g_strdup_printf("Request blocked by policy '%s': %s", blocking->policy_name,
                                    blocking->reason != NULL ? blocking->reason : "not allowed");
        gw_call_fail(call, GW_E_POLICY_VIOLATION, msg);
        g_free(msg);
    }
    g_ptr_array_unref(decisions);
    g_hash_table_unref(props);
    g_ptr_array_unref(policies);
    return !blocked;
}

/* ---- rate limits ---- */

/* OpenAI-style reset durations: "850ms", "12s", "6m0s", "1h2m3s". */
static char *format_reset(gint64 ms)
{
    if (ms < 1000)
        return g_strdup_printf("%" G_GINT64_FORMAT "ms", MAX(ms, 0));
    gint64 s = (ms + 999) / 1000;
    if (s < 60)
        return g_strdup_printf("%" G_GINT64_FORMAT "s", s);
    if (s < 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT "m%" G_GINT64_FORMAT "s", s / 60, s % 60);
    return g_strdup_printf("%" G_GINT64_FORMAT "h%" G_GINT64_FORMAT "m%" G_GINT64_FORMAT "s",
                           s / 3600, s / 60 % 60, s % 60);
}

/* The subject a rule counts per, or NULL when the rule does not apply to this request. */
static const char *rule_subject(const GwCall *call, const GwRateRule *r)
{
    const GwTracking *t = &call->tracking;
    if (strcmp(r->per, "key") == 0)
        return "";
    if (strcmp(r->per, "ip") == 0)
        return t->ratelimit_ip[0] != '\0' ? t->ratelimit_ip : "unknown";
    if (strcmp(r->per, "session") == 0)
        return t->session_id;
    if (strcmp(r->per, "property") == 0) {
        for (guint i = 0; t->properties != NULL && i < t->properties->len; i++) {
            GwProperty *p = g_ptr_array_index(t->properties, i);
            if (strcmp(p->name, r->property) == 0)
                return p->value;
        }
    }
    return NULL;
}

static void refuse_rate(GwCall *call, const GwRateRule *r, const GwRateDecision *d,
                        const char *unit, gint64 limit)
{
    gint64 retry_s = d->retry_after_ms >= 0 ? MAX((d->retry_after_ms + 999) / 1000, 1)
                                            : r->window_ms / 1000;
    add_header(call, "Retry-After", g_strdup_printf("%" G_GINT64_FORMAT, retry_s));
    char *msg = g_strdup_printf("Rate limit reached: %" G_GINT64_FORMAT " %s per %" G_GINT64_FORMAT
                                " s (%s limit, counted per %s). Retry after %" G_GINT64_FORMAT " s.",
                                limit, unit, r->window_ms / 1000, r->scope, r->per, retry_s);
    gw_call_fail(call, GW_E_RATE_LIMITED, msg);
    g_free(msg);
}

/* Remaining-quota headers of the most constrained bucket of each kind. */
static void limit_headers(GwCall *call, const char *kind, const GwRateDecision *d)
{
    char name[48];
    g_snprintf(name, sizeof(name), "x-ratelimit-limit-%s", kind);
    add_header(call, name, g_strdup_printf("%" G_GINT64_FORMAT, d->limit));
    g_snprintf(name, sizeof(name), "x-ratelimit-remaining-%s", kind);
    add_header(call, name, g_strdup_printf("%" G_GINT64_FORMAT, d->remaining));
    g_snprintf(name, sizeof(name), "x-ratelimit-reset-%s", kind);
    add_header(call, name, format_reset(d->reset_ms));
}

gboolean gw_enforce_rate_limits(GwCall *call)
{
    GwWorker *w = call->worker;
    GwRateLimiter *rl = w->proc->ratelimiter;
    const GwVirtualKey *vk = call->vk;
    GPtrArray *rules = NULL;
    GError *err = NULL;
    if (rl == NULL)
        return TRUE;
    if (gw_store_rate_limits_for_key(w->store, vk->id, vk->agent_id, vk->department_id, &rules,
                                     &err) != GW_OK) {
        g_warning("rate limits of virtual key %" G_GINT64_FORMAT ": %s", vk->id, err->message);
        g_error_free(err);
        gw_call_fail(call, GW_E_UNAVAILABLE, "The gateway cannot read its rate limits right now; "
                     "retry shortly");
        return FALSE;
    }
    gboolean ok = TRUE, have_req = FALSE, have_tok = FALSE;
    GwRateDecision req_min = { 0 }, tok_min = { 0 };
    /* Token buckets first (a check, no charge), so a request refused for tokens takes no
     * request unit. */
    for (guint pass = 0; pass < 2 && ok; pass++) {
        for (guint i = 0; i < rules->len && ok; i++) {
            const GwRateRule *r = g_ptr_array_index(rules, i);
            gint64 limit = pass == 0 ? r->max_tokens : r->max_requests;
            const char *subject = rule_subject(call, r);
            if (limit < 0 || subject == NULL)
                continue;
            char *key = g_strdup_printf("rl%" G_GINT64_FORMAT "|%c|%s", r->id, pass == 0 ? 't' : 'r',
                                        subject);
            GwRateDecision d;
            gw_ratelimit_take(rl, key, limit, r->window_ms, pass == 0 ? 0 : 1, &d);
            if (!d.allowed) {
                refuse_rate(call, r, &d, pass == 0 ? "tokens" : "requests", limit);
                ok = FALSE;
            } else if (pass == 0) {
                if (!have_tok || d.remaining < tok_min.remaining)
                    tok_min = d;
                have_tok = TRUE;
                TokenCharge *tc = g_new(TokenCharge, 1);
                tc->key = g_strdup(key);
                tc->limit = limit;
                tc->window_ms = r->window_ms;
                if (call->token_charges == NULL)
                    call->token_charges = g_ptr_array_new_with_free_func(token_charge_free);
                g_ptr_array_add(call->token_charges, tc);
            } else {
                if (!have_req || d.remaining < req_min.remaining)
                    req_min = d;
                have_req = TRUE;
            }
            g_free(key);
        }
    }
    if (ok && have_req)
        limit_headers(call, "requests", &req_min);
    if (ok && have_tok)
        limit_headers(call, "tokens", &tok_min);
    g_ptr_array_unref(rules);
    return ok;
}

/* ---- budgets ---- */

static char *format_time(gint64 ms)
{
    if (ms == G_MAXINT64)
        return g_strdup("never (lifetime budget)");
    GDateTime *dt = g_date_time_new_from_unix_utc(ms / 1000);
    char *s = dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("?");
    if (dt != NULL)
        g_date_time_unref(dt);
    return s;
}

gboolean gw_enforce_budget(GwCall *call)
{
    GwWorker *w = call->worker;
    const GwVirtualKey *vk = call->vk;
    const GwConf *conf = w->proc->conf;
    gint64 now = g_get_real_time() / 1000;
    GError *err = NULL;

    /* The most this request can cost: every body byte a prompt token, and the largest
     * completion it may ask for. Without a price the amount is unbounded, so a hard budget
     * refuses it rather than letting unpriced spend through. */
    GwPrice price = { 0 };
    gboolean priced = call->model != NULL &&
                      gw_store_price_find(w->store, call->model, now, &price, NULL) == GW_OK;
    gint64 amount = G_MAXINT64 / 4;
    if (priced) {
        gint64 max_out = request_max_tokens(call->json);
        if (max_out < 0 && gw_store_price_max_output(w->store, call->model, &max_out, NULL) != GW_OK)
            max_out = -1;
        if (max_out < 0)
            max_out = 32768; /* no known cap: a generous upper bound */
        gsize bytes = call->upstream_body != NULL ? g_bytes_get_size(call->upstream_body) : 0;
        amount = gw_budget_estimate_nanos(&price, gw_budget_estimate_prompt_tokens(bytes), max_out);
    }
    gw_price_clear(&price);

    char id[GW_UUID_STR_LEN + 1];
    gw_uuid_v7(id);
    GwBudgetBlock blocked = { 0 };
    /* Outlasts the longest this request can take (every attempt at its full timeout plus the
     * largest backoff), so only a reservation of a worker that died ever expires. */
    gint64 ttl = (gint64)conf->max_attempts * ((gint64)conf->request_timeout_ms + 5000) + 10000;
    GwStatus st = gw_store_budget_reserve(w->store, vk->id, vk->agent_id, vk->department_id, id,
                                          amount, now, ttl, &blocked, &err);
    if (st == GW_OK) {
        call->reservation_id = g_strdup(id);
        call->reservation_priced = priced;
        return TRUE;
    }
    if (st == GW_ETOOBIG) {
        if (!priced) {
            gw_call_fail(call, GW_E_BUDGET_UNPRICED, "A budget applies to this virtual key but the "
                         "requested model has no price, so its cost cannot be bounded; ask the "
                         "operator to add one (alephantctl price set)");
        } else {
            char *spent = gw_cost_format_usd(blocked.spent_nanos + blocked.reserved_nanos);
            char *hard = gw_cost_format_usd(blocked.hard_nanos);
            char *reset = format_time(blocked.reset_at_ms);
            char *msg = g_strdup_printf("Budget exceeded: the %s budget of %s '%s' is $%s "
                                        "($%s spent or reserved); it resets at %s",
                                        blocked.period, strcmp(blocked.scope, "virtual_key") == 0
                                                            ? "virtual key" : blocked.scope,
                                        blocked.name != NULL ? blocked.name : "?", hard, spent,
                                        reset);
            gw_call_fail(call, GW_E_BUDGET_EXCEEDED, msg);
            g_free(msg);
            g_free(reset);
            g_free(hard);
            g_free(spent);
        }
        g_clear_error(&err);
        gw_budget_block_clear(&blocked);
        return FALSE;
    }
    g_warning("budget reservation failed: %s", err != NULL ? err->message : "?");
    g_clear_error(&err);
    gw_budget_block_clear(&blocked);
    gw_call_fail(call, GW_E_UNAVAILABLE, "The gateway cannot check its budgets right now; retry "
                 "shortly");
    return FALSE;
}

void gw_enforce_finish(GwCall *call)
{
    GwWorker *w = call->worker;
    const GwLogRow *log = call->log;
    if (call->token_charges != NULL) {
        gint64 tokens = log->total_tokens >= 0 ? log->total_tokens
                        : MAX(log->prompt_tokens, 0) + MAX(log->completion_tokens, 0);
        for (guint i = 0; tokens > 0 && i < call->token_charges->len; i++) {
            TokenCharge *tc = g_ptr_array_index(call->token_charges, i);
            gw_ratelimit_charge(w->proc->ratelimiter, tc->key, tc->limit, tc->window_ms, tokens);
        }
    }
    if (call->reservation_id == NULL)
        return;
    /* What to charge: the cost when known; for an unpriced model nothing can be known (the row
     * says unknown_model); a successful answer whose usage is missing keeps the whole
     * reservation (fail safe); a request that failed before any answer costs nothing. */
    gint64 actual;
    if (log->cost_nanos >= 0)
        actual = log->cost_nanos;
    else if (!call->reservation_priced)
        actual = 0;
    else if (log->status >= 200 && log->status < 300)
        actual = -1;
    else
        actual = 0;
    GError *err = NULL;
    if (gw_store_budget_settle(w->store, call->reservation_id, actual, g_get_real_time() / 1000,
                               &err) != GW_OK) {
        /* The reservation expires on its own; until then it keeps counting (fail safe). */
        g_warning("budget settlement failed: %s", err->message);
        g_error_free(err);
    }
}

void gw_enforce_clear(GwCall *call)
{
    g_clear_pointer(&call->limit_headers, g_ptr_array_unref);
    g_clear_pointer(&call->token_charges, g_ptr_array_unref);
    g_clear_pointer(&call->reservation_id, g_free);
}
