/* policy.h — request policies: validating and compiling a policy's JSON config, and evaluating
 * compiled policies against one request (pure: no I/O, no clock; the caller passes the time). */
#ifndef GW_POLICY_H
#define GW_POLICY_H

#include <glib.h>
#include <jansson.h>
#include "status.h"

/* Kinds and their config (a JSON object; unknown members are refused so typos do not silently
 * disable a rule). Lists must be non-empty (at most GW_POLICY_LIST_MAX entries).
 *
 *   model_allow        {"models": ["gpt-4o*", "claude-3-5-*"]}   globs: * and ? (GPatternSpec),
 *   model_deny         {"models": [...]}                          matched ASCII case-insensitively
 *       A request without a model (GET /v1/models, …) passes both: there is nothing to judge.
 *   ip_allow / ip_deny {"cidrs": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]}
 *       On the policy client IP. Unknown IP: allow lists block, deny lists pass.
 *   country_allow / country_deny {"countries": ["US", "DE"]}  ISO alpha-2 (or "T1" for Tor)
 *       Unknown country: allow lists block, deny lists pass.
 *   max_tokens         {"max": N}  the request's max_tokens / max_completion_tokens; absent passes
 *   max_request_bytes  {"max": N}  body size in bytes
 *   max_messages       {"max": N}  length of "messages"; absent passes
 *       A value equal to max passes.
 *   forbidden_params   {"params": ["logit_bias", "tools"]}  top-level body members (any value,
 *       including null, counts as present)
 *   required_properties {"properties": ["environment"]}  alephant-property-* names (the prefix
 *       may be written; names are lower-cased) that must be present
 *   content_regex      {"pattern": "…", "case_insensitive": false, "max_scan_bytes": N}
 *       GRegex (PCRE) searched in every message text: string content and the "text" of content
 *       parts, in messages of every role (system included), plus top-level "system", "prompt" and
 *       "input" (string, list of strings or parts, or list of messages). Empty matches do not
 *       count. The work is bounded: the pattern is at most GW_POLICY_PATTERN_MAX bytes, compiled
 *       with G_REGEX_OPTIMIZE (JIT), PCRE's match limit applies, and at most max_scan_bytes
 *       (default GW_POLICY_SCAN_DEFAULT, at most GW_POLICY_SCAN_MAX) of text are scanned per
 *       request. Fails closed: text over the cap, or a match that hits PCRE's limits, gets the
 *       policy's action as if it matched (padding a prompt must not slip past a block).
 *   hours              {"utc_hours": "9-17"} or {"utc_hours": "9-17,20-22"} or
 *                      {"utc_hours": [[9, 17], [20, 22]]}
 *       Allowed UTC hours, each range [start, end) with start 0-23, end 0-24, start != end;
 *       start > end wraps midnight ("22-6" = 22:00-05:59). Outside them: the action.
 *
 * Every decision has rule = the kind. Reasons never echo request content or client values (the
 * model, IP, country, matched text): they are safe to return to the client. */

#define GW_POLICY_NAME_MAX 128
#define GW_POLICY_CONFIG_MAX (64 * 1024)
#define GW_POLICY_LIST_MAX 1000
#define GW_POLICY_PATTERN_MAX 4096
#define GW_POLICY_SCAN_DEFAULT (2 * 1024 * 1024)
#define GW_POLICY_SCAN_MAX (16 * 1024 * 1024)

/* Compiled and immutable after compile; reference-counted so a worker can keep compiled policies
 * across requests (compiling a regex costs far more than evaluating it). */
typedef struct GwPolicy GwPolicy;

/* Validates name (1-GW_POLICY_NAME_MAX of A-Z a-z 0-9 . _ -), kind, action ("block", "flag";
 * NULL = "block") and config (JSON text, duplicate keys refused) and compiles them. Bad regex,
 * CIDR, glob, country, hour range, unknown kind, wrong JSON shape → GW_EINVAL with a message
 * (naming the member; the operator's own config is echoed, request data never is). */
GwStatus gw_policy_compile(gint64 id, const char *name, const char *kind, const char *config_json,
                           const char *action, GwPolicy **out, GError **err);
/* Adds a reference (returns p). */
GwPolicy *gw_policy_ref(GwPolicy *p);
/* Drops a reference; the last one frees the policy. NULL is ignored. */
void gw_policy_free(GwPolicy *p);

gint64 gw_policy_id(const GwPolicy *p);
const char *gw_policy_name(const GwPolicy *p);
const char *gw_policy_kind(const GwPolicy *p);
/* TRUE for action "block", FALSE for "flag". */
gboolean gw_policy_blocks(const GwPolicy *p);

/* TRUE when kind is one of the kinds above. */
gboolean gw_policy_kind_known(const char *kind);

typedef struct {
    const char *model;            /* NULL or "" = none */
    json_t *body;                 /* parsed JSON body or NULL (borrowed) */
    gsize body_bytes;
    gint64 max_tokens;            /* -1 absent */
    const char *client_ip;        /* policy IP; NULL, "" or unparsable = unknown */
    const char *country;          /* NULL or "" = unknown */
    GHashTable *properties;       /* lower-case name → value; NULL = none */
    gint64 now_ms;                /* Unix ms */
} GwPolicyInput;

typedef struct {
    gint64 policy_id;
    char *policy_name;
    char *rule;                   /* the kind */
    char *decision;               /* "allow" | "flag" | "block" */
    char *reason;                 /* NULL for "allow" */
} GwPolicyDecision;

/* Evaluates policies (GwPolicy*) in order and appends one new GwPolicyDecision* per evaluated
 * policy to decisions (create it with gw_policy_decision_free as free func); stops after the first
 * block. Returns TRUE when the request is blocked; then *blocking (if non-NULL) points at that
 * decision inside decisions, else it is set to NULL. policies may be NULL (nothing to do). */
gboolean gw_policy_evaluate(GPtrArray *policies, const GwPolicyInput *in, GPtrArray *decisions,
                            const GwPolicyDecision **blocking);
void gw_policy_decision_free(GwPolicyDecision *d);

#endif
