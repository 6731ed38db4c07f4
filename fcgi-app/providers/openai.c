/* openai.c — OpenAI and any OpenAI-compatible server (Gemini's OpenAI endpoint, Mistral, Groq,
 * DeepSeek, Together, OpenRouter, vLLM, Ollama): Bearer auth, base URL ending in /v1, usage in
 * "usage" of answers and of the final stream chunk. The body is re-serialised by the pipeline when
 * prepare() changes it. */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

static struct curl_slist *openai_add_auth(struct curl_slist *list, const GwCall *call)
{
    char *h = g_strconcat("Authorization: Bearer ", call->secret, NULL);
    list = curl_slist_append(list, h);
    memset(h, 0, strlen(h));
    g_free(h);
    return list;
}

static void take_int(json_t *obj, const char *key, gint64 *out)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        *out = json_integer_value(v);
}

void gw_openai_usage_from_response(json_t *body, GwUsage *u)
{
    json_t *usage = json_object_get(body, "usage");
    if (!json_is_object(usage))
        return;
    /* Chat/completions use prompt/completion; embeddings and /v1/responses use input/output. */
    take_int(usage, "prompt_tokens", &u->prompt_tokens);
    take_int(usage, "input_tokens", &u->prompt_tokens);
    take_int(usage, "completion_tokens", &u->completion_tokens);
    take_int(usage, "output_tokens", &u->completion_tokens);
    take_int(usage, "total_tokens", &u->total_tokens);
    take_int(json_object_get(usage, "prompt_tokens_details"), "cached_tokens", &u->cached_tokens);
    take_int(json_object_get(usage, "input_tokens_details"), "cached_tokens", &u->cached_tokens);
    take_int(json_object_get(usage, "completion_tokens_details"), "reasoning_tokens",
             &u->reasoning_tokens);
    take_int(json_object_get(usage, "output_tokens_details"), "reasoning_tokens",
             &u->reasoning_tokens);
}

void gw_openai_usage_from_event(const char *event, json_t *data, GwUsage *u)
{
    (void)event;
    gw_openai_usage_from_response(data, u);
    /* /v1/responses streams carry usage inside response.completed's "response". */
    json_t *resp = json_object_get(data, "response");
    if (json_is_object(resp))
        gw_openai_usage_from_response(resp, u);
}

/* Streaming chat/completions report usage only when asked: ask on the client's behalf, and hide
 * the extra usage-only chunk from a client that did not ask, so accounting is exact and the
 * client sees what it would have seen without the gateway. */
void gw_openai_prepare(GwCall *call)
{
    if (!call->stream || call->json == NULL)
        return;
    if (strcmp(call->path, "/v1/chat/completions") != 0 && strcmp(call->path, "/v1/completions") != 0)
        return;
    json_t *opts = json_object_get(call->json, "stream_options");
    if (opts != NULL && !json_is_object(opts))
        return; /* let the provider reject it as it would */
    if (json_is_true(json_object_get(opts, "include_usage")))
        return;
    if (opts == NULL) {
        opts = json_object();
        json_object_set_new(call->json, "stream_options", opts);
    }
    json_object_set_new(opts, "include_usage", json_true());
    call->strip_usage_chunk = TRUE;
    call->json_changed = TRUE;
}

const GwProvider gw_provider_openai = {
    .kind = "openai",
    .default_base_url = "https://api.openai.com/v1",
    .upstream_url = gw_provider_url_strip_v1,
    .add_auth = openai_add_auth,
    .usage_from_response = gw_openai_usage_from_response,
    .usage_from_event = gw_openai_usage_from_event,
    .prepare = gw_openai_prepare,
};

const GwProvider gw_provider_openai_compatible = {
    .kind = "openai-compatible",
    .upstream_url = gw_provider_url_strip_v1,
    .add_auth = openai_add_auth,
    .usage_from_response = gw_openai_usage_from_response,
    .usage_from_event = gw_openai_usage_from_event,
    .prepare = gw_openai_prepare,
};

/* Google Gemini through its OpenAI-compatible endpoint (Bearer API key). */
const GwProvider gw_provider_gemini = {
    .kind = "gemini",
    .default_base_url = "https://generativelanguage.googleapis.com/v1beta/openai",
    .upstream_url = gw_provider_url_strip_v1,
    .add_auth = openai_add_auth,
    .usage_from_response = gw_openai_usage_from_response,
    .usage_from_event = gw_openai_usage_from_event,
    .prepare = gw_openai_prepare,
};
