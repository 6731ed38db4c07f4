// The azure provider kind against the mock upstream playing an Azure OpenAI resource: base URL =
// the resource endpoint, the deployment = the model after the target's model map, api-version in
// the query string, the secret in an api-key header (no Authorization).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request, streamRequest, streamText, eventJsons, withTimeout } from './lib/http.mjs';
import { chatCompletion, sendJson, streamDefault, MOCK_STREAM_PIECES, MOCK_STREAM_USAGE } from './lib/mock-upstream.mjs';

let VK;
const API_VERSION = '2024-10-21';

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'az', provider: 'azure', baseUrl: mock.origin, apiVersion: API_VERSION, secret });
    VK = await gw.createVk({ name: 'azure-app', providerKey: 'az' });
    await gw.setTarget('azure-app', 'az', { modelMap: { 'gpt-4o-mini': 'dep1' } });
  },
});

/** Answers what Azure would on the deployment's chat/completions path; 404 elsewhere. */
function azureHandler(req, res, rec) {
  const [path] = rec.url.split('?');
  const m = path.match(/^\/openai\/deployments\/([^/]+)\/chat\/completions$/);
  if (req.method !== 'POST' || !m) {
    return sendJson(res, 404, { error: { code: 'DeploymentNotFound', message: `mock azure: no route ${req.method} ${rec.url}` } });
  }
  const body = JSON.parse(rec.body.toString('utf8'));
  if (body.stream === true) return streamDefault(res, { ...body, model: 'gpt-4o-mini-2024-07-18' });
  return sendJson(res, 200, chatCompletion('gpt-4o-mini-2024-07-18', { content: `azure deployment ${m[1]}` }), { 'apim-request-id': 'apim-1', 'x-request-id': 'req_azure_mock' });
}

function assertAzureRequest(seen, deployment) {
  assert.equal(seen.method, 'POST');
  const url = new URL(seen.url, 'http://x');
  assert.equal(url.pathname, `/openai/deployments/${deployment}/chat/completions`);
  assert.deepEqual([...url.searchParams], [['api-version', API_VERSION]]);
  assert.equal(seen.headers['api-key'], ctx.secret);
  assert.equal(seen.headers.authorization, undefined, 'an Authorization header went to Azure');
  assert.ok(!JSON.stringify(seen.headers).includes(VK), 'the virtual key went upstream');
}

ctx.test('azure: deployment path, api-version, api-key header; answer relayed', async () => {
  ctx.mock.setHandler(azureHandler);
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello azure' }] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'azure deployment dep1');
  assert.equal(res.headers['alephant-provider'], 'azure');
  assert.equal(res.headers['alephant-provider-req-id'], 'req_azure_mock');
  assert.equal(ctx.mock.requests.length, 1);
  assertAzureRequest(ctx.mock.requests[0], 'dep1');
  const up = JSON.parse(ctx.mock.requests[0].body.toString('utf8'));
  assert.deepEqual(up.messages, [{ role: 'user', content: 'hello azure' }]);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].provider, 'azure');
  assert.equal(rows[0].provider_key, 'az');
  assert.equal(rows[0].prompt_tokens, 11);
  assert.equal(rows[0].completion_tokens, 7);
  assert.equal(rows[0].attempts[0].model, 'dep1');
});

ctx.test('azure: a model without a map entry is the deployment name itself', async () => {
  ctx.mock.setHandler(azureHandler);
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'other-deployment', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(res.status, 200, res.text);
  assertAzureRequest(ctx.mock.requests[0], 'other-deployment');
});

ctx.test('azure: streaming is relayed; usage asked upstream, logged, not shown to the client', async () => {
  ctx.mock.setHandler(azureHandler);
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream azure' }] },
  });
  await withTimeout(s.ended, 20_000, 'azure stream');
  assert.equal(s.status, 200, s.text);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  assert.equal(s.headers['alephant-provider'], 'azure');
  assert.equal(streamText(s.events), MOCK_STREAM_PIECES.join(''));
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.ok(!eventJsons(s.events).some((j) => j.usage), 'a usage chunk the client did not ask for');
  assert.equal(ctx.mock.requests.length, 1);
  assertAzureRequest(ctx.mock.requests[0], 'dep1');
  const up = JSON.parse(ctx.mock.requests[0].body.toString('utf8'));
  assert.equal(up.stream, true);
  assert.equal(up.stream_options?.include_usage, true);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
  assert.equal(rows[0].completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
});

ctx.test('azure: an upstream error is relayed as Azure sent it', async () => {
  const body = JSON.stringify({ error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' } });
  ctx.mock.setHandler((req, res) => sendJson(res, 404, body));
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(res.status, 404);
  assert.equal(res.text, body);
});

ctx.test('azure: provider-key add without --api-version is refused', async () => {
  const r = await ctx.gw.ctlResult(['provider-key', 'add', '--name', 'az-noversion', '--provider', 'azure', '--base-url', ctx.mock.origin, '--key-stdin'], { input: 'k\n' });
  assert.notEqual(r.code, 0, `accepted: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /api.version/i);
});
