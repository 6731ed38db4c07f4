/* cmd_limits.c — alephantctl commands for spend budgets and rate limits: `vk|agent|department
 * update NAME` with budget and rate-limit flags, `budget list` and `ratelimit list`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "budget.h"
#include "conf.h"
#include "cost.h"
#include "ctl.h"
#include "ops_limits.h"
#include "store.h"

#define DEFAULT_WINDOW_S 60
#define MAX_WINDOW_S (30 * 86400) /* the store's limit */
#define PROPERTY_NAME_MAX 64 /* as the tracking headers allow */

/* ---- helpers ---- */

/* Whole non-negative decimal integer up to max. */
static gboolean parse_count(const char *s, gint64 max, gint64 *out)
{
    if (s == NULL || !g_ascii_isdigit(*s))
        return FALSE;
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(s, 10, 0, (guint64)max, &v, NULL))
        return FALSE;
    *out = (gint64)v;
    return TRUE;
}

static char *usd_text(gint64 nanos)
{
    if (nanos < 0)
        return g_strdup("none");
    char *n = gw_cost_format_usd(nanos);
    char *s = g_strdup_printf("%s USD", n);
    g_free(n);
    return s;
}

/* ---- update NAME ---- */

typedef struct {
    /* budget */
    gboolean budget_given, soft_given, no_budget;
    gint64 hard, soft;              /* -1 = none */
    const char *period;             /* NULL = keep (new budgets: monthly) */
    int reset_day;                  /* 0 = keep (new budgets, or a new period: 1) */
    /* rate limit */
    gboolean rpm_given, tpm_given;
    gint64 rpm, tpm;                /* -1 = none */
    gint64 window_ms;               /* 0 = keep (new rules: 60 s) */
    char *per;                      /* key | ip | session | property */
    char *property;                 /* lower-cased, for per = property */
} Update;

/* "none" or a USD amount. */
static int parse_budget_arg(const char *flag, const char *s, gint64 *out)
{
    if (strcmp(s, "none") == 0) {
        *out = -1;
        return 0;
    }
    if (!gw_cost_parse_usd(s, out))
        return usage_error("%s must be a USD amount such as 25 or 12.50 (at most 1000000), "
                           "or none",
                           flag);
    return 0;
}

/* "none" or a whole number. */
static int parse_limit_arg(const char *flag, const char *s, gint64 *out)
{
    if (strcmp(s, "none") == 0) {
        *out = -1;
        return 0;
    }
    if (!parse_count(s, G_MAXINT32, out))
        return usage_error("%s must be a whole number or none", flag);
    return 0;
}

static int parse_update(Update *u, const char *budget_s, const char *soft_s,
                        const char *period_s, const char *reset_s, const char *rpm_s,
                        const char *tpm_s, const char *window_s, const char *per_s)
{
    int rc = 0;
    if (u->no_budget && (budget_s != NULL || soft_s != NULL || period_s != NULL ||
                         reset_s != NULL))
        return usage_error("--no-budget cannot be combined with other budget options");
    u->budget_given = budget_s != NULL;
    u->soft_given = soft_s != NULL;
    if (budget_s != NULL && (rc = parse_budget_arg("--budget", budget_s, &u->hard)) != 0)
        return rc;
    if (soft_s != NULL && (rc = parse_budget_arg("--soft-budget", soft_s, &u->soft)) != 0)
        return rc;
    GwBudgetPeriod p = GW_PERIOD_MONTHLY;
    if (period_s != NULL) {
        if (!gw_budget_period_parse(period_s, &p))
            return usage_error("--budget-period must be daily, weekly, monthly or lifetime");
        u->period = gw_budget_period_name(p);
    }
    if (reset_s != NULL) {
        gint64 d = 0;
        if (!parse_count(reset_s, 28, &d) || d < 1)
            return usage_error("--reset-day must be 1-7 (weekly: 1 = Monday) or 1-28 "
                               "(monthly)");
        u->reset_day = (int)d;
        if (period_s != NULL && !gw_budget_reset_day_ok(p, u->reset_day))
            return usage_error("--reset-day must be 1-7 for weekly budgets");
        if (period_s != NULL && (p == GW_PERIOD_DAILY || p == GW_PERIOD_LIFETIME))
            return usage_error("--reset-day applies to weekly and monthly budgets only");
    }

    u->rpm_given = rpm_s != NULL;
    u->tpm_given = tpm_s != NULL;
    if (rpm_s != NULL && (rc = parse_limit_arg("--rpm", rpm_s, &u->rpm)) != 0)
        return rc;
    if (tpm_s != NULL && (rc = parse_limit_arg("--tpm", tpm_s, &u->tpm)) != 0)
        return rc;
    if ((window_s != NULL || per_s != NULL) && !u->rpm_given && !u->tpm_given)
        return usage_error("--window and --per qualify a limit: give --rpm or --tpm");
    if (window_s != NULL) {
        gint64 w = 0;
        if (!parse_count(window_s, MAX_WINDOW_S, &w) || w < 1)
            return usage_error("--window must be 1 to %d seconds", MAX_WINDOW_S);
        u->window_ms = w * 1000;
    }
    GError *perr = NULL;
    if (gw_ops_rate_per_parse(per_s, &u->per, &u->property, &perr) != GW_OK) {
        /* Checked here too so a bad name does not leave the budget half-updated. */
        rc = usage_error("--per: %s", perr->message);
        g_error_free(perr);
        return rc;
    }
    if (!u->budget_given && !u->soft_given && !u->no_budget && period_s == NULL &&
        reset_s == NULL && !u->rpm_given && !u->tpm_given)
        return usage_error("nothing to update: give budget or rate-limit options");
    return 0;
}

