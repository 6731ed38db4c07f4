/* test_translate.c — OpenAI ⇄ Anthropic translation: request mapping and the field policy,
 * response and error mapping, the stream state machine chunk by chunk, and mutation fuzzing of
 * requests and stream events (hostile shapes must give GW_EINVAL or be ignored, never crash). */
#include "config.h"
#include "translate_anthropic.h"

#include <stdlib.h>
#include <string.h>

/* JSON from a test literal written with ' for " (keeps the expectations readable). */
static json_t *J(const char *s)
{
    char *t = g_strdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *j = json_loads(t, JSON_DECODE_ANY, &e);
    if (j == NULL)
        g_error("bad test JSON (%s): %s", e.text, t);
    g_free(t);
    return j;
}

static void assert_json(json_t *got, const char *want_lit)
{
    json_t *want = J(want_lit);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        g_error("JSON mismatch\n got: %s\nwant: %s", g, w);
    }
    json_decref(want);
}

/* Translates a request literal, asserting success; new reference. */
static json_t *req_ok(const char *lit)
{
    json_t *in = J(lit);
    json_t *out = NULL;
    GError *err = NULL;
    GwStatus st = gw_xlate_request_to_anthropic(in, "claude-x", &out, &err);
    if (st != GW_OK)
        g_error("unexpected failure: %s\nrequest: %s", err->message, lit);
    g_assert_no_error(err);
    g_assert_nonnull(out);
    json_decref(in);
    return out;
}

static void req_expect(const char *lit, const char *want)
{
    json_t *out = req_ok(lit);
    assert_json(out, want);
    json_decref(out);
}

/* Asserts GW_EINVAL with a message containing needle. */
static void req_fail(const char *lit, const char *needle)
{
    json_t *in = J(lit);
    json_t *out = (json_t *)1;
    GError *err = NULL;
    GwStatus st = gw_xlate_request_to_anthropic(in, "claude-x", &out, &err);
    g_assert_cmpint(st, ==, GW_EINVAL);
    g_assert_null(out);
    g_assert_nonnull(err);
    g_assert_error(err, GW_ERROR, GW_EINVAL);
    if (strstr(err->message, needle) == NULL)
        g_error("message '%s' lacks '%s' (request %s)", err->message, needle, lit);
    g_assert_true(g_utf8_validate(err->message, -1, NULL));
    g_error_free(err);
    json_decref(in);
}

#define HI "'messages':[{'role':'user','content':'hi'}]"
#define HI_OUT "'model':'claude-x','max_tokens':4096,'messages':[{'role':'user'," \
    "'content':[{'type':'text','text':'hi'}]}]"

/* ---- requests ---- */

static void test_req_system_multiturn(void)
{
    req_expect("{'model':'gpt-4o','messages':["
               "{'role':'system','content':'Be brief.'},"
               "{'role':'developer','content':[{'type':'text','text':'Speak French.'},"
               "                               {'type':'text','text':'No emoji.'}]},"
               "{'role':'user','content':'Hello'},"
               "{'role':'assistant','content':'Bonjour'},"
               "{'role':'user','content':[{'type':'text','text':'Again'}]}]}",
               "{'model':'claude-x','max_tokens':4096,"
               " 'system':'Be brief.\\n\\nSpeak French.\\n\\nNo emoji.',"
               " 'messages':[{'role':'user','content':[{'type':'text','text':'Hello'}]},"
               "             {'role':'assistant','content':[{'type':'text','text':'Bonjour'}]},"
               "             {'role':'user','content':[{'type':'text','text':'Again'}]}]}");
    /* model argument NULL: the request's own model is used */
    json_t *in = J("{'model':'claude-y'," HI "}");
    json_t *out = NULL;
    g_assert_cmpint(gw_xlate_request_to_anthropic(in, NULL, &out, NULL), ==, GW_OK);
    g_assert_cmpstr(json_string_value(json_object_get(out, "model")), ==, "claude-y");
    json_decref(out);
    json_decref(in);
    /* a system message mid-conversation is hoisted and the users around it merge */
    req_expect("{'messages':[{'role':'user','content':'a'},{'role':'system','content':'S'},"
               "{'role':'user','content':'b'}]}",
               "{'model':'claude-x','max_tokens':4096,'system':'S','messages':[{'role':'user',"
               "'content':[{'type':'text','text':'a'},{'type':'text','text':'b'}]}]}");
}

static void test_req_merge(void)
{
    req_expect("{'messages':[{'role':'user','content':'one'},{'role':'user','content':'two'},"
               "{'role':'assistant','content':'x'},{'role':'assistant','content':'y'},"
               "{'role':'user','content':[{'type':'text','text':'three',"
               "'cache_control':{'type':'ephemeral'}}]}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':["
               "{'role':'user','content':[{'type':'text','text':'one'},{'type':'text',"
               "'text':'two'}]},"
               "{'role':'assistant','content':[{'type':'text','text':'x'},{'type':'text',"
               "'text':'y'}]},"
               "{'role':'user','content':[{'type':'text','text':'three',"
               "'cache_control':{'type':'ephemeral'}}]}]}");
    /* empty texts are dropped (Anthropic rejects them); an empty message disappears and its
     * neighbours merge */
    req_expect("{'messages':[{'role':'user','content':'a'},{'role':'assistant','content':''},"
               "{'role':'user','content':'b'}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':[{'role':'user','content':["
               "{'type':'text','text':'a'},{'type':'text','text':'b'}]}]}");
    req_fail("{'messages':[{'role':'user','content':''}]}", "at least one");
    req_fail("{'messages':[]}", "'messages'");
    req_fail("{'model':'m'}", "'messages'");
}

static void test_req_images(void)
{
    req_expect("{'messages':[{'role':'user','content':["
               "{'type':'text','text':'What is this?'},"
               "{'type':'image_url','image_url':{'url':'https://example.com/cat.png',"
               "'detail':'high'}},"
               "{'type':'image_url','image_url':{'url':'data:image/png;base64,iVBORw0KGgo='}},"
               "{'type':'image_url','image_url':{'url':'data:image/JPG;base64,/9j/4AAQ'}},"
               "{'type':'image_url','image_url':{'url':'data:image/webp;base64,UklGR'}}]}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':[{'role':'user','content':["
               "{'type':'text','text':'What is this?'},"
               "{'type':'image','source':{'type':'url','url':'https://example.com/cat.png'}},"
               "{'type':'image','source':{'type':'base64','media_type':'image/png',"
               "'data':'iVBORw0KGgo='}},"
               "{'type':'image','source':{'type':'base64','media_type':'image/jpeg',"
               "'data':'/9j/4AAQ'}},"
               "{'type':'image','source':{'type':'base64','media_type':'image/webp',"
               "'data':'UklGR'}}]}]}");
    req_expect("{'messages':[{'role':'user','content':[{'type':'image_url','image_url':"
               "{'url':'data:image/gif;base64,R0lGOD'}}]}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':[{'role':'user','content':["
               "{'type':'image','source':{'type':'base64','media_type':'image/gif',"
               "'data':'R0lGOD'}}]}]}");
    req_fail("{'messages':[{'role':'user','content':[{'type':'image_url','image_url':"
             "{'url':'data:image/bmp;base64,Qk0='}}]}]}", "image/bmp");
    req_fail("{'messages':[{'role':'user','content':[{'type':'image_url','image_url':"
             "{'url':'data:image/png,rawbytes'}}]}]}", "base64");
    req_fail("{'messages':[{'role':'user','content':[{'type':'image_url','image_url':"
             "{'url':'data:image/png;base64,'}}]}]}", "empty image data");
    req_fail("{'messages':[{'role':'user','content':[{'type':'image_url','image_url':"
             "{'url':'ftp://x/y.png'}}]}]}", "http(s)");
    req_fail("{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{}}]}]}",
             "image_url.url");
    req_fail("{'messages':[{'role':'user','content':[{'type':'input_audio','input_audio':"
             "{'data':'x','format':'wav'}}]}]}", "'input_audio'");
    req_fail("{'messages':[{'role':'user','content':[{'type':'file','file':{'file_id':'f'}}]}]}",
             "'file'");
    /* images only in user messages */
    req_fail("{'messages':[{'role':'user','content':'x'},{'role':'assistant','content':"
             "[{'type':'image_url','image_url':{'url':'https://e/x.png'}}]}]}", "'image_url'");
    /* a long hostile media type is cut in the message, which stays valid UTF-8 */
    GString *s = g_string_new("{'messages':[{'role':'user','content':[{'type':'image_url',"
                              "'image_url':{'url':'data:image/");
    for (int i = 0; i < 200; i++)
        g_string_append(s, "\xc3\xa9");
    g_string_append(s, ";base64,AAAA'}}]}]}");
    req_fail(s->str, "...");
    g_string_free(s, TRUE);
}

