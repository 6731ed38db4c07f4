/* anthropic.c — Anthropic's native Messages API: base URL without /v1 (as the Anthropic SDKs
 * take it), x-api-key auth, anthropic-version passed through (defaulted when absent), usage from
 * the answer and from message_start / message_delta stream events. */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

#define GW_ANTHROPIC_DEFAULT_VERSION "2023-06-01"

static char *anthropic_url(const char *base_url, const char *path_query)
{
    return g_strconcat(base_url, path_query, NULL);
}

static struct curl_slist *anthropic_add_auth(struct curl_slist *list, const GwCall *call)
{
    char *h = g_strconcat("x-api-key: ", call->secret, NULL);
    list = curl_slist_append(list, h);
    memset(h, 0, strlen(h));
    g_free(h);
    if (gw_request_header(call->req, "anthropic-version", NULL) == NULL)
        list = curl_slist_append(list, "anthropic-version: " GW_ANTHROPIC_DEFAULT_VERSION);
    return list;
}

static void take_int(json_t *obj, const char *key, gint64 *out)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        *out = json_integer_value(v);
}

static void usage_obj(json_t *usage, GwUsage *u)
{
    if (!json_is_object(usage))
        return;
    take_int(usage, "input_tokens", &u->prompt_tokens);
    take_int(usage, "output_tokens", &u->completion_tokens);
    if (u->prompt_tokens >= 0 && u->completion_tokens >= 0)
        u->total_tokens = u->prompt_tokens + u->completion_tokens;
}

static void anthropic_usage(json_t *body, GwUsage *u)
{
    usage_obj(json_object_get(body, "usage"), u);
}

static void anthropic_usage_event(const char *event, json_t *data, GwUsage *u)
{
    const char *type = json_string_value(json_object_get(data, "type"));
    if (type == NULL)
        type = event;
    if (strcmp(type, "message_start") == 0)
        usage_obj(json_object_get(json_object_get(data, "message"), "usage"), u);
    else if (strcmp(type, "message_delta") == 0)
        usage_obj(json_object_get(data, "usage"), u);
}

const GwProvider gw_provider_anthropic = {
    .kind = "anthropic",
    .upstream_url = anthropic_url,
    .add_auth = anthropic_add_auth,
    .usage_from_response = anthropic_usage,
    .usage_from_event = anthropic_usage_event,
};