/* Applies the budget options on top of the existing budget (lib/ops_limits.c). */
static GwStatus apply_budget(GwStore *st, const Update *u, const char *scope, const char *noun,
                             const char *name, GError **err)
{
    GwOps ops = {.store = st};
    GwBudgetChange ch = {
        .remove = u->no_budget,
        .hard_given = u->budget_given,
        .soft_given = u->soft_given,
        .hard_nanos = u->hard,
        .soft_nanos = u->soft,
        .period = u->period,
        .reset_day = u->reset_day,
    };
    GwBudgetResult res;
    GwStatus gs = gw_ops_budget_change(&ops, scope, name, &ch, &res, err);
    if (gs != GW_OK)
        return gs;
    if (res.removed) {
        fprintf(stderr, "alephantctl: %s '%s': budget removed\n", noun, name);
    } else {
        char *h = usd_text(res.hard_nanos), *s = usd_text(res.soft_nanos);
        gboolean has_day = strcmp(res.period, "weekly") == 0 || strcmp(res.period, "monthly") == 0;
        char *reset = has_day ? g_strdup_printf(" (reset day %d)", res.reset_day) : g_strdup("");
        fprintf(stderr, "alephantctl: %s '%s': %s budget%s: hard %s, soft %s\n", noun, name,
                res.period, reset, h, s);
        g_free(reset);
        g_free(h);
        g_free(s);
    }
    return GW_OK;
}

/* Applies --rpm/--tpm/--window on top of the existing rule for the same --per. */
static GwStatus apply_rate(GwStore *st, const Update *u, const char *scope, const char *noun,
                           const char *name, GError **err)
{
    GwOps ops = {.store = st};
    GwRateChange ch = {
        .per = u->per,
        .property = u->property,
        .rpm_given = u->rpm_given,
        .tpm_given = u->tpm_given,
        .rpm = u->rpm,
        .tpm = u->tpm,
        .window_ms = u->window_ms,
    };
    GwRateResult res;
    GwStatus gs = gw_ops_rate_limit_change(&ops, scope, name, &ch, &res, err);
    if (gs != GW_OK)
        return gs;
    char *per = *u->property != '\0' ? g_strdup_printf("property %s", u->property)
                                     : g_strdup(u->per);
    if (res.rpm < 0 && res.tpm < 0) {
        fprintf(stderr, "alephantctl: %s '%s': rate limit per %s removed\n", noun, name, per);
    } else {
        char *r = res.rpm >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, res.rpm) : g_strdup("any");
        char *t = res.tpm >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, res.tpm) : g_strdup("any");
        fprintf(stderr,
                "alephantctl: %s '%s': per %s at most %s requests and %s tokens per %" G_GINT64_FORMAT
                " s\n",
                noun, name, per, r, t, res.window_ms / 1000);
        g_free(r);
        g_free(t);
    }
    g_free(per);
    return GW_OK;
}