static void test_req_tools(void)
{
#define TOOLS "'tools':[{'type':'function','function':{'name':'get_weather'," \
              "'description':'Weather'," \
              "'parameters':{'type':'object','properties':{'city':{'type':'string'}}," \
              "'required':['city']}," \
              "'strict':true}},{'type':'function','function':{'name':'now'}}]"
#define TOOLS_OUT "'tools':[{'name':'get_weather','description':'Weather'," \
                  "'input_schema':{'type':'object'," \
                  "'properties':{'city':{'type':'string'}},'required':['city']}}," \
                  "{'name':'now','input_schema':{'type':'object','properties':{}}}]"
    req_expect("{" HI "," TOOLS "}", "{" HI_OUT "," TOOLS_OUT "}");
    req_expect("{" HI "," TOOLS ",'tool_choice':'auto'}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'auto'}}");
    req_expect("{" HI "," TOOLS ",'tool_choice':'required'}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'any'}}");
    req_expect("{" HI "," TOOLS ",'tool_choice':'none'}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'none'}}");
    req_expect("{" HI "," TOOLS ",'tool_choice':{'type':'function','function':{'name':'now'}}}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'tool','name':'now'}}");
    req_expect("{" HI "," TOOLS ",'parallel_tool_calls':false}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'auto',"
               "'disable_parallel_tool_use':true}}");
    req_expect("{" HI "," TOOLS ",'tool_choice':'required','parallel_tool_calls':false}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'any',"
               "'disable_parallel_tool_use':true}}");
    req_expect("{" HI "," TOOLS ",'tool_choice':'none','parallel_tool_calls':false}",
               "{" HI_OUT "," TOOLS_OUT ",'tool_choice':{'type':'none'}}");
    req_expect("{" HI "," TOOLS ",'parallel_tool_calls':true}", "{" HI_OUT "," TOOLS_OUT "}");
    req_expect("{" HI ",'tools':[]}", "{" HI_OUT "}");
    req_fail("{" HI "," TOOLS ",'tool_choice':'sometimes'}", "'tool_choice'");
    req_fail("{" HI "," TOOLS ",'tool_choice':{'type':'allowed_tools'}}", "allowed_tools");
    req_fail("{" HI "," TOOLS ",'tool_choice':{'type':'function','function':{}}}", "tool_choice");
    req_fail("{" HI ",'tools':[{'type':'custom','custom':{'name':'x'}}]}", "'custom'");
    req_fail("{" HI ",'tools':[{'type':'function',"
        "'function':{'parameters':{}}}]}", "tools[0].function.name");
    req_fail("{" HI ",'tools':[{'type':'function','function':{'name':'x',"
        "'parameters':[]}}]}", "parameters");
    req_fail("{" HI ",'tools':{}}", "'tools'");
    req_fail("{" HI ",'parallel_tool_calls':'no'}", "parallel_tool_calls");
#undef TOOLS
#undef TOOLS_OUT
}

static void test_req_tool_roundtrip(void)
{
    req_expect("{'messages':["
               "{'role':'user','content':'Weather in Paris and Rome?'},"
               "{'role':'assistant','content':'Checking.','tool_calls':["
               "  {'id':'call_1','type':'function','function':{'name':'get_weather',"
               "'arguments':'{\\'city\\':\\'Paris\\'}'}},"
               "  {'id':'call.2','type':'function','function':{'name':'get_weather',"
               "'arguments':'{\\'city\\':\\'Rome\\'}'}}]},"
               "{'role':'tool','tool_call_id':'call_1','content':'18C'},"
               "{'role':'tool','tool_call_id':'call.2','content':[{'type':'text','text':'21C'}]},"
               "{'role':'user','content':'Thanks'},"
               "{'role':'assistant','content':null,'refusal':null,'tool_calls':[{'id':'call_3',"
               "'type':'function',"
               "  'function':{'name':'now','arguments':''}}]},"
               "{'role':'tool','tool_call_id':'call_3','content':''}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':["
               "{'role':'user','content':[{'type':'text','text':'Weather in Paris and Rome?'}]},"
               "{'role':'assistant','content':[{'type':'text','text':'Checking.'},"
               "  {'type':'tool_use','id':'call_1','name':'get_weather','input':{'city':'Paris'}},"
               "  {'type':'tool_use','id':'call_2','name':'get_weather','input':{'city':'Rome'}}]},"
               "{'role':'user','content':["
               "  {'type':'tool_result','tool_use_id':'call_1','content':'18C'},"
               "  {'type':'tool_result','tool_use_id':'call_2','content':[{'type':'text',"
               "'text':'21C'}]},"
               "  {'type':'text','text':'Thanks'}]},"
               "{'role':'assistant','content':[{'type':'tool_use','id':'call_3','name':'now',"
               "'input':{}}]},"
               "{'role':'user','content':[{'type':'tool_result','tool_use_id':'call_3'}]}]}");
    /* a user message before the tool results still puts the results first */
    req_expect("{'messages':[{'role':'user','content':'q'},"
               "{'role':'assistant','tool_calls':[{'id':'c1','type':'function',"
               "'function':{'name':'f','arguments':'{}'}}]},"
               "{'role':'user','content':'note'},{'role':'tool','tool_call_id':'c1',"
               "'content':'r'}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':["
               "{'role':'user','content':[{'type':'text','text':'q'}]},"
               "{'role':'assistant','content':[{'type':'tool_use','id':'c1','name':'f',"
               "'input':{}}]},"
               "{'role':'user','content':[{'type':'tool_result','tool_use_id':'c1','content':'r'},"
               "  {'type':'text','text':'note'}]}]}");
    req_fail("{'messages':[{'role':'user','content':'q'},{'role':'assistant',"
        "'tool_calls':[{'id':'c1',"
             "'type':'function','function':{'name':'f','arguments':'{not json'}}]}]}", "arguments");
    req_fail("{'messages':[{'role':'user','content':'q'},{'role':'assistant',"
        "'tool_calls':[{'id':'c1',"
             "'type':'function','function':{'name':'f','arguments':'[1,2]'}}]}]}", "arguments");
    req_fail("{'messages':[{'role':'user','content':'q'},{'role':'assistant','tool_calls':[{"
             "'type':'function','function':{'name':'f','arguments':'{}'}}]}]}", "tool_calls[0].id");
    req_fail("{'messages':[{'role':'user','content':'q'},{'role':'assistant',"
        "'tool_calls':[{'id':'c',"
             "'type':'custom','custom':{'name':'f','input':'x'}}]}]}", "'custom'");
    req_fail("{'messages':[{'role':'tool','content':'r'}]}", "tool_call_id");
    req_fail("{'messages':[{'role':'function','name':'f','content':'r'}]}", "'function'");
    req_fail("{'messages':[{'role':'user','content':'x',"
        "'tool_calls':[{'id':'c'}]}]}", "tool_calls");
    req_fail("{'messages':[{'role':'assistant','content':'x','function_call':{'name':'f',"
        "'arguments':'{}'}}]}",
             "function_call");
    req_fail("{'messages':[{'role':'assistant','content':'x','audio':{'id':'a'}}]}", "audio");
    req_fail("{'messages':[{'role':'user','content':'x','colour':'red'}]}", "'colour'");
    req_fail("{'messages':[{'role':'robot','content':'x'}]}", "'robot'");
    /* participant names are ignored; a past refusal is shown as assistant text */
    req_expect("{'messages':[{'role':'user','name':'ann','content':'x'},"
               "{'role':'assistant','content':null,'refusal':'I cannot.'}]}",
               "{'model':'claude-x','max_tokens':4096,'messages':["
               "{'role':'user','content':[{'type':'text','text':'x'}]},"
               "{'role':'assistant','content':[{'type':'text','text':'I cannot.'}]}]}");
}

