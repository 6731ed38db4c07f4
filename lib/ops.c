/* ops.c — operator actions shared by alephantctl and the admin API: input validation, secret
 * encryption and token generation in front of the store. Messages never echo secrets or tokens. */
#include "config.h"
#include "ops.h"

#include <string.h>
#include "netaddr.h"
#include "store_groups.h"

#define GW_NAME_MAX 64
#define GW_SECRET_MAX 4096
#define GW_MODEL_MAX 256
#define GW_MOCK_SECRET "mock"
#define GW_API_VERSION_MAX 32

static const struct {
    const char *kind;
    const char *default_base_url;
} providers[] = {
    {"openai", "https://api.openai.com/v1"},
    {"anthropic", "https://api.anthropic.com"},
    /* Azure has no default: every resource has its own endpoint (https://NAME.openai.azure.com). */
    {"azure", NULL},
    /* Gemini's OpenAI-compatible endpoint, so requests pass through unchanged. */
    {"gemini", "https://generativelanguage.googleapis.com/v1beta/openai"},
    {"openai-compatible", NULL},
    {"mock", NULL},
};

const char *gw_provider_default_base_url(const char *provider)
{
    for (gsize i = 0; provider != NULL && i < G_N_ELEMENTS(providers); i++)
        if (strcmp(provider, providers[i].kind) == 0)
            return providers[i].default_base_url;
    return NULL;
}

gboolean gw_provider_kind_is_known(const char *provider)
{
    for (gsize i = 0; provider != NULL && i < G_N_ELEMENTS(providers); i++)
        if (strcmp(provider, providers[i].kind) == 0)
            return TRUE;
    return FALSE;
}

/* Names end up in tables, logs and URLs of the admin API: keep them to a safe alphabet. The bad
 * value is not echoed (an operator may have pasted a secret into the wrong flag). */
GwStatus gw_ops_check_name(const char *what, const char *name, GError **err)
{
    size_t n = name != NULL ? strlen(name) : 0;
    gboolean ok = n >= 1 && n <= GW_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = g_ascii_isalnum(name[i]) || name[i] == '.' || name[i] == '_' || name[i] == '-';
    if (!ok)
        return gw_fail(err, GW_EINVAL,
                       "invalid %s name: use 1-%d characters from A-Z a-z 0-9 . _ -", what,
                       GW_NAME_MAX);
    return GW_OK;
}

/* The secret becomes an HTTP header value upstream: a line break would inject headers. The mock
 * provider never sends it anywhere, so anything goes there (an empty one is stored as "mock"). */
static GwStatus check_secret(const char *provider, const char *secret, const char **use_out,
                             GError **err)
{
    if (strcmp(provider, "mock") == 0) {
        *use_out = secret != NULL && *secret != '\0' ? secret : GW_MOCK_SECRET;
        return GW_OK;
    }
    if (secret == NULL || *secret == '\0')
        return gw_fail(err, GW_EINVAL, "a non-empty secret is required for %s provider keys",
                       provider);
    if (strlen(secret) > GW_SECRET_MAX)
        return gw_fail(err, GW_ETOOBIG, "the secret is longer than %d bytes", GW_SECRET_MAX);
    if (strpbrk(secret, "\r\n") != NULL)
        return gw_fail(err, GW_EINVAL, "the secret must not contain line breaks");
    *use_out = secret;
    return GW_OK;
}

/* Encrypts under the master key and derives the display hint. Caller owns *blob and *hint. */
static GwStatus seal_secret(GwOps *ops, const char *secret, GBytes **blob, char **hint,
                            GError **err)
{
    GwStatus gs = gw_secret_encrypt(ops->master_key, secret, strlen(secret), blob, err);
    if (gs != GW_OK)
        return gs;
    *hint = gw_secret_mask(secret);
    return GW_OK;
}

/* Azure's api-version goes into the upstream query string: a short token such as "2024-10-21"
 * or "2025-04-01-preview", never anything that could add parameters. */
static GwStatus check_api_version(const char *provider, const char *api_version, GError **err)
{
    gboolean azure = strcmp(provider, "azure") == 0;
    if (api_version == NULL)
        return azure ? gw_fail(err, GW_EINVAL,
                               "an API version is required for azure provider keys "
                               "(e.g. 2024-10-21)")
                     : GW_OK;
    if (!azure)
        return gw_fail(err, GW_EINVAL, "only azure provider keys take an API version");
    size_t n = strlen(api_version);
    gboolean ok = n >= 1 && n <= GW_API_VERSION_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = api_version[i];
        ok = g_ascii_isdigit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '-';
    }
    if (!ok)
        return gw_fail(err, GW_EINVAL,
                       "invalid API version: use 1-%d characters from 0-9 a-z . - "
                       "(e.g. 2024-10-21)",
                       GW_API_VERSION_MAX);
    return GW_OK;
}

