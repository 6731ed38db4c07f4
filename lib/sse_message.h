/* sse_message.h — reassembles the message a streamed answer carried (text and tool calls) from
 * the Server-Sent Events text stored in a log row's response_body. Pure; for the admin's views. */
#ifndef GW_SSE_MESSAGE_H
#define GW_SSE_MESSAGE_H

#include <stddef.h>
#include <jansson.h>

/* Reads the event stream text (len bytes; it may be cut anywhere, e.g. at the body cap) and
 * returns a new JSON object:
 *   {"role", "content", "reasoning", "tool_calls": [{"id", "type", "function": {"name",
 *    "arguments"}}], "finish_reason", "model", "events", "unparsed_events"}
 * where content concatenates the text deltas in order, tool calls are joined by their index and
 * their argument fragments concatenated, and unparsed_events counts data that was not JSON (a
 * cut-off last event, for example; "[DONE]" is not counted). Understands OpenAI chat completion
 * chunks (choice 0), OpenAI Responses output_text/function-call deltas and Anthropic Messages
 * events. Absent parts are null (content is "" when no text was seen). text NULL → NULL. */
json_t *gw_sse_message_assemble(const char *text, size_t len);

#endif