static void test_req_unsupported(void)
{
    static const struct {
        const char *field;
        const char *needle;
    } cases[] = {
        { "'n':2", "'n'" },
        { "'n':0", "'n'" },
        { "'logprobs':true", "'logprobs'" },
        { "'top_logprobs':3", "'top_logprobs'" },
        { "'response_format':{'type':'json_object'}", "'response_format'" },
        { "'response_format':{'type':'json_schema','json_schema':{'name':'x',"
            "'schema':{}}}", "'response_format'" },
        { "'frequency_penalty':0.5", "'frequency_penalty'" },
        { "'presence_penalty':-1", "'presence_penalty'" },
        { "'logit_bias':{'50256':-100}", "'logit_bias'" },
        { "'audio':{'voice':'alloy','format':'wav'}", "'audio'" },
        { "'modalities':['text','audio']", "'modalities'" },
        { "'prediction':{'type':'content','content':'x'}", "'prediction'" },
        { "'functions':[{'name':'f'}]", "'functions'" },
        { "'function_call':'auto'", "'function_call'" },
        { "'store':true", "'store'" },
        { "'metadata':{'k':'v'}", "'metadata'" },
        { "'service_tier':'flex'", "'service_tier'" },
        { "'reasoning_effort':'high'", "'reasoning_effort'" },
        { "'verbosity':'low'", "'verbosity'" },
        { "'web_search_options':{}", "'web_search_options'" },
        { "'best_of':3", "best_of" },
        { "'temperature':1.5", "'temperature'" },
        { "'temperature':2.5", "'temperature'" },
        { "'temperature':-0.1", "'temperature'" },
        { "'temperature':'hot'", "'temperature'" },
        { "'top_p':1.1", "'top_p'" },
        { "'top_k':-1", "'top_k'" },
        { "'max_tokens':0", "'max_tokens'" },
        { "'max_tokens':'many'", "'max_tokens'" },
        { "'max_completion_tokens':1.5", "'max_completion_tokens'" },
        { "'stop':[1]", "'stop'" },
        { "'stop':{}", "'stop'" },
        { "'stream':'yes'", "'stream'" },
        { "'stream_options':true", "'stream_options'" },
        { "'user':42", "'user'" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *lit = g_strdup_printf("{" HI ",%s}", cases[i].field);
        req_fail(lit, cases[i].needle);
        g_free(lit);
    }
    req_fail("{" HI ",'temperature':1.5}", "maximum for Anthropic models");
}

static void test_req_ignored_and_mapped(void)
{
    /* no-op values and harmless fields are accepted and dropped */
    req_expect("{" HI ",'n':1,'store':false,'logprobs':false,'top_logprobs':0,"
        "'frequency_penalty':0,"
               "'presence_penalty':0.0,'logit_bias':{},'metadata':{},"
               "'response_format':{'type':'text'},"
               "'modalities':['text'],'service_tier':'auto','seed':7,'prompt_cache_key':'k',"
               "'stream_options':{'include_usage':true},'audio':null,'functions':null,'n':null}",
               "{" HI_OUT "}");
    req_expect("{" HI ",'max_tokens':100,'temperature':0.7,'top_p':0.9,'top_k':40,'stop':'END',"
               "'stream':true,'user':'u-1'}",
               "{'model':'claude-x','max_tokens':100,'messages':[{'role':'user','content':"
               "[{'type':'text','text':'hi'}]}],'temperature':0.7,'top_p':0.9,'top_k':40,"
               "'stop_sequences':['END'],'stream':true,'metadata':{'user_id':'u-1'}}");
    req_expect("{" HI ",'max_tokens':100,'max_completion_tokens':200,'temperature':1,"
               "'stop':['a','b'],'stream':false,'safety_identifier':'s-1','user':'u-1'}",
               "{'model':'claude-x','max_tokens':200,'messages':[{'role':'user','content':"
               "[{'type':'text','text':'hi'}]}],'temperature':1,'stop_sequences':['a','b'],"
               "'stream':false,'metadata':{'user_id':'s-1'}}");
    req_expect("{" HI ",'max_completion_tokens':null,'max_tokens':null,'temperature':null,"
        "'stop':[]}",
               "{" HI_OUT "}");
    /* max_tokens default */
    json_t *out = req_ok("{" HI "}");
    g_assert_cmpint(json_integer_value(json_object_get(out, "max_tokens")), ==, 4096);
    json_decref(out);
}

static void test_req_bad_shapes(void)
{
    const char *bad[] = {
        "[]", "'x'", "null", "{}",
        "{'messages':'hi'}", "{'messages':[1]}", "{'messages':[{}]}",
        "{'messages':[{'role':1,'content':'x'}]}", "{'messages':[{'role':'user'}]}",
        "{'messages':[{'role':'user','content':5}]}", "{'messages':[{'role':'user',"
        "'content':[5]}]}",
        "{'messages':[{'role':'user','content':[{'type':'text'}]}]}",
        "{'messages':[{'role':'user','content':[{'type':'text','text':3}]}]}",
        "{'messages':[{'role':'system','content':[{'type':'image_url',"
        "'image_url':{'url':'https://x'}}]}]}",
        "{'messages':[{'role':'system','content':null}]}",
        "{'messages':[{'role':'tool','tool_call_id':'c','content':[{'type':'image_url'}]}]}",
        "{'messages':[{'role':'tool','tool_call_id':'c','content':7}]}",
        "{'messages':[{'role':'assistant','content':'x','tool_calls':{}}]}",
        "{'messages':[{'role':'assistant','content':'x','tool_calls':[1]}]}",
        "{'messages':[{'role':'assistant','content':'x','tool_calls':[{'id':'c',"
        "'function':{'name':'f','arguments':5}}]}]}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        json_t *in = J(bad[i]);
        json_t *out = NULL;
        GError *err = NULL;
        g_assert_cmpint(gw_xlate_request_to_anthropic(in, "m", &out, &err), ==, GW_EINVAL);
        g_assert_null(out);
        g_assert_nonnull(err);
        g_error_free(err);
        json_decref(in);
    }
    /* no model anywhere */
    json_t *in = J("{" HI "}");
    json_t *out = NULL;
    g_assert_cmpint(gw_xlate_request_to_anthropic(in, NULL, &out, NULL), ==, GW_EINVAL);
    g_assert_cmpint(gw_xlate_request_to_anthropic(in, "", &out, NULL), ==, GW_EINVAL);
    g_assert_cmpint(gw_xlate_request_to_anthropic(in, "bad\xff", &out, NULL), ==, GW_EINVAL);
    g_assert_null(out);
    json_decref(in);
}

/* The output shares nothing mutable with the input. */
static void test_req_no_sharing(void)
{
    json_t *in = J("{'messages':[{'role':'user','content':'x'}],'tools':[{'type':'function',"
                   "'function':{'name':'f','parameters':{'type':'object','properties':{}}}}]}");
    json_t *out = NULL;
    g_assert_cmpint(gw_xlate_request_to_anthropic(in, "m", &out, NULL), ==, GW_OK);
    json_t *tool0 = json_array_get(json_object_get(out, "tools"), 0);
    json_t *schema = json_object_get(tool0, "input_schema");
    json_object_set_new(schema, "changed", json_true());
    json_t *orig = json_object_get(json_object_get(json_array_get(json_object_get(in, "tools"), 0),
                                                   "function"), "parameters");
    g_assert_null(json_object_get(orig, "changed"));
    json_decref(in);
    json_decref(out);
}

/* ---- responses ---- */

static json_t *resp_ok(const char *lit)
{
    json_t *in = J(lit);
    json_t *out = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_xlate_response_from_anthropic(in, &out, &err), ==, GW_OK);
    g_assert_no_error(err);
    json_decref(in);
    /* created is "now": check it, then drop it so the rest compares exactly */
    json_t *created = json_object_get(out, "created");
    g_assert_true(json_is_integer(created));
    g_assert_cmpint(llabs(json_integer_value(created) - g_get_real_time() / G_USEC_PER_SEC), <=, 5);
    json_object_del(out, "created");
    return out;
}

