/* translate_anthropic.h — owns the OpenAI Chat Completions ⇄ Anthropic Messages translation:
 * request, response, error body and the streamed-event state machine (pure: no I/O, no globals). */

/* Jansson references: every json_t * argument is borrowed (never modified, never stolen); every
 * json_t * result is a new reference the caller must json_decref(). Results never share mutable
 * sub-objects with the inputs (objects are deep-copied), so either side may be changed or freed.
 *
 * Request fields (OpenAI → Anthropic):
 *   mapped:   model (replaced by the `model` argument), messages, max_tokens /
 *             max_completion_tokens (default 4096), temperature (0–1 only), top_p, top_k
 *             (Anthropic extension), stop, stream, user / safety_identifier (→ metadata.user_id),
 *             tools, tool_choice, parallel_tool_calls.
 *   ignored:  stream_options (the caller reads include_usage), seed (best effort on OpenAI too),
 *             prompt_cache_key (a cache hint), messages[].name; and these only at their no-op
 *             value: n=1, store=false, logprobs=false, top_logprobs=0, frequency_penalty=0,
 *             presence_penalty=0, logit_bias={}, metadata={}, response_format {"type":"text"},
 *             modalities ["text"], service_tier "auto"/"default".
 *   refused (GW_EINVAL naming the field): any other value of the fields above, audio,
 *             prediction, functions, function_call, reasoning_effort, verbosity,
 *             web_search_options, role "function", content parts other than text/image_url, and
 *             any unrecognised top-level field. */
#ifndef GW_TRANSLATE_ANTHROPIC_H
#define GW_TRANSLATE_ANTHROPIC_H

#include <glib.h>
#include <jansson.h>
#include "status.h"

/* OpenAI chat.completions request object → Anthropic Messages request (new reference in *out,
 * NULL on failure). model: the model name to send (after any mapping); NULL uses oa_req's
 * "model". Unsupported fields → GW_EINVAL with a client-facing message naming the field (the
 * gateway answers 400 with it). Tool call ids are made Anthropic-safe ([A-Za-z0-9_-], others
 * become '_') identically in tool_use and tool_result, so pairs still match. */
GwStatus gw_xlate_request_to_anthropic(json_t *oa_req, const char *model, json_t **out,
                                       GError **err);

/* Anthropic Messages response → OpenAI chat.completion object (new reference in *out, NULL on
 * failure). GW_EINVAL when anth is not a message object (the gateway answers 502). The id is
 * "chatcmpl-" + the message id without its "msg_" prefix (same rule as the stream). */
GwStatus gw_xlate_response_from_anthropic(json_t *anth, json_t **out, GError **err);

/* Anthropic error body ({"type":"error","error":{"type","message"}}) → OpenAI-style
 * {"error":{"message","type","code"}} (new reference, never NULL); unknown shapes give a generic
 * message; type/code then follow http_status (<= 0: unknown, e.g. a mid-stream error event). */
json_t *gw_xlate_error_from_anthropic(json_t *anth_body, int http_status);

typedef struct GwXlateStream GwXlateStream;

/* include_usage: the client asked for stream_options.include_usage (emit the usage chunk, and
 * "usage":null in the other chunks as OpenAI does). */
GwXlateStream *gw_xlate_stream_new(gboolean include_usage);

/* One Anthropic SSE event (event name, parsed data; the data's "type" wins over the name, as in
 * the usage reader) → zero or more complete OpenAI SSE events appended to out as
 * "data: {json}\n\n"; message_stop appends the final chunk with finish_reason (if not yet sent),
 * the usage chunk when include_usage, and "data: [DONE]\n\n". An Anthropic "error" event becomes
 * "event: error\ndata: {openai-style error}\n\n". After message_stop or error every event is
 * ignored. Malformed or out-of-order events (content before message_start, deltas for unknown
 * block indexes, wrong types, missing fields) are ignored: GW_OK, nothing appended. The only
 * failure is more than 4096 content blocks in one message (GW_ETOOBIG). */
GwStatus gw_xlate_stream_event(GwXlateStream *xs, const char *event, json_t *data, GString *out,
                               GError **err);

/* Usage seen so far (-1 when unknown): prompt = input_tokens (+ cache_read + cache_creation input
 * tokens), completion = output_tokens, cached = cache_read_input_tokens. Any out-param may be
 * NULL. */
void gw_xlate_stream_usage(const GwXlateStream *xs, gint64 *prompt, gint64 *completion,
                           gint64 *cached);

void gw_xlate_stream_free(GwXlateStream *xs);

#endif