GwStatus gw_ops_provider_key_add(GwOps *ops, const char *name, const char *provider,
                                 const char *base_url, const char *api_version,
                                 const char *secret, GError **err)
{
    GwStatus gs = gw_ops_check_name("provider key", name, err);
    if (gs != GW_OK)
        return gs;
    if (!gw_provider_kind_is_known(provider))
        return gw_fail(err, GW_EINVAL,
                       "unknown provider: use openai, anthropic, azure, gemini, "
                       "openai-compatible or mock");
    gboolean has_url = base_url != NULL && *base_url != '\0';
    if (strcmp(provider, "mock") == 0 && has_url)
        return gw_fail(err, GW_EINVAL, "the mock provider takes no base URL");
    if (!has_url && strcmp(provider, "azure") == 0)
        return gw_fail(err, GW_EINVAL,
                       "a base URL is required for azure provider keys: the resource endpoint, "
                       "e.g. https://NAME.openai.azure.com");
    if (!has_url && gw_provider_default_base_url(provider) == NULL &&
        strcmp(provider, "mock") != 0)
        return gw_fail(err, GW_EINVAL, "a base URL is required for %s provider keys", provider);
    gs = check_api_version(provider, api_version, err);
    if (gs != GW_OK)
        return gs;

    const char *use_secret = NULL;
    gs = check_secret(provider, secret, &use_secret, err);
    if (gs != GW_OK)
        return gs;

    /* NULL is stored for "the provider's default" so a future default change applies. */
    char *url = NULL;
    if (has_url) {
        gs = gw_base_url_check(base_url, ops->allow_private_upstreams, &url, err);
        if (gs != GW_OK)
            return gs;
    }

    GBytes *blob = NULL;
    char *hint = NULL;
    gs = seal_secret(ops, use_secret, &blob, &hint, err);
    if (gs == GW_OK)
        gs = gw_store_provider_key_add(ops->store, name, provider, url, api_version, blob, hint,
                                       NULL, err);
    if (blob != NULL)
        g_bytes_unref(blob);
    g_free(hint);
    g_free(url);
    return gs;
}

GwStatus gw_ops_provider_key_rotate(GwOps *ops, const char *name, const char *secret,
                                    GError **err)
{
    GwStatus gs = gw_ops_check_name("provider key", name, err);
    if (gs != GW_OK)
        return gs;
    /* The kind decides which secrets are acceptable. */
    GwProviderKey *pk = NULL;
    gs = gw_store_provider_key_get(ops->store, name, &pk, err);
    if (gs != GW_OK)
        return gs;
    const char *use_secret = NULL;
    GBytes *blob = NULL;
    char *hint = NULL;
    gs = check_secret(pk->provider, secret, &use_secret, err);
    if (gs == GW_OK)
        gs = seal_secret(ops, use_secret, &blob, &hint, err);
    if (gs == GW_OK)
        gs = gw_store_provider_key_rotate(ops->store, name, blob, hint, err);
    if (blob != NULL)
        g_bytes_unref(blob);
    g_free(hint);
    gw_provider_key_free(pk);
    return gs;
}

GwStatus gw_ops_provider_key_delete(GwOps *ops, const char *name, GError **err)
{
    GwStatus gs = gw_ops_check_name("provider key", name, err);
    if (gs != GW_OK)
        return gs;
    return gw_store_provider_key_delete(ops->store, name, err);
}

/* "a, b" → "a,b" (*out, caller frees; NULL for NULL). Each model is 1-256 characters of UTF-8
 * text without control characters; commas separate, so none can be inside a name. */
static GwStatus normalize_models(const char *models, char **out, GError **err)
{
    *out = NULL;
    if (models == NULL)
        return GW_OK;
    char **parts = g_strsplit(models, ",", -1);
    GwStatus gs = GW_OK;
    if (parts[0] == NULL)
        gs = gw_fail(err, GW_EINVAL, "the model list is empty");
    for (char **p = parts; gs == GW_OK && *p != NULL; p++) {
        g_strstrip(*p);
        if (!g_utf8_validate(*p, -1, NULL)) {
            gs = gw_fail(err, GW_EINVAL, "model names must be UTF-8 text");
            break;
        }
        glong n = g_utf8_strlen(*p, -1);
        if (n < 1 || n > GW_MODEL_MAX) {
            gs = gw_fail(err, GW_EINVAL,
                         "each model name must be 1-%d characters (empty entry in the list?)",
                         GW_MODEL_MAX);
            break;
        }
        for (const char *c = *p; *c != '\0'; c = g_utf8_next_char(c)) {
            if (g_unichar_iscntrl(g_utf8_get_char(c))) {
                gs = gw_fail(err, GW_EINVAL, "model names must not contain control characters");
                break;
            }
        }
    }
    if (gs == GW_OK)
        *out = g_strjoinv(",", parts);
    g_strfreev(parts);
    return gs;
}