static void test_resp_text(void)
{
    json_t *out = resp_ok(
        "{'id':'msg_01XYZ','type':'message','role':'assistant','model':'claude-sonnet-4-5',"
        "'content':[{'type':'thinking','thinking':'hmm','signature':'s'},"
        "{'type':'text','text':'Hello'},{'type':'text','text':' world'}],"
        "'stop_reason':'end_turn','stop_sequence':null,"
        "'usage':{'input_tokens':10,'output_tokens':5,'cache_read_input_tokens':100,"
        "'cache_creation_input_tokens':20}}");
    assert_json(out, "{'id':'chatcmpl-01XYZ','object':'chat.completion',"
        "'model':'claude-sonnet-4-5',"
                     "'choices':[{'index':0,'message':{'role':'assistant','content':'Hello world',"
                     "'refusal':null},'logprobs':null,'finish_reason':'stop'}],"
                     "'usage':{'prompt_tokens':130,'completion_tokens':5,'total_tokens':135,"
                     "'prompt_tokens_details':{'cached_tokens':100}}}");
    json_decref(out);
}

static void test_resp_tool_use(void)
{
    json_t *out = resp_ok(
        "{'id':'msg_1','type':'message','role':'assistant','model':'m',"
        "'content':[{'type':'text','text':'Let me check.'},"
        "{'type':'tool_use','id':'toolu_A','name':'get_weather','input':{'city':'Paris','n':[1,"
        "2]}},"
        "{'type':'tool_use','id':'toolu_B','name':'now','input':{}}],"
        "'stop_reason':'tool_use','usage':{'input_tokens':3,'output_tokens':4}}");
    assert_json(out, "{'id':'chatcmpl-1','object':'chat.completion','model':'m',"
                     "'choices':[{'index':0,'message':{'role':'assistant','content':'Let me "
                     "check.',"
                     "'refusal':null,'tool_calls':["
                     "{'id':'toolu_A','type':'function','function':{'name':'get_weather',"
                     "'arguments':'{\\'city\\':\\'Paris\\',\\'n\\':[1,2]}'}},"
                     "{'id':'toolu_B','type':'function','function':{'name':'now',"
                     "'arguments':'{}'}}]},"
                     "'logprobs':null,'finish_reason':'tool_calls'}],"
                     "'usage':{'prompt_tokens':3,'completion_tokens':4,'total_tokens':7,"
                     "'prompt_tokens_details':{'cached_tokens':0}}}");
    json_decref(out);
    /* tool_use only: content is null */
    out = resp_ok("{'type':'message','content':[{'type':'tool_use','id':'t','name':'f',"
        "'input':{}}],"
                  "'stop_reason':'tool_use'}");
    g_assert_true(json_is_null(json_object_get(json_object_get(json_array_get(
        json_object_get(out, "choices"), 0), "message"), "content")));
    json_decref(out);
}

static void test_resp_stop_reasons(void)
{
    static const char *map[][2] = {
        { "'end_turn'", "stop" }, { "'stop_sequence'", "stop" }, { "'max_tokens'", "length" },
        { "'tool_use'", "tool_calls" }, { "'refusal'", "content_filter" },
        { "'pause_turn'", "stop" },
        { "'model_context_window_exceeded'", "length" }, { "'something_new'", "stop" },
        { "null", "stop" }, { "7", "stop" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
        char *lit = g_strdup_printf("{'id':'msg_1','type':'message','model':'m','content':[],"
                                    "'stop_reason':%s}", map[i][0]);
        json_t *out = resp_ok(lit);
        json_t *choice = json_array_get(json_object_get(out, "choices"), 0);
        g_assert_cmpstr(json_string_value(json_object_get(choice, "finish_reason")), ==, map[i][1]);
        g_assert_true(json_is_null(json_object_get(json_object_get(choice, "message"), "content")));
        json_decref(out);
        g_free(lit);
    }
}

static void test_resp_garbage(void)
{
    const char *bad[] = { "null", "[]", "'x'", "{}", "{'type':'error','error':{}}",
                          "{'type':'message','content':{}}" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        json_t *in = J(bad[i]);
        json_t *out = (json_t *)1;
        GError *err = NULL;
        g_assert_cmpint(gw_xlate_response_from_anthropic(in, &out, &err), ==, GW_EINVAL);
        g_assert_null(out);
        g_assert_nonnull(err);
        g_error_free(err);
        json_decref(in);
    }
    /* odd blocks and usage are tolerated */
    json_t *out = resp_ok("{'content':[1,null,{'type':5},{'type':'text','text':7},"
                          "{'type':'tool_use','name':'f'},{'type':'tool_use','id':'t','name':'f',"
                          "'input':'x'}],"
                          "'usage':{'input_tokens':-5,'output_tokens':99999999999999999,"
                          "'cache_read_input_tokens':'x'},'model':3,'id':4}");
    json_t *choice = json_array_get(json_object_get(out, "choices"), 0);
    json_t *calls = json_object_get(json_object_get(choice, "message"), "tool_calls");
    g_assert_cmpuint(json_array_size(calls), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(json_array_get(calls, 0),
                    "function"), "arguments")), ==, "{}");
    g_assert_true(g_str_has_prefix(json_string_value(json_object_get(out, "id")), "chatcmpl-"));
    g_assert_cmpstr(json_string_value(json_object_get(out, "model")), ==, "");
    json_t *u = json_object_get(out, "usage");
    g_assert_cmpint(json_integer_value(json_object_get(u, "prompt_tokens")), ==, 0);
    g_assert_cmpint(json_integer_value(json_object_get(u, "completion_tokens")), ==,
                    (gint64)1 << 40);
    json_decref(out);
}

/* ---- errors ---- */

static void error_expect(const char *body, int status, const char *want)
{
    json_t *in = body != NULL ? J(body) : NULL;
    json_t *out = gw_xlate_error_from_anthropic(in, status);
    assert_json(out, want);
    json_decref(out);
    json_decref(in);
}

