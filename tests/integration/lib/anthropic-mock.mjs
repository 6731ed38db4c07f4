// anthropic-mock.mjs — Anthropic Messages API answers for the mock upstream (startMockUpstream's
// setHandler): plain messages, real event sequences for streams, error bodies.

import { randomUUID } from 'node:crypto';
import { sendJson, sseHead } from './mock-upstream.mjs';

export const ANTHROPIC_USAGE = Object.freeze({ input_tokens: 21, output_tokens: 9 });

export function anthropicMessageId() {
  return 'msg_mock_' + randomUUID().replace(/-/g, '').slice(0, 20);
}

/** A Messages API answer: { id, type: 'message', role, model, content, stop_reason, stop_sequence, usage }. */
export function anthropicMessage(model, { content = [{ type: 'text', text: 'Hello from mock Claude.' }], stopReason = 'end_turn', usage = ANTHROPIC_USAGE, id } = {}) {
  return {
    id: id ?? anthropicMessageId(),
    type: 'message',
    role: 'assistant',
    model: model ?? 'claude-3-5-haiku-20241022',
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { ...usage },
  };
}

/** Answers like Anthropic: JSON with a request-id header (no x-request-id). */
export function sendAnthropicJson(res, status, obj, extraHeaders = {}) {
  return sendJson(res, status, obj, { 'request-id': 'req_' + randomUUID().replace(/-/g, '').slice(0, 24), 'x-request-id': null, 'openai-processing-ms': null, ...extraHeaders });
}

/** An Anthropic error answer: { type: 'error', error: { type, message } }. */
export function sendAnthropicError(res, status, type, message) {
  return sendAnthropicJson(res, status, { type: 'error', error: { type, message } });
}

/** Writes one Anthropic SSE event: `event: TYPE\ndata: {"type":TYPE,...}\n\n`. */
export function anthropicEvent(res, type, data = {}) {
  return res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

/**
 * The event sequence of a streamed message whose content is given as blocks: text blocks are
 * sent as text_delta pieces (block.pieces, or the whole text), tool_use blocks as input_json_delta
 * pieces of JSON text (block.jsonPieces, or the JSON of block.input in one piece).
 * usage: { input_tokens, output_tokens, cache_read_input_tokens?, cache_creation_input_tokens? }.
 */
export function anthropicStreamEvents(model, { blocks = [{ type: 'text', pieces: ['Hello', ' stream.'] }], stopReason = 'end_turn', usage = ANTHROPIC_USAGE, id } = {}) {
  const evs = [];
  const startUsage = { ...usage, output_tokens: 1 };
  evs.push(['message_start', { message: { id: id ?? anthropicMessageId(), type: 'message', role: 'assistant', model: model ?? 'claude-3-5-haiku-20241022', content: [], stop_reason: null, stop_sequence: null, usage: startUsage } }]);
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      evs.push(['content_block_start', { index, content_block: { type: 'text', text: '' } }]);
      if (index === 0) evs.push(['ping', {}]);
      for (const p of b.pieces ?? [b.text]) evs.push(['content_block_delta', { index, delta: { type: 'text_delta', text: p } }]);
    } else if (b.type === 'tool_use') {
      evs.push(['content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }]);
      for (const p of b.jsonPieces ?? [JSON.stringify(b.input)]) evs.push(['content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } }]);
    }
    evs.push(['content_block_stop', { index }]);
  });
  evs.push(['message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }]);
  evs.push(['message_stop', {}]);
  return evs;
}

/** Streams events (from anthropicStreamEvents) as an Anthropic SSE answer. */
export function sendAnthropicStream(res, events, extraHeaders = {}) {
  sseHead(res, { 'request-id': 'req_' + randomUUID().replace(/-/g, '').slice(0, 24), 'x-request-id': null, ...extraHeaders });
  for (const [type, data] of events) anthropicEvent(res, type, data);
  res.end();
}

/**
 * A handler for POST /v1/messages: answer(body, rec) returns { message } (plain answer, built
 * with anthropicMessage) or { events } (a stream) — by default a text message, streamed when the
 * request asks for it. Other paths get a 404 in Anthropic's error format.
 */
export function anthropicHandler(answer = () => ({})) {
  return (req, res, rec) => {
    const path = rec.url.split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/messages') {
      return sendAnthropicError(res, 404, 'not_found_error', `mock: no route ${req.method} ${path}`);
    }
    let body;
    try { body = JSON.parse(rec.body.toString('utf8')); } catch {
      return sendAnthropicError(res, 400, 'invalid_request_error', 'mock: body is not JSON');
    }
    const a = answer(body, rec) ?? {};
    if (a.events || (body.stream === true && !a.message)) {
      return sendAnthropicStream(res, a.events ?? anthropicStreamEvents(body.model));
    }
    return sendAnthropicJson(res, 200, a.message ?? anthropicMessage(body.model));
  };
}

/** Text of an Anthropic content value (a string or an array of blocks), text blocks joined. */
export function anthropicText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  return content.filter((b) => b.type === 'text').map((b) => b.text).join('');
}
