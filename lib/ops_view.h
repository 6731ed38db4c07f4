/* ops_view.h — the JSON form of provider keys and virtual keys, one shape for alephantctl's
 * --json output and the admin API (secrets and tokens never appear: only hints and prefixes). */
#ifndef GW_OPS_VIEW_H
#define GW_OPS_VIEW_H

#include <glib.h>
#include <jansson.h>
#include "status.h"
#include "store.h"

/* {name, provider, base_url, api_version, default_base_url, secret_hint, created_at, rotated_at,
 *  virtual_keys}; a new reference. */
json_t *gw_provider_key_json(const GwProviderKey *pk);
/* [{provider_key, provider, priority, weight, model_map}]; a new reference. */
json_t *gw_targets_json(const GPtrArray *targets);
/* {name, prefix, provider_key, targets (targets may be NULL: omitted), models, agent, department,
 *  status, expired, expires_at, created_at, last_used_at}; now_ms decides "expired". */
json_t *gw_virtual_key_json(const GwVirtualKey *vk, const GPtrArray *targets, gint64 now_ms);
/* Every virtual key with its targets, as gw_virtual_key_json objects. */
GwStatus gw_virtual_keys_json(GwStore *st, json_t **out, GError **err);
/* Every provider key as gw_provider_key_json objects. */
GwStatus gw_provider_keys_json(GwStore *st, json_t **out, GError **err);

#endif