static void test_error_body(void)
{
    error_expect("{'type':'error','error':{'type':'overloaded_error','message':'Overloaded'}}", 529,
                 "{'error':{'message':'Overloaded','type':'api_error','code':'overloaded'}}");
    error_expect("{'type':'error','error':{'type':'invalid_request_error','message':'max_tokens: "
        "too big'}}",
                 400, "{'error':{'message':'max_tokens: too big','type':'invalid_request_error',"
                 "'code':'invalid_request'}}");
    error_expect("{'type':'error','error':{'type':'rate_limit_error','message':'Slow down'}}", 429,
                 "{'error':{'message':'Slow down','type':'rate_limit_error',"
                 "'code':'rate_limit_exceeded'}}");
    error_expect("{'type':'error','error':{'type':'authentication_error','message':'bad "
        "key'}}", 401,
                 "{'error':{'message':'bad key','type':'authentication_error',"
                 "'code':'upstream_authentication_failed'}}");
    error_expect("{'type':'error','error':{'type':'not_found_error','message':'model: x'}}", 404,
                 "{'error':{'message':'model: x','type':'invalid_request_error',"
                 "'code':'not_found'}}");
    error_expect("{'type':'error','error':{'type':'weird_error','message':'Huh'}}", 418,
                 "{'error':{'message':'Huh','type':'invalid_request_error',"
                 "'code':'upstream_error'}}");
    error_expect("'<html>bad gateway</html>'", 502,
                 "{'error':{'message':'The upstream provider returned an error (HTTP 502)',"
                 "'type':'api_error','code':'upstream_error'}}");
    error_expect(NULL, 429, "{'error':{'message':'The upstream provider returned an error (HTTP "
        "429)',"
                            "'type':'rate_limit_error','code':'rate_limit_exceeded'}}");
    error_expect("{'error':{'message':5,'type':[]}}", 0,
                 "{'error':{'message':'The upstream provider returned an error',"
                 "'type':'api_error','code':'upstream_error'}}");
}

/* ---- streams ---- */

typedef struct {
    const char *event;
    const char *data;  /* test literal, ' for " */
} Ev;

/* Parses produced SSE text into an array: a chunk object, the string "[DONE]", or
 * {"event":"error","data":{...}} for an error event. Asserts the framing is exact. */
static json_t *parse_sse(const GString *s)
{
    json_t *arr = json_array();
    g_assert_true(s->len == 0 || g_str_has_suffix(s->str, "\n\n"));
    g_assert_cmpuint(strlen(s->str), ==, s->len);
    gchar **evs = g_strsplit(s->str, "\n\n", -1);
    for (gchar **e = evs; *e != NULL; e++) {
        if (**e == '\0')
            continue;
        const char *line = *e;
        const char *name = NULL;
        if (g_str_has_prefix(line, "event: ")) {
            const char *nl = strchr(line, '\n');
            g_assert_nonnull(nl);
            name = "error";
            g_assert_cmpmem(line, (size_t)(nl - line), "event: error", 12);
            line = nl + 1;
        }
        g_assert_true(g_str_has_prefix(line, "data: "));
        g_assert_null(strchr(line, '\n'));
        line += 6;
        if (strcmp(line, "[DONE]") == 0) {
            g_assert_null(name);
            json_array_append_new(arr, json_string("[DONE]"));
            continue;
        }
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (j == NULL)
            g_error("bad chunk JSON: %s", line);
        if (name != NULL)
            j = json_pack("{s:s, s:o}", "event", "error", "data", j);
        json_array_append_new(arr, j);
    }
    g_strfreev(evs);
    return arr;
}

static GString *run_stream(const Ev *evs, size_t n, gboolean include_usage, GwXlateStream **keep)
{
    GwXlateStream *xs = gw_xlate_stream_new(include_usage);
    GString *out = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        json_t *data = evs[i].data != NULL ? J(evs[i].data) : NULL;
        GError *err = NULL;
        g_assert_cmpint(gw_xlate_stream_event(xs, evs[i].event, data, out, &err), ==, GW_OK);
        g_assert_no_error(err);
        json_decref(data);
    }
    if (keep != NULL)
        *keep = xs;
    else
        gw_xlate_stream_free(xs);
    return out;
}

/* Checks id/object/created/model on every chunk, then strips them for exact comparison. */
static void strip_chunk_header(json_t *chunks, const char *id, const char *model)
{
    json_int_t created = -1;
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c) {
        if (!json_is_object(c) || json_object_get(c, "event") != NULL)
            continue;
        g_assert_cmpstr(json_string_value(json_object_get(c, "id")), ==, id);
        g_assert_cmpstr(json_string_value(json_object_get(c, "object")), ==,
                        "chat.completion.chunk");
        g_assert_cmpstr(json_string_value(json_object_get(c, "model")), ==, model);
        json_t *cr = json_object_get(c, "created");
        g_assert_true(json_is_integer(cr));
        if (created < 0)
            created = json_integer_value(cr);
        g_assert_cmpint(json_integer_value(cr), ==, created); /* stable across the stream */
        json_object_del(c, "id");
        json_object_del(c, "object");
        json_object_del(c, "model");
        json_object_del(c, "created");
    }
}

static const Ev tool_stream[] = {
    { "message_start", "{'type':'message_start','message':{'id':'msg_01ABC','type':'message',"
                       "'role':'assistant','model':'claude-sonnet-4-5','content':[],"
                       "'stop_reason':null,"
                       "'usage':{'input_tokens':25,'cache_read_input_tokens':10,"
                       "'cache_creation_input_tokens':5,'output_tokens':1}}}" },
    { "ping", "{'type':'ping'}" },
    { "content_block_start", "{'type':'content_block_start','index':0,"
        "'content_block':{'type':'tool_use',"
                             "'id':'toolu_01','name':'get_weather','input':{}}}" },
    { "content_block_delta", "{'type':'content_block_delta','index':0,"
        "'delta':{'type':'input_json_delta','partial_json':''}}" },
    { "content_block_delta", "{'type':'content_block_delta','index':0,"
        "'delta':{'type':'input_json_delta','partial_json':'{\\'ci'}}" },
    { "content_block_delta", "{'type':'content_block_delta','index':0,"
        "'delta':{'type':'input_json_delta','partial_json':'ty\\': \\'Par'}}" },
    { "content_block_delta", "{'type':'content_block_delta','index':0,"
        "'delta':{'type':'input_json_delta','partial_json':'is\\'}'}}" },
    { "content_block_stop", "{'type':'content_block_stop','index':0}" },
    { "message_delta", "{'type':'message_delta','delta':{'stop_reason':'tool_use',"
        "'stop_sequence':null},"
                       "'usage':{'output_tokens':42}}" },
    { "message_stop", "{'type':'message_stop'}" },
};

#define CHUNK(delta, finish) "{'choices':[{'index':0,'delta':" delta ",'logprobs':null," \
    "'finish_reason':" finish "}]}"
#define CHUNK_U(delta, finish) "{'choices':[{'index':0,'delta':" delta ",'logprobs':null," \
    "'finish_reason':" finish "}],'usage':null}"

static void test_stream_tool_call(void)
{
    GwXlateStream *xs = NULL;
    GString *out = run_stream(tool_stream, G_N_ELEMENTS(tool_stream), FALSE, &xs);
    json_t *chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-01ABC", "claude-sonnet-4-5");
    assert_json(chunks, "["
        CHUNK("{'role':'assistant','content':''}", "null") ","
        CHUNK("{'tool_calls':[{'index':0,'id':'toolu_01','type':'function',"
            "'function':{'name':'get_weather','arguments':''}}]}", "null") ","
        CHUNK("{'tool_calls':[{'index':0,'function':{'arguments':'{\\'ci'}}]}", "null") ","
        CHUNK("{'tool_calls':[{'index':0,'function':{'arguments':'ty\\': \\'Par'}}]}", "null") ","
        CHUNK("{'tool_calls':[{'index':0,'function':{'arguments':'is\\'}'}}]}", "null") ","
        CHUNK("{}", "'tool_calls'") ","
        "'[DONE]']");
    /* the argument fragments reassemble into the tool input */
    GString *args = g_string_new(NULL);
    for (size_t i = 2; i <= 4; i++) {
        json_t *tc = json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(
            json_array_get(chunks, i), "choices"), 0), "delta"), "tool_calls"), 0);
        json_t *fn = json_object_get(tc, "function");
        g_string_append(args, json_string_value(json_object_get(fn, "arguments")));
    }
    json_t *parsed = json_loads(args->str, 0, NULL);
    assert_json(parsed, "{'city':'Paris'}");
    json_decref(parsed);
    g_string_free(args, TRUE);

    gint64 p, c, k;
    gw_xlate_stream_usage(xs, &p, &c, &k);
    g_assert_cmpint(p, ==, 40);
    g_assert_cmpint(c, ==, 42);
    g_assert_cmpint(k, ==, 10);
    /* after message_stop everything is ignored */
    GString *more = g_string_new(NULL);
    json_t *d = J("{'type':'message_stop'}");
    g_assert_cmpint(gw_xlate_stream_event(xs, "message_stop", d, more, NULL), ==, GW_OK);
    g_assert_cmpuint(more->len, ==, 0);
    json_decref(d);
    g_string_free(more, TRUE);
    gw_xlate_stream_free(xs);
    json_decref(chunks);
    g_string_free(out, TRUE);
}

