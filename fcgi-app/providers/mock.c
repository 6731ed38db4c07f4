/* mock.c — the built-in "mock" provider: an in-process canned responder for demos and offline
 * tests (`make run` prints a curl line that uses it). It never calls the network. Clearly not a
 * model: it answers with a fixed sentence and counts tokens approximately (4 bytes ≈ 1 token). */
#include "config.h"
#include "providers/provider.h"

#include <string.h>

#define MOCK_ANSWER "Hello from Alephant Gateway's built-in mock provider. Add a real provider key to talk to a model."

static gint64 approx_tokens(const char *s)
{
    return s == NULL ? 0 : (gint64)(strlen(s) + 3) / 4;
}

static gint64 prompt_tokens(json_t *body)
{
    gint64 n = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        json_t *c = json_object_get(m, "content");
        if (json_is_string(c))
            n += approx_tokens(json_string_value(c));
        n += 4; /* role and separators */
    }
    json_t *input = json_object_get(body, "input");
    if (json_is_string(input))
        n += approx_tokens(json_string_value(input));
    return n > 0 ? n : 1;
}

static void send_json(GwCall *call, int status, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    gw_response_start(call->req, status, gw_call_response_headers(call, "application/json"), NULL);
    gw_response_write(call->req, s, strlen(s));
    gw_call_log_response(call, s, strlen(s));
    free(s);
    call->log->status = status;
}

static void send_event(GwCall *call, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    char *ev = g_strconcat("data: ", s, "\n\n", NULL);
    gw_response_write(call->req, ev, strlen(ev));
    gw_response_flush(call->req);
    gw_call_log_response(call, ev, strlen(ev));
    g_free(ev);
    free(s);
}

static void mock_chat(GwCall *call)
{
    const char *model = call->model != NULL ? call->model : "mock-model";
    char id[40];
    g_snprintf(id, sizeof(id), "chatcmpl-mock%08x", g_random_int());
    gint64 created = g_get_real_time() / G_USEC_PER_SEC;
    call->usage.prompt_tokens = prompt_tokens(call->json);
    call->usage.completion_tokens = approx_tokens(MOCK_ANSWER);
    call->usage.total_tokens = call->usage.prompt_tokens + call->usage.completion_tokens;

    if (!call->stream) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:s}, s:s}], s:{s:I, s:I, s:I}}",
                              "id", id, "object", "chat.completion", "created", (json_int_t)created,
                              "model", model, "choices", "index", 0, "message", "role", "assistant",
                              "content", MOCK_ANSWER, "finish_reason", "stop", "usage",
                              "prompt_tokens", (json_int_t)call->usage.prompt_tokens,
                              "completion_tokens", (json_int_t)call->usage.completion_tokens,
                              "total_tokens", (json_int_t)call->usage.total_tokens);
        send_json(call, 200, o);
        json_decref(o);
        return;
    }
    gw_response_start(call->req, 200, gw_call_response_headers(call, "text/event-stream"), NULL);
    call->log->status = 200;
    char **words = g_strsplit(MOCK_ANSWER, " ", -1);
    for (guint i = 0; words[i] != NULL && !call->req->client_gone; i++) {
        char *piece = g_strconcat(i == 0 ? "" : " ", words[i], NULL);
        json_t *delta = i == 0 ? json_pack("{s:s, s:s}", "role", "assistant", "content", piece)
                               : json_pack("{s:s}", "content", piece);
        json_t *chunk = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n}]}", "id", id, "object",
                                  "chat.completion.chunk", "created", (json_int_t)created, "model",
                                  model, "choices", "index", 0, "delta", delta, "finish_reason");
        send_event(call, chunk);
        json_decref(chunk);
        g_free(piece);
    }
    g_strfreev(words);
    json_t *last = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{}, s:s}]}", "id", id, "object",
                             "chat.completion.chunk", "created", (json_int_t)created, "model", model,
                             "choices", "index", 0, "delta", "finish_reason", "stop");
    send_event(call, last);
    json_decref(last);
    json_t *opts = json_object_get(call->json, "stream_options");
    if (json_is_true(json_object_get(opts, "include_usage"))) {
        json_t *u = json_pack("{s:s, s:s, s:I, s:s, s:[], s:{s:I, s:I, s:I}}", "id", id, "object",
                              "chat.completion.chunk", "created", (json_int_t)created, "model", model,
                              "choices", "usage", "prompt_tokens", (json_int_t)call->usage.prompt_tokens,
                              "completion_tokens", (json_int_t)call->usage.completion_tokens,
                              "total_tokens", (json_int_t)call->usage.total_tokens);
        send_event(call, u);
        json_decref(u);
    }
    static const char done[] = "data: [DONE]\n\n";
    gw_response_write(call->req, done, sizeof(done) - 1);
    gw_response_flush(call->req);
    gw_call_log_response(call, done, sizeof(done) - 1);
}

static void mock_models(GwCall *call)
{
    json_t *o = json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}]}", "object", "list", "data", "id",
                          "mock-model", "object", "model", "created", 0, "owned_by", "alephant");
    send_json(call, 200, o);
    json_decref(o);
}

static void mock_serve(GwCall *call)
{
    const char *method = call->req->method;
    if (strcmp(call->path, "/v1/chat/completions") == 0 && strcmp(method, "POST") == 0) {
        if (call->json == NULL || !json_is_array(json_object_get(call->json, "messages"))) {
            gw_call_fail(call, GW_E_INVALID_REQUEST, "The mock provider expects a JSON chat "
                         "completion request with a \"messages\" array");
            return;
        }
        mock_chat(call);
    } else if (strcmp(call->path, "/v1/models") == 0 && strcmp(method, "GET") == 0) {
        mock_models(call);
    } else {
        gw_call_fail(call, GW_E_NOT_FOUND, "The mock provider only answers POST "
                     "/v1/chat/completions and GET /v1/models");
    }
}

static char *mock_url(const GwCall *call)
{
    return g_strconcat("mock:", call->path_query, NULL);
}

static struct curl_slist *mock_add_auth(struct curl_slist *list, const GwCall *call)
{
    (void)call;
    return list;
}

static void mock_usage(json_t *body, GwUsage *u)
{
    (void)body;
    (void)u;
}

static void mock_usage_event(const char *event, json_t *data, GwUsage *u)
{
    (void)event;
    (void)data;
    (void)u;
}

const GwProvider gw_provider_mock = {
    .kind = "mock",
    .upstream_url = mock_url,
    .add_auth = mock_add_auth,
    .usage_from_response = mock_usage,
    .usage_from_event = mock_usage_event,
    .serve = mock_serve,
};
