/* registry.c — provider kind → implementation, and helpers shared by providers. */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

static const GwProvider *const all[] = {
    &gw_provider_openai, &gw_provider_openai_compatible, &gw_provider_anthropic,
    &gw_provider_azure,  &gw_provider_gemini,            &gw_provider_mock,
};

const GwProvider *gw_provider_lookup(const char *kind)
{
    for (gsize i = 0; kind != NULL && i < G_N_ELEMENTS(all); i++)
        if (strcmp(all[i]->kind, kind) == 0)
            return all[i];
    return NULL;
}

const char *gw_provider_base_url(const GwCall *call)
{
    if (call->pk->base_url != NULL && call->pk->base_url[0] != '\0')
        return call->pk->base_url;
    return call->provider->default_base_url != NULL ? call->provider->default_base_url : "";
}

char *gw_provider_url_strip_v1(const GwCall *call)
{
    const char *rest = call->path_query;
    if (g_str_has_prefix(rest, "/v1/") || g_str_has_prefix(rest, "/v1?") || strcmp(rest, "/v1") == 0)
        rest += 3;
    return g_strconcat(gw_provider_base_url(call), rest, NULL);
}