static int limits_update(const char *scope, const char *noun, int argc, char **argv)
{
    char *budget_s = NULL, *soft_s = NULL, *period_s = NULL, *reset_s = NULL, *rpm_s = NULL,
         *tpm_s = NULL, *window_s = NULL, *per_s = NULL;
    Update u = {.hard = -1, .soft = -1, .rpm = -1, .tpm = -1};
    GOptionEntry entries[] = {
        {"budget", 0, 0, G_OPTION_ARG_STRING, &budget_s,
         "Hard spend limit per period in USD: requests that could exceed it are refused "
         "(none: remove)",
         "USD"},
        {"soft-budget", 0, 0, G_OPTION_ARG_STRING, &soft_s,
         "Soft limit in USD: reaching it is recorded as an alert (none: remove)", "USD"},
        {"budget-period", 0, 0, G_OPTION_ARG_STRING, &period_s,
         "daily, weekly, monthly (default for a new budget) or lifetime; periods are UTC",
         "PERIOD"},
        {"reset-day", 0, 0, G_OPTION_ARG_STRING, &reset_s,
         "Day the period starts: weekly 1 (Monday) … 7 (Sunday), monthly 1 … 28 (default 1)",
         "N"},
        {"no-budget", 0, 0, G_OPTION_ARG_NONE, &u.no_budget,
         "Remove the budget (and its spend history)", NULL},
        {"rpm", 0, 0, G_OPTION_ARG_STRING, &rpm_s,
         "At most N requests per window (none: no request limit)", "N"},
        {"tpm", 0, 0, G_OPTION_ARG_STRING, &tpm_s,
         "At most N tokens per window (none: no token limit)", "N"},
        {"window", 0, 0, G_OPTION_ARG_STRING, &window_s,
         "Rate-limit window in seconds (default 60)", "SECONDS"},
        {"per", 0, 0, G_OPTION_ARG_STRING, &per_s,
         "Count the rate limit per key (all traffic, default), ip, session or "
         "property:NAME (each value of a request property)",
         "WHAT"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    char *summary = g_strdup_printf("Set the spend budget and rate limits of a %s.", noun);
    int rc = parse_options("NAME", summary,
                           "Options not given keep their current value. A rate limit is one rule "
                           "per --per; setting both --rpm none and --tpm none removes it.\n"
                           "Example: --budget 50 --soft-budget 40 --budget-period weekly "
                           "--reset-day 1 --rpm 600 --tpm 200000 --per ip",
                           entries, &argc, &argv);
    g_free(summary);
    if (rc == 0 && argc != 2)
        rc = argc < 2 ? usage_error("the %s NAME is required", noun)
                      : usage_error("unexpected argument '%s'", argv[2]);
    if (rc == 0)
        rc = parse_update(&u, budget_s, soft_s, period_s, reset_s, rpm_s, tpm_s, window_s,
                          per_s);
    if (rc == 0) {
        const char *name = argv[1];
        GwStore *st = NULL;
        GError *err = NULL;
        gboolean budget = u.no_budget || u.budget_given || u.soft_given || period_s != NULL ||
                          reset_s != NULL;
        if (ctl_open_store(&st, &err) != GW_OK ||
            (budget && apply_budget(st, &u, scope, noun, name, &err) != GW_OK) ||
            ((u.rpm_given || u.tpm_given) && apply_rate(st, &u, scope, noun, name, &err) != GW_OK))
            rc = report(err);
        gw_store_close(st);
    }
    g_free(budget_s);
    g_free(soft_s);
    g_free(period_s);
    g_free(reset_s);
    g_free(rpm_s);
    g_free(tpm_s);
    g_free(window_s);
    g_free(per_s);
    g_free(u.per);
    g_free(u.property);
    return rc;
}

int cmd_vk_update(int argc, char **argv)
{
    return limits_update("virtual_key", "virtual key", argc, argv);
}

int cmd_agent_update(int argc, char **argv)
{
    return limits_update("agent", "agent", argc, argv);
}

int cmd_department_update(int argc, char **argv)
{
    return limits_update("department", "department", argc, argv);
}

/* ---- lists ---- */

static char *usd_cell(json_t *o, const char *key)
{
    const char *s = jstr(o, key);
    return g_strdup(s != NULL ? s : "-");
}

int cmd_budget_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List budgets with the spend and reservations of their current "
                          "period (amounts in USD).",
                          &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_store_list_json(gw_store_budget_list_json, &rows, &err) != GW_OK)
        return report(err);
    if (as_json)
        return print_json(rows);
    const char *head[] = {"SCOPE",  "NAME",     "PERIOD", "HARD $",     "SOFT $",
                          "SPENT $", "RESERVED $", "RESETS", "SOFT ALERT"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, scope_label(jstr(r, "scope")));
        table_add(t, jstr(r, "name"));
        const char *period = jstr(r, "period");
        gint64 day = jint_or(r, "reset_day", 1);
        table_take(t, g_strcmp0(period, "weekly") == 0 || g_strcmp0(period, "monthly") == 0
                          ? g_strdup_printf("%s/%" G_GINT64_FORMAT, period, day)
                          : g_strdup(period));
        table_take(t, usd_cell(r, "hard_limit_usd"));
        table_take(t, usd_cell(r, "soft_limit_usd"));
        table_take(t, usd_cell(r, "spent_usd"));
        table_take(t, usd_cell(r, "reserved_usd"));
        table_take(t, fmt_time(jint_or(r, "period_end", -1)));
        table_take(t, fmt_time(jint_or(r, "soft_alerted_at", -1)));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

int cmd_ratelimit_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List rate-limit rules.", &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_store_list_json(gw_store_rate_limit_list_json, &rows, &err) != GW_OK)
        return report(err);
    if (as_json)
        return print_json(rows);
    const char *head[] = {"SCOPE", "NAME", "PER", "REQUESTS", "TOKENS", "WINDOW"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, scope_label(jstr(r, "scope")));
        table_add(t, jstr(r, "name"));
        const char *prop = jstr(r, "property");
        table_take(t, prop != NULL && *prop != '\0' ? g_strdup_printf("property:%s", prop)
                                                    : g_strdup(jstr(r, "per")));
        gint64 req = jint_or(r, "max_requests", -1), tok = jint_or(r, "max_tokens", -1);
        table_take(t, req >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, req) : NULL);
        table_take(t, tok >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, tok) : NULL);
        table_take(t, g_strdup_printf("%" G_GINT64_FORMAT "s", jint_or(r, "window_ms", 0) / 1000));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}
