/* fuzz_policy.c — policy configs (operator JSON, but also what the admin API accepts) through
 * gw_policy_compile for every kind and both actions, each compiled policy then evaluated on a
 * small fixed request (known and unknown client data, a few times of day). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

static const char *const kinds[] = {
    "model_allow", "model_deny", "ip_allow", "ip_deny", "country_allow", "country_deny",
    "max_tokens", "max_request_bytes", "max_messages", "forbidden_params",
    "required_properties", "content_regex", "hours",
};

static const char body_text[] =
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"temperature\":0.5,"
    "\"system\":\"be brief\",\"logit_bias\":{},"
    "\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hello, my SSN is 123-45-6789\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]},"
    "{\"role\":\"assistant\",\"content\":null}]}";

static void evaluate(GwPolicy *p, json_t *body, GHashTable *props)
{
    GPtrArray *pols = g_ptr_array_new();
    g_ptr_array_add(pols, p);
    const gint64 day0 = G_GINT64_CONSTANT(1704067200000); /* 2024-01-01T00:00:00Z */
    const gint64 hour = G_GINT64_CONSTANT(3600000);
    GwPolicyInput ins[3] = {
        {.model = "gpt-4o-mini", .body = body, .body_bytes = sizeof body_text - 1,
         .max_tokens = 100, .client_ip = "203.0.113.7", .country = "DE", .properties = props,
         .now_ms = day0 + 9 * hour + 1},
        {.model = NULL, .body = NULL, .body_bytes = 0, .max_tokens = -1, .client_ip = "",
         .country = "", .properties = NULL, .now_ms = day0 + 23 * hour + 59 * 60000},
        {.model = "Claude-3-5-Sonnet", .body = body, .body_bytes = 1 << 20, .max_tokens = 1 << 30,
         .client_ip = "[2001:db8::1]:443", .country = "T1", .properties = props, .now_ms = 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ins); i++) {
        GPtrArray *ds = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_decision_free);
        const GwPolicyDecision *blocking = NULL;
        gboolean blocked = gw_policy_evaluate(pols, &ins[i], ds, &blocking);
        if (ds->len != 1 || blocked != (blocking != NULL))
            abort();
        const GwPolicyDecision *d = g_ptr_array_index(ds, 0);
        if (d->decision == NULL || d->rule == NULL ||
            (strcmp(d->decision, "allow") != 0) != (d->reason != NULL))
            abort();
        if (blocked && (!gw_policy_blocks(p) || strcmp(d->decision, "block") != 0))
            abort();
        g_ptr_array_unref(ds);
    }
    g_ptr_array_unref(pols);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > GW_POLICY_CONFIG_MAX + 16)
        return 0; /* refused by size before parsing; nothing to learn */
    char *config = g_strndup((const char *)data, size);
    json_t *body = json_loads(body_text, 0, NULL);
    GHashTable *props = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(props, (gpointer) "environment", (gpointer) "production");
    g_hash_table_insert(props, (gpointer) "team", (gpointer) "search");

    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        if (!gw_policy_kind_known(kinds[k]))
            abort();
        const char *action = (k + size) % 3 == 0 ? NULL : (k + size) % 3 == 1 ? "block" : "flag";
        GwPolicy *p = NULL;
        GError *err = NULL;
        GwStatus st = gw_policy_compile((gint64)k + 1, "fuzz-policy_1.x", kinds[k], config, action,
                                        &p, &err);
        if (st == GW_OK) {
            if (p == NULL || strcmp(gw_policy_kind(p), kinds[k]) != 0)
                abort();
            evaluate(p, body, props);
            gw_policy_free(p);
        } else if (p != NULL || err == NULL) {
            abort();
        }
        g_clear_error(&err);
    }
    g_hash_table_unref(props);
    json_decref(body);
    g_free(config);
    return 0;
}