static void test_stream_tool_call_usage(void)
{
    GString *out = run_stream(tool_stream, G_N_ELEMENTS(tool_stream), TRUE, NULL);
    json_t *chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-01ABC", "claude-sonnet-4-5");
    assert_json(chunks, "["
        CHUNK_U("{'role':'assistant','content':''}", "null") ","
        CHUNK_U("{'tool_calls':[{'index':0,'id':'toolu_01','type':'function',"
            "'function':{'name':'get_weather','arguments':''}}]}", "null") ","
        CHUNK_U("{'tool_calls':[{'index':0,'function':{'arguments':'{\\'ci'}}]}", "null") ","
        CHUNK_U("{'tool_calls':[{'index':0,'function':{'arguments':'ty\\': \\'Par'}}]}", "null") ","
        CHUNK_U("{'tool_calls':[{'index':0,'function':{'arguments':'is\\'}'}}]}", "null") ","
        CHUNK_U("{}", "'tool_calls'") ","
        "{'choices':[],'usage':{'prompt_tokens':40,'completion_tokens':42,'total_tokens':82,"
        "'prompt_tokens_details':{'cached_tokens':10}}},"
        "'[DONE]']");
    json_decref(chunks);
    g_string_free(out, TRUE);
}

static void test_stream_text_and_tools(void)
{
    /* text, thinking (skipped), then two tools: tool indexes count tools only */
    static const Ev evs[] = {
        { "message_start", "{'type':'message_start','message':{'id':'msg_T','model':'m',"
            "'usage':{'input_tokens':3}}}" },
        { "content_block_start", "{'type':'content_block_start','index':0,"
            "'content_block':{'type':'thinking','thinking':''}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':0,"
            "'delta':{'type':'thinking_delta','thinking':'hmm'}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':0,"
            "'delta':{'type':'signature_delta','signature':'sig'}}" },
        { "content_block_stop", "{'type':'content_block_stop','index':0}" },
        { "content_block_start", "{'type':'content_block_start','index':1,"
            "'content_block':{'type':'text','text':''}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':1,"
            "'delta':{'type':'text_delta','text':'Hi'}}" },
        { "content_block_stop", "{'type':'content_block_stop','index':1}" },
        { "content_block_start", "{'type':'content_block_start','index':2,"
            "'content_block':{'type':'tool_use','id':'t1','name':'a','input':{}}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':2,"
            "'delta':{'type':'input_json_delta','partial_json':'{}'}}" },
        { "content_block_start", "{'type':'content_block_start','index':3,"
            "'content_block':{'type':'tool_use','id':'t2','name':'b','input':{}}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':3,"
            "'delta':{'type':'input_json_delta','partial_json':'{}'}}" },
        { "message_delta", "{'type':'message_delta','delta':{'stop_reason':'tool_use'},"
            "'usage':{'output_tokens':9}}" },
        { "message_stop", "{'type':'message_stop'}" },
    };
    GString *out = run_stream(evs, G_N_ELEMENTS(evs), FALSE, NULL);
    json_t *chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-T", "m");
    assert_json(chunks, "["
        CHUNK("{'role':'assistant','content':''}", "null") ","
        CHUNK("{'content':'Hi'}", "null") ","
        CHUNK("{'tool_calls':[{'index':0,'id':'t1','type':'function','function':{'name':'a',"
            "'arguments':''}}]}", "null") ","
        CHUNK("{'tool_calls':[{'index':0,'function':{'arguments':'{}'}}]}", "null") ","
        CHUNK("{'tool_calls':[{'index':1,'id':'t2','type':'function','function':{'name':'b',"
            "'arguments':''}}]}", "null") ","
        CHUNK("{'tool_calls':[{'index':1,'function':{'arguments':'{}'}}]}", "null") ","
        CHUNK("{}", "'tool_calls'") ","
        "'[DONE]']");
    json_decref(chunks);
    g_string_free(out, TRUE);
}

static void test_stream_text(void)
{
    /* event names only (no data.type) also work; no message_delta stop_reason → "stop" */
    static const Ev evs[] = {
        { "message_start", "{'message':{'id':'msg_X','model':'claude-haiku',"
            "'usage':{'input_tokens':7,'output_tokens':1}}}" },
        { "content_block_start", "{'index':0,'content_block':{'type':'text','text':''}}" },
        { "ping", "{}" },
        { "content_block_delta", "{'index':0,'delta':{'type':'text_delta','text':'Hello'}}" },
        { "content_block_delta", "{'index':0,'delta':{'type':'text_delta','text':', "
            "\\u00e9t\\u00e9\\n'}}" },
        { "content_block_stop", "{'index':0}" },
        { "message_delta", "{'delta':{'stop_reason':null},'usage':{'output_tokens':6}}" },
        { "message_stop", "{}" },
    };
    GwXlateStream *xs = NULL;
    GString *out = run_stream(evs, G_N_ELEMENTS(evs), TRUE, &xs);
    json_t *chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-X", "claude-haiku");
    assert_json(chunks, "["
        CHUNK_U("{'role':'assistant','content':''}", "null") ","
        CHUNK_U("{'content':'Hello'}", "null") ","
        CHUNK_U("{'content':', \\u00e9t\\u00e9\\n'}", "null") ","
        CHUNK_U("{}", "'stop'") ","
        "{'choices':[],'usage':{'prompt_tokens':7,'completion_tokens':6,'total_tokens':13,"
        "'prompt_tokens_details':{'cached_tokens':0}}},"
        "'[DONE]']");
    gint64 p, c, k;
    gw_xlate_stream_usage(xs, &p, &c, &k);
    g_assert_cmpint(p, ==, 7);
    g_assert_cmpint(c, ==, 6);
    g_assert_cmpint(k, ==, -1);
    gw_xlate_stream_free(xs);
    json_decref(chunks);
    g_string_free(out, TRUE);

    /* max_tokens → length */
    static const Ev evs2[] = {
        { "message_start", "{'type':'message_start','message':{'id':'msg_Y','model':'m'}}" },
        { "message_delta", "{'type':'message_delta','delta':{'stop_reason':'max_tokens'}}" },
        { "message_stop", "{'type':'message_stop'}" },
    };
    out = run_stream(evs2, G_N_ELEMENTS(evs2), FALSE, &xs);
    chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-Y", "m");
    assert_json(chunks, "[" CHUNK("{'role':'assistant','content':''}", "null") ","
                        CHUNK("{}", "'length'") ",'[DONE]']");
    gw_xlate_stream_usage(xs, &p, &c, &k);
    g_assert_cmpint(p, ==, -1);
    g_assert_cmpint(c, ==, -1);
    gw_xlate_stream_free(xs);
    json_decref(chunks);
    g_string_free(out, TRUE);
}

