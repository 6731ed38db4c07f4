/* cmd_cache.c — alephantctl cache purge: removes response cache entries of a scope (a virtual
 * key, agent or department, named by its name), of a seed, both, or all of them. Works on the
 * cache database ([cache] path, default $ALEPHANT_HOME/cache.db). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_key.h"
#include "cache_store.h"
#include "ctl.h"

/* "vk:NAME" | "agent:NAME" | "department:NAME" → the stored scope ("vk:12", …), found through
 * the virtual keys (an agent or department is known by its keys). *out (g_free) or an error. */
static GwStatus resolve_scope(GwStore *st, const char *arg, char **out, GError **err)
{
    const char *colon = strchr(arg, ':');
    if (colon == NULL || colon[1] == '\0')
        return gw_fail(err, GW_EINVAL, "--scope takes vk:NAME, agent:NAME or department:NAME");
    char *kind = g_strndup(arg, (gsize)(colon - arg));
    const char *name = colon + 1;
    gboolean is_vk = strcmp(kind, "vk") == 0 || strcmp(kind, "virtual_key") == 0;
    gboolean is_agent = strcmp(kind, "agent") == 0;
    gboolean is_dept = strcmp(kind, "department") == 0;
    g_free(kind);
    if (!is_vk && !is_agent && !is_dept)
        return gw_fail(err, GW_EINVAL, "--scope takes vk:NAME, agent:NAME or department:NAME");
    GPtrArray *vks = NULL;
    GwStatus gs = gw_store_vk_list(st, &vks, err);
    if (gs != GW_OK)
        return gs;
    *out = NULL;
    for (guint i = 0; i < vks->len && *out == NULL; i++) {
        const GwVirtualKey *vk = g_ptr_array_index(vks, i);
        if (is_vk && strcmp(vk->name, name) == 0)
            *out = g_strdup_printf("vk:%" G_GINT64_FORMAT, vk->id);
        else if (is_agent && vk->agent_name != NULL && strcmp(vk->agent_name, name) == 0)
            *out = g_strdup_printf("agent:%" G_GINT64_FORMAT, vk->agent_id);
        else if (is_dept && vk->department_name != NULL && strcmp(vk->department_name, name) == 0)
            *out = g_strdup_printf("department:%" G_GINT64_FORMAT, vk->department_id);
    }
    g_ptr_array_unref(vks);
    if (*out == NULL)
        return gw_fail(err, GW_ENOTFOUND, "no %s named '%s'",
                       is_vk ? "virtual key" : is_agent ? "agent with virtual keys"
                                                        : "department with virtual keys", name);
    return GW_OK;
}

int cmd_cache_purge(int argc, char **argv)
{
    char *scope_arg = NULL, *seed = NULL;
    gboolean all = FALSE, no_seed = FALSE;
    GOptionEntry entries[] = {
        {"scope", 's', 0, G_OPTION_ARG_STRING, &scope_arg,
         "Only this scope: vk:NAME, agent:NAME or department:NAME", "SCOPE"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Only entries saved with this "
         "Alephant-Cache-Seed", "SEED"},
        {"no-seed", 0, 0, G_OPTION_ARG_NONE, &no_seed, "Only entries saved without a seed", NULL},
        {"all", 0, 0, G_OPTION_ARG_NONE, &all, "Every entry of every scope", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "Remove response cache entries of a scope, a seed, or all.",
                           "Scopes are what the cache keeps apart: a virtual key, or its agent "
                           "or department when [cache] scope says so.",
                           entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && seed != NULL && no_seed)
        rc = usage_error("--seed and --no-seed exclude each other");
    if (rc == 0 && all == (scope_arg != NULL || seed != NULL || no_seed))
        rc = usage_error(all ? "--all takes no other option"
                             : "say what to purge: --scope, --seed/--no-seed, or --all");
    if (rc != 0)
        goto out;
    GError *err = NULL;
    GwConf *conf = NULL;
    GwStore *st = NULL;
    GwCacheStore *cs = NULL;
    char *scope = NULL;
    gint64 deleted = 0;
    GwStatus gs = gw_conf_load(&conf, &err);
    if (gs == GW_OK && scope_arg != NULL) {
        gs = ctl_open_store(&st, &err);
        if (gs == GW_OK)
            gs = resolve_scope(st, scope_arg, &scope, &err);
    }
    if (gs == GW_OK)
        gs = gw_cache_store_open(conf->cache_path, &cs, &err);
    if (gs == GW_OK) {
        char hash[GW_CACHE_KEY_HEX_LEN + 1];
        gw_cache_seed_hash(seed, hash);
        gs = gw_cache_store_purge(cs, scope, seed != NULL || no_seed ? hash : NULL, &deleted,
                                  &err);
    }
    if (gs == GW_OK)
        printf("purged %" G_GINT64_FORMAT " %s\n", deleted, deleted == 1 ? "entry" : "entries");
    else
        rc = report(err);
    g_free(scope);
    gw_cache_store_close(cs);
    gw_store_close(st);
    gw_conf_free(conf);
out:
    g_free(scope_arg);
    g_free(seed);
    return rc;
}
