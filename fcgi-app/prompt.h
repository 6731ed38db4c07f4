/* prompt.h — stored prompt templates: validation for storage, and applying a template to a
 * client's request body (placeholder rendering from "inputs", default model and parameters). */
#ifndef GW_PROMPT_H
#define GW_PROMPT_H

#include <jansson.h>
#include <glib.h>
#include "status.h"

/* Template shape (one stored version):
 *   {"messages": [ {"role": "<non-empty string>", "content": <string | [text parts]>, ...}, ... ],
 *    "model": "<non-empty string, ≤ 256 bytes>"   (optional default),
 *    "params": { ... }                             (optional default request fields)}
 * No other top-level keys. messages is a non-empty array. A text part is
 * {"type": "text", "text": "<string>", ...}; other part types are refused. Extra keys in a message
 * or a part are copied unchanged and never rendered. params may not contain "messages", "model"
 * or "inputs".
 *
 * Placeholders in content text: "{{" optional spaces/tabs, a name of 1-64 characters from
 * [A-Za-z0-9_.-], optional spaces/tabs, "}}". There is no escape: every "{{" in template text
 * must start a well-formed placeholder. */
#define GW_PROMPT_NAME_MAX 64

/* Applies template tmpl to the client's request body object req (both borrowed, not modified) →
 * new body (*out: new reference, fully independent of tmpl and req).
 *
 * Variables come from req["inputs"] (absent or null = none; otherwise an object whose values are
 * strings, numbers or booleans; numbers and booleans are rendered as JSON text, e.g. 3, 2.5, true;
 * any other type → GW_EINVAL naming the input). Unknown inputs are allowed.
 * Merge: the output starts from the template's params, then its model, then every request field
 * except "inputs" and "messages" overrides them — except that a request field that is null does
 * not override a template default (SDKs send null for "not given"). messages = the rendered
 * template messages, then the elements of req["messages"] if present (must be an array; null =
 * absent). "inputs" is not in the output.
 *
 * Rendering: a placeholder whose variable is missing → GW_EINVAL "missing prompt variable 'x'".
 * Values are inserted literally and never re-scanned. Only well-formed placeholders are replaced;
 * a malformed "{{" (which gw_prompt_validate would refuse) is left as text. GW_ETOOBIG when the
 * rendered template text (all messages and parts together) would exceed max_bytes.
 * GW_EINVAL when req is not an object or tmpl's shape is invalid. *out = NULL on error. */
GwStatus gw_prompt_apply(json_t *tmpl, json_t *req, gsize max_bytes, json_t **out, GError **err);

/* Validates a template object for storage (shape above, placeholder syntax). On success, when
 * vars != NULL, *vars is a new NULL-terminated list of its variable names, sorted (strcmp) and
 * unique (g_strfreev). On error *vars (if given) is NULL and the message says what is wrong. */
GwStatus gw_prompt_validate(json_t *tmpl, char ***vars, GError **err);

#endif