static void test_stream_error(void)
{
    static const Ev evs[] = {
        { "message_start", "{'type':'message_start','message':{'id':'msg_E','model':'m'}}" },
        { "content_block_start", "{'type':'content_block_start','index':0,"
            "'content_block':{'type':'text','text':''}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':0,"
            "'delta':{'type':'text_delta','text':'Hi'}}" },
        { "error", "{'type':'error','error':{'type':'overloaded_error','message':'Overloaded'}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':0,"
            "'delta':{'type':'text_delta','text':'late'}}" },
        { "message_stop", "{'type':'message_stop'}" },
    };
    GString *out = run_stream(evs, G_N_ELEMENTS(evs), FALSE, NULL);
    g_assert_true(g_str_has_suffix(out->str, "event: error\ndata: "
        "{\"error\":{\"message\":\"Overloaded\","
                                             "\"type\":\"api_error\","
                                             "\"code\":\"overloaded\"}}\n\n"));
    json_t *chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-E", "m");
    assert_json(chunks, "[" CHUNK("{'role':'assistant','content':''}", "null") ","
                        CHUNK("{'content':'Hi'}", "null") ","
                        "{'event':'error','data':{'error':{'message':'Overloaded',"
                        "'type':'api_error',"
                        "'code':'overloaded'}}}]");
    json_decref(chunks);
    g_string_free(out, TRUE);

    /* an error before anything else, with a garbage body */
    static const Ev evs2[] = { { "error", "{'error':'boom'}" } };
    out = run_stream(evs2, 1, TRUE, NULL);
    g_assert_cmpstr(out->str, ==, "event: error\ndata: {\"error\":{\"message\":\"The upstream "
        "provider "
                                  "returned an error\",\"type\":\"api_error\","
                                  "\"code\":\"upstream_error\"}}\n\n");
    g_string_free(out, TRUE);
}

static void test_stream_out_of_order(void)
{
    static const Ev evs[] = {
        { "content_block_delta", "{'type':'content_block_delta','index':0,"
            "'delta':{'type':'text_delta','text':'early'}}" },
        { "message_delta", "{'type':'message_delta','delta':{'stop_reason':'end_turn'}}" },
        { "message_start", "{'type':'message_start','message':{'id':'msg_O','model':'m'}}" },
        { "message_start", "{'type':'message_start','message':{'id':'msg_P','model':'other'}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':5,"
            "'delta':{'type':'text_delta','text':'unknown block'}}" },
        { "content_block_start", "{'type':'content_block_start','index':0,"
            "'content_block':{'type':'text','text':'pre'}}" },
        { "content_block_start", "{'type':'content_block_start','index':0,"
            "'content_block':{'type':'tool_use','id':'x','name':'y'}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':0,"
            "'delta':{'type':'input_json_delta','partial_json':'{'}}" },
        { "content_block_start", "{'type':'content_block_start','index':1,"
            "'content_block':{'type':'tool_use','name':'noid'}}" },
        { "content_block_delta", "{'type':'content_block_delta','index':1,"
            "'delta':{'type':'input_json_delta','partial_json':'{'}}" },
        { "content_block_start", "{'type':'content_block_start','index':2,"
            "'content_block':{'type':'tool_use','id':'t','name':'f','input':{'a':1}}}" },
        { "something_new", "{'type':'something_new'}" },
        { "", NULL },
        { NULL, "[1,2]" },
        { "message_delta", "{'type':'message_delta','delta':{'stop_reason':'end_turn'}}" },
        { "message_delta", "{'type':'message_delta','delta':{'stop_reason':'max_tokens'}}" },
        { "message_stop", "{'type':'message_stop'}" },
    };
    GString *out = run_stream(evs, G_N_ELEMENTS(evs), FALSE, NULL);
    json_t *chunks = parse_sse(out);
    strip_chunk_header(chunks, "chatcmpl-O", "m");
    assert_json(chunks, "[" CHUNK("{'role':'assistant','content':''}", "null") ","
                        CHUNK("{'content':'pre'}", "null") ","
                        CHUNK("{'tool_calls':[{'index':0,'id':'t','type':'function',"
                            "'function':{'name':'f','arguments':'{\\'a\\':1}'}}]}", "null") ","
                        CHUNK("{}", "'stop'") ",'[DONE]']");
    json_decref(chunks);
    g_string_free(out, TRUE);

    /* message_stop without message_start still terminates the stream */
    static const Ev evs2[] = { { "message_stop", "{}" } };
    out = run_stream(evs2, 1, TRUE, NULL);
    g_assert_cmpstr(out->str, ==, "data: [DONE]\n\n");
    g_string_free(out, TRUE);

    /* NULL arguments */
    GString *s = g_string_new(NULL);
    g_assert_cmpint(gw_xlate_stream_event(NULL, "ping", NULL, s, NULL), ==, GW_EINVAL);
    GwXlateStream *xs = gw_xlate_stream_new(FALSE);
    g_assert_cmpint(gw_xlate_stream_event(xs, "ping", NULL, NULL, NULL), ==, GW_EINVAL);
    gw_xlate_stream_free(xs);
    gw_xlate_stream_free(NULL);
    gint64 p = 0;
    gw_xlate_stream_usage(NULL, &p, NULL, NULL);
    g_assert_cmpint(p, ==, -1);
    g_string_free(s, TRUE);
}

static void test_stream_block_cap(void)
{
    GwXlateStream *xs = gw_xlate_stream_new(FALSE);
    GString *out = g_string_new(NULL);
    json_t *start = J("{'type':'message_start','message':{'id':'msg_C','model':'m'}}");
    g_assert_cmpint(gw_xlate_stream_event(xs, "message_start", start, out, NULL), ==, GW_OK);
    json_decref(start);
    GwStatus st = GW_OK;
    int i;
    for (i = 0; i < 10000 && st == GW_OK; i++) {
        json_t *d = json_pack("{s:s, s:i, s:{s:s}}", "type", "content_block_start", "index", i * 7,
                              "content_block", "type", "thinking");
        GError *err = NULL;
        st = gw_xlate_stream_event(xs, NULL, d, out, &err);
        if (st != GW_OK)
            g_error_free(err);
        json_decref(d);
    }
    g_assert_cmpint(st, ==, GW_ETOOBIG);
    g_assert_cmpint(i, ==, 4097);
    gw_xlate_stream_free(xs);
    g_string_free(out, TRUE);
}

/* ---- mutation fuzzing ---- */

/* Pre-order node count. */
static size_t count_nodes(json_t *v)
{
    size_t n = 1;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v))
        json_object_foreach(v, k, c) n += count_nodes(c);
    else if (json_is_array(v))
        json_array_foreach(v, i, c) n += count_nodes(c);
    return n;
}

/* Copy of v with pre-order node *n replaced by g (NULL: removed from its parent). */
static json_t *mutate(json_t *v, long *n, json_t *g)
{
    if ((*n)-- == 0)
        return g != NULL ? json_deep_copy(g) : NULL;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v)) {
        json_t *o = json_object();
        json_object_foreach(v, k, c) {
            json_t *m = mutate(c, n, g);
            if (m != NULL)
                json_object_set_new(o, k, m);
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        json_array_foreach(v, i, c) {
            json_t *m = mutate(c, n, g);
            if (m != NULL)
                json_array_append_new(a, m);
        }
        return a;
    }
    return json_deep_copy(v);
}

static const char *garbage_lits[] = {
    "null", "true", "false", "0", "-1", "1.5", "1e300", "99999999999999", "''", "'x'",
    "'data:image/png;base64,'", "'msg_'", "[]", "[null]", "{}", "{'type':'text'}",
};

