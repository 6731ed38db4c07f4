/* provider.h — the one small interface every upstream provider implements (curl's vtls model):
 * where a request goes, how it authenticates, and how usage is read from answers and streams.
 * One file per provider in this folder; gw_provider_lookup() maps a provider kind to it. */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <curl/curl.h>
#include <jansson.h>
#include "pipeline.h"

typedef struct GwProvider {
    const char *kind;
    /* Default base URL when the provider key has none (NULL: a base URL is required). */
    const char *default_base_url;
    /* Upstream URL for the call's client path (call->path_query) under its provider key's base
     * URL, for the call's upstream model. Caller frees. */
    char *(*upstream_url)(const GwCall *call);
    /* Appends the credential header(s) and any required defaults to list; returns the list. */
    struct curl_slist *(*add_auth)(struct curl_slist *list, const GwCall *call);
    /* Reads usage from a complete JSON answer (fields it does not find stay untouched). */
    void (*usage_from_response)(json_t *body, GwUsage *u);
    /* Reads usage from one stream event (event name may be ""). */
    void (*usage_from_event)(const char *event, json_t *data, GwUsage *u);
    /* Optional: prepares the call before forwarding (e.g. ask for stream usage). */
    void (*prepare)(GwCall *call);
    /* Optional: answers in-process instead of calling an upstream (the mock provider). */
    void (*serve)(GwCall *call);
} GwProvider;

const GwProvider *gw_provider_lookup(const char *kind);

extern const GwProvider gw_provider_openai;
extern const GwProvider gw_provider_openai_compatible;
extern const GwProvider gw_provider_anthropic;
extern const GwProvider gw_provider_mock;
extern const GwProvider gw_provider_azure;
extern const GwProvider gw_provider_gemini;

/* Base URL of the call's provider key, or the provider's default. */
const char *gw_provider_base_url(const GwCall *call);

/* Shared helper: the base URL + the client path with its leading "/v1" removed (OpenAI-style
 * base URLs already end in /v1). Caller frees. */
char *gw_provider_url_strip_v1(const GwCall *call);

/* Shared usage readers for OpenAI-shaped "usage" objects (chat, completions, embeddings,
 * responses), used by every OpenAI-compatible provider. */
void gw_openai_usage_from_response(json_t *body, GwUsage *u);
void gw_openai_usage_from_event(const char *event, json_t *data, GwUsage *u);
/* Asks OpenAI-style streams for usage on the client's behalf (see openai.c). */
void gw_openai_prepare(GwCall *call);

#endif
