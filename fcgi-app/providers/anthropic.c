/* anthropic.c — Anthropic's native Messages API: base URL without /v1 (as the Anthropic SDKs
 * take it), x-api-key auth, anthropic-version passed through (defaulted when absent), usage from
 * the answer and from message_start / message_delta stream events. */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

#define GW_ANTHROPIC_DEFAULT_VERSION "2023-06-01"

static char *anthropic_url(const GwCall *call)
{
    /* A translated OpenAI chat request goes to the Messages API. */
    return g_strconcat(gw_provider_base_url(call), call->xlate ? "/v1/messages" : call->path_query,
                       NULL);
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

/* Anthropic's input_tokens exclude prompt-cache reads and writes; the gateway's prompt count
 * includes them (as OpenAI's does), with cache reads also reported as cached tokens. */
static void usage_obj(json_t *usage, GwUsage *u)
{
    if (!json_is_object(usage))
        return;
    gint64 input = -1, cache_read = -1, cache_write = -1;
    take_int(usage, "input_tokens", &input);
    take_int(usage, "cache_read_input_tokens", &cache_read);
    take_int(usage, "cache_creation_input_tokens", &cache_write);
    if (input >= 0)
        u->prompt_tokens = input + MAX(cache_read, 0) + MAX(cache_write, 0);
    if (cache_read >= 0)
        u->cached_tokens = cache_read;
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
    .default_base_url = "https://api.anthropic.com",
    .upstream_url = anthropic_url,
    .add_auth = anthropic_add_auth,
    .usage_from_response = anthropic_usage,
    .usage_from_event = anthropic_usage_event,
};
