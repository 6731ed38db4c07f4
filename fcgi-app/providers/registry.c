/* registry.c — provider kind → implementation, and helpers shared by providers. */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

static const GwProvider *const all[] = {
    &gw_provider_openai, &gw_provider_openai_compatible, &gw_provider_anthropic, &gw_provider_mock,
};

const GwProvider *gw_provider_lookup(const char *kind)
{
    for (gsize i = 0; kind != NULL && i < G_N_ELEMENTS(all); i++)
        if (strcmp(all[i]->kind, kind) == 0)
            return all[i];
    return NULL;
}

char *gw_provider_url_strip_v1(const char *base_url, const char *path_query)
{
    const char *rest = path_query;
    if (g_str_has_prefix(rest, "/v1/") || g_str_has_prefix(rest, "/v1?") || strcmp(rest, "/v1") == 0)
        rest += 3;
    return g_strconcat(base_url, rest, NULL);
}