/* ISO 8601 → Unix ms. No zone means UTC; a bare date means midnight UTC. 0 for NULL. */
static GwStatus parse_expires(const char *text, gint64 *ms_out, GError **err)
{
    *ms_out = 0;
    if (text == NULL)
        return GW_OK;
    char *s = g_strstrip(g_strdup(text));
    /* GLib insists on a time part; a date alone is common on the command line. */
    if (*s != '\0' && strpbrk(s, "Tt ") == NULL) {
        char *full = g_strconcat(s, "T00:00:00", NULL);
        g_free(s);
        s = full;
    }
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *dt = g_date_time_new_from_iso8601(s, utc);
    g_time_zone_unref(utc);
    g_free(s);
    if (dt == NULL)
        return gw_fail(err, GW_EINVAL,
                       "expiry is not an ISO 8601 date or date-time "
                       "(e.g. 2027-01-01 or 2027-01-01T12:00:00Z)");
    gint64 ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    g_date_time_unref(dt);
    if (ms <= g_get_real_time() / 1000)
        return gw_fail(err, GW_EINVAL, "expiry must be in the future");
    *ms_out = ms;
    return GW_OK;
}

GwStatus gw_ops_vk_create(GwOps *ops, const char *name, const char *provider_key,
                          const char *models, const char *department, const char *agent,
                          const char *expires, char **token_out, GError **err)
{
    GwStatus gs = gw_ops_check_name("virtual key", name, err);
    if (gs == GW_OK)
        gs = gw_ops_check_name("provider key", provider_key, err);
    if (gs == GW_OK && department != NULL)
        gs = gw_ops_check_name("department", department, err);
    if (gs == GW_OK && agent != NULL)
        gs = gw_ops_check_name("agent", agent, err);
    if (gs != GW_OK)
        return gs;
    char *model_list = NULL;
    gint64 expires_at = 0;
    gs = normalize_models(models, &model_list, err);
    if (gs == GW_OK)
        gs = parse_expires(expires, &expires_at, err);
    if (gs != GW_OK) {
        g_free(model_list);
        return gs;
    }

    /* Only the hash is stored; the token leaves this function once, through token_out. */
    char *token = gw_vk_generate();
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(token, strlen(token), hash);
    char *prefix = g_strndup(token, GW_VK_DISPLAY_PREFIX_LEN);
    GwVkCreate p = {
        .name = name,
        .token_hash = hash,
        .token_prefix = prefix,
        .provider_key = provider_key,
        .allowed_models = model_list,
        .department = department,
        .agent = agent,
        .expires_at = expires_at,
    };
    gs = gw_store_vk_create(ops->store, &p, NULL, err);
    g_free(prefix);
    g_free(model_list);
    if (gs != GW_OK) {
        gw_secret_free(token);
        return gs;
    }
    *token_out = token;
    return GW_OK;
}

GwStatus gw_ops_vk_revoke(GwOps *ops, const char *name, GError **err)
{
    GwStatus gs = gw_ops_check_name("virtual key", name, err);
    if (gs != GW_OK)
        return gs;
    return gw_store_vk_revoke(ops->store, name, err);
}

/* "" (or only blanks) → NULL: the text form of "none". */
static const char *none_if_blank(const char *text, char **tmp)
{
    *tmp = g_strstrip(g_strdup(text));
    return **tmp != '\0' ? *tmp : NULL;
}

GwStatus gw_ops_vk_edit(GwOps *ops, const char *name, const GwVkEditText *t, GError **err)
{
    GwStatus gs = gw_ops_check_name("virtual key", name, err);
    if (gs != GW_OK)
        return gs;
    if (t->models == NULL && t->expires == NULL && t->agent == NULL && t->department == NULL)
        return gw_fail(err, GW_EINVAL,
                       "nothing to change: give models, expires, agent or department");
    char *models_tmp = NULL, *expires_tmp = NULL, *agent_tmp = NULL, *dept_tmp = NULL;
    char *model_list = NULL;
    GwVkEdit e = {0};
    if (t->models != NULL) {
        const char *m = none_if_blank(t->models, &models_tmp);
        e.models_given = TRUE;
        if (m != NULL && strcmp(m, "any") != 0)
            gs = normalize_models(m, &model_list, err);
        e.models = model_list;
    }
    if (gs == GW_OK && t->expires != NULL) {
        const char *x = none_if_blank(t->expires, &expires_tmp);
        e.expires_given = TRUE;
        if (x != NULL && strcmp(x, "never") != 0)
            gs = parse_expires(x, &e.expires_at, err);
    }
    if (gs == GW_OK && t->agent != NULL) {
        e.agent_given = TRUE;
        e.agent = none_if_blank(t->agent, &agent_tmp);
        if (e.agent != NULL)
            gs = gw_ops_check_name("agent", e.agent, err);
    }
    if (gs == GW_OK && t->department != NULL) {
        e.department_given = TRUE;
        e.department = none_if_blank(t->department, &dept_tmp);
        if (e.department != NULL)
            gs = gw_ops_check_name("department", e.department, err);
    }
    if (gs == GW_OK)
        gs = gw_store_vk_edit(ops->store, name, &e, err);
    g_free(models_tmp);
    g_free(expires_tmp);
    g_free(agent_tmp);
    g_free(dept_tmp);
    g_free(model_list);
    return gs;
}
