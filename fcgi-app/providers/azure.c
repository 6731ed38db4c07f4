/* azure.c — Azure OpenAI: the provider key's base URL is the resource endpoint
 * (https://NAME.openai.azure.com), the model names the deployment (after the target's model map),
 * requests go to /openai/deployments/{deployment}/… with ?api-version=, auth is the api-key
 * header. Answers are OpenAI-shaped. */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

static char *azure_url(const GwCall *call)
{
    const char *rest = call->path_query;
    if (g_str_has_prefix(rest, "/v1/"))
        rest += 3;
    const char *q = strchr(rest, '?');
    char *path = q != NULL ? g_strndup(rest, (gsize)(q - rest)) : g_strdup(rest);
    const char *version = call->pk->api_version != NULL ? call->pk->api_version : "";
    const char *model = call->upstream_model;
    GString *url = g_string_new(gw_provider_base_url(call));
    if (model != NULL) {
        char *dep = g_uri_escape_string(model, NULL, FALSE);
        g_string_append_printf(url, "/openai/deployments/%s%s", dep, path);
        g_free(dep);
    } else {
        g_string_append_printf(url, "/openai%s", path); /* e.g. GET /v1/models */
    }
    char *ver = g_uri_escape_string(version, NULL, FALSE);
    g_string_append_printf(url, "?api-version=%s", ver);
    if (q != NULL && q[1] != '\0')
        g_string_append_printf(url, "&%s", q + 1);
    g_free(ver);
    g_free(path);
    return g_string_free(url, FALSE);
}

static struct curl_slist *azure_add_auth(struct curl_slist *list, const GwCall *call)
{
    char *h = g_strconcat("api-key: ", call->secret, NULL);
    list = curl_slist_append(list, h);
    memset(h, 0, strlen(h));
    g_free(h);
    return list;
}

const GwProvider gw_provider_azure = {
    .kind = "azure",
    .upstream_url = azure_url,
    .add_auth = azure_add_auth,
    .usage_from_response = gw_openai_usage_from_response,
    .usage_from_event = gw_openai_usage_from_event,
    .prepare = gw_openai_prepare,
};