static void test_fuzz_request(void)
{
    json_t *base = J(
        "{'model':'gpt-4o','max_tokens':10,'temperature':0.5,'top_p':1,'stop':['x'],'user':'u',"
        "'stream':true,'stream_options':{'include_usage':true},'parallel_tool_calls':false,"
        "'tool_choice':{'type':'function','function':{'name':'f'}},"
        "'tools':[{'type':'function','function':{'name':'f','description':'d',"
        "'parameters':{'type':'object'}}}],"
        "'messages':[{'role':'system','content':[{'type':'text','text':'s'}]},"
        "{'role':'user','content':[{'type':'text','text':'t'},{'type':'image_url',"
        "'image_url':{'url':'data:image/png;base64,AA'}},"
        "{'type':'image_url','image_url':{'url':'https://e/x.png'}}]},"
        "{'role':'assistant','content':'a','tool_calls':[{'id':'c','type':'function',"
        "'function':{'name':'f','arguments':'{}'}}]},"
        "{'role':'tool','tool_call_id':'c','content':[{'type':'text','text':'r'}]}]}");
    size_t nodes = count_nodes(base);
    json_t *garbage[G_N_ELEMENTS(garbage_lits) + 1];
    for (size_t gi = 0; gi < G_N_ELEMENTS(garbage_lits); gi++)
        garbage[gi] = J(garbage_lits[gi]);
    garbage[G_N_ELEMENTS(garbage_lits)] = NULL; /* deletion */
    guint ok = 0, einval = 0;
    for (size_t node = 0; node < nodes; node++) {
        for (size_t gi = 0; gi <= G_N_ELEMENTS(garbage_lits); gi++) {
            long n = (long)node;
            json_t *m = mutate(base, &n, garbage[gi]);
            json_t *out = NULL;
            GError *err = NULL;
            GwStatus st = gw_xlate_request_to_anthropic(m, "claude-x", &out, &err);
            if (st == GW_OK) {
                g_assert_no_error(err);
                g_assert_true(json_is_object(out));
                g_assert_true(json_is_array(json_object_get(out, "messages")));
                g_assert_true(json_is_integer(json_object_get(out, "max_tokens")));
                ok++;
            } else {
                g_assert_cmpint(st, ==, GW_EINVAL);
                g_assert_null(out);
                g_assert_nonnull(err);
                g_assert_true(g_utf8_validate(err->message, -1, NULL));
                g_error_free(err);
                einval++;
            }
            json_decref(out);
            json_decref(m);
        }
    }
    g_assert_cmpuint(ok, >, 0);
    g_assert_cmpuint(einval, >, 0);
    for (size_t gi = 0; gi < G_N_ELEMENTS(garbage_lits); gi++)
        json_decref(garbage[gi]);
    json_decref(base);
}

static void fuzz_stream_once(json_t **datas, const char *const *names, size_t n, gboolean usage)
{
    GwXlateStream *xs = gw_xlate_stream_new(usage);
    GString *out = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        GError *err = NULL;
        GwStatus st = gw_xlate_stream_event(xs, names[i], datas[i], out, &err);
        g_assert_cmpint(st, ==, GW_OK);
        g_assert_no_error(err);
    }
    json_t *chunks = parse_sse(out); /* framing and JSON validity */
    json_decref(chunks);
    gint64 p, c, k;
    gw_xlate_stream_usage(xs, &p, &c, &k);
    g_assert_cmpint(p, >=, -1);
    gw_xlate_stream_free(xs);
    g_string_free(out, TRUE);
}

static void test_fuzz_stream(void)
{
    const size_t n = G_N_ELEMENTS(tool_stream);
    json_t *base[G_N_ELEMENTS(tool_stream)];
    const char *names[G_N_ELEMENTS(tool_stream)];
    for (size_t i = 0; i < n; i++) {
        base[i] = J(tool_stream[i].data);
        names[i] = tool_stream[i].event;
    }
    json_t *garbage[G_N_ELEMENTS(garbage_lits) + 1];
    for (size_t gi = 0; gi < G_N_ELEMENTS(garbage_lits); gi++)
        garbage[gi] = J(garbage_lits[gi]);
    garbage[G_N_ELEMENTS(garbage_lits)] = NULL;
    /* every node of every event replaced by every garbage value (or removed) */
    for (size_t ev = 0; ev < n; ev++) {
        size_t nodes = count_nodes(base[ev]);
        for (size_t node = 0; node < nodes; node++) {
            for (size_t gi = 0; gi <= G_N_ELEMENTS(garbage_lits); gi++) {
                json_t *datas[G_N_ELEMENTS(tool_stream)];
                for (size_t i = 0; i < n; i++) {
                    long m = (long)node;
                    datas[i] = i == ev ? mutate(base[i], &m, garbage[gi]) : json_incref(base[i]);
                }
                fuzz_stream_once(datas, names, n, gi % 2 == 0);
                for (size_t i = 0; i < n; i++)
                    json_decref(datas[i]);
            }
        }
    }
    /* random orders, repeats and wrong names */
    GRand *r = g_rand_new_with_seed(12345);
    static const char *const odd_names[] = {
        "message_start", "content_block_delta", "error", "", "x",
    };
    for (int iter = 0; iter < 2000; iter++) {
        json_t *datas[24];
        const char *nm[24];
        size_t len = (size_t)g_rand_int_range(r, 1, 24);
        for (size_t i = 0; i < len; i++) {
            size_t pick = (size_t)g_rand_int_range(r, 0, (gint32)n);
            datas[i] = json_deep_copy(base[pick]);
            nm[i] = g_rand_boolean(r) ? names[pick] : odd_names[g_rand_int_range(r, 0, 5)];
            if (g_rand_int_range(r, 0, 4) == 0)
                json_object_del(datas[i], "type"); /* the event name alone must then decide */
        }
        fuzz_stream_once(datas, nm, len, g_rand_boolean(r));
        for (size_t i = 0; i < len; i++)
            json_decref(datas[i]);
    }
    g_rand_free(r);
    for (size_t i = 0; i < n; i++)
        json_decref(base[i]);
    for (size_t gi = 0; gi < G_N_ELEMENTS(garbage_lits); gi++)
        json_decref(garbage[gi]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/translate/request/system-multiturn", test_req_system_multiturn);
    g_test_add_func("/translate/request/merge", test_req_merge);
    g_test_add_func("/translate/request/images", test_req_images);
    g_test_add_func("/translate/request/tools", test_req_tools);
    g_test_add_func("/translate/request/tool-roundtrip", test_req_tool_roundtrip);
    g_test_add_func("/translate/request/unsupported", test_req_unsupported);
    g_test_add_func("/translate/request/ignored-and-mapped", test_req_ignored_and_mapped);
    g_test_add_func("/translate/request/bad-shapes", test_req_bad_shapes);
    g_test_add_func("/translate/request/no-sharing", test_req_no_sharing);
    g_test_add_func("/translate/response/text", test_resp_text);
    g_test_add_func("/translate/response/tool-use", test_resp_tool_use);
    g_test_add_func("/translate/response/stop-reasons", test_resp_stop_reasons);
    g_test_add_func("/translate/response/garbage", test_resp_garbage);
    g_test_add_func("/translate/error/body", test_error_body);
    g_test_add_func("/translate/stream/tool-call", test_stream_tool_call);
    g_test_add_func("/translate/stream/tool-call-usage", test_stream_tool_call_usage);
    g_test_add_func("/translate/stream/text-and-tools", test_stream_text_and_tools);
    g_test_add_func("/translate/stream/text", test_stream_text);
    g_test_add_func("/translate/stream/error", test_stream_error);
    g_test_add_func("/translate/stream/out-of-order", test_stream_out_of_order);
    g_test_add_func("/translate/stream/block-cap", test_stream_block_cap);
    g_test_add_func("/translate/fuzz/request", test_fuzz_request);
    g_test_add_func("/translate/fuzz/stream", test_fuzz_stream);
    return g_test_run();
}
