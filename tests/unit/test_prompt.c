/* test_prompt.c — prompt template validation and application to request bodies. */
#include "config.h"
#include "prompt.h"

#include <string.h>

#define BIG ((gsize)1 << 20)

static json_t *js(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v == NULL)
        g_error("bad test JSON (%s): %s", je.text, text);
    return v;
}

/* Applies; asserts success and that the output equals `want` (JSON text). */
static void apply_eq(const char *tmpl, const char *req, const char *want)
{
    json_t *t = js(tmpl), *r = js(req), *w = js(want), *out = NULL;
    json_t *r_before = json_deep_copy(r), *t_before = json_deep_copy(t);
    GError *err = NULL;
    GwStatus st = gw_prompt_apply(t, r, BIG, &out, &err);
    if (st != GW_OK)
        g_error("apply failed: %s", err->message);
    if (!json_equal(out, w)) {
        char *got = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        g_error("got %s\nwant %s", got, want);
    }
    /* Inputs are borrowed and left unchanged. */
    g_assert_true(json_equal(r, r_before));
    g_assert_true(json_equal(t, t_before));
    json_decref(out);
    json_decref(t);
    json_decref(r);
    json_decref(w);
    json_decref(r_before);
    json_decref(t_before);
}

/* Applies; asserts failure with code and a message containing needle. */
static void apply_fails(const char *tmpl, const char *req, gsize max, GwStatus code,
                        const char *needle)
{
    json_t *t = js(tmpl), *r = js(req), *out = (json_t *)&out;
    GError *err = NULL;
    g_assert_cmpint(gw_prompt_apply(t, r, max, &out, &err), ==, code);
    g_assert_null(out);
    g_assert_error(err, GW_ERROR, (gint)code);
    if (strstr(err->message, needle) == NULL)
        g_error("message '%s' should contain '%s'", err->message, needle);
    g_error_free(err);
    json_decref(t);
    json_decref(r);
}

static void test_variables(void)
{
    apply_eq("{\"messages\":[{\"role\":\"system\",\"content\":\"You help {{company}}.\"},"
             "{\"role\":\"user\",\"content\":\"Hi {{name}}, from {{company}}!\"}]}",
             "{\"inputs\":{\"company\":\"Acme\",\"name\":\"Ann\"}}",
             "{\"messages\":[{\"role\":\"system\",\"content\":\"You help Acme.\"},"
             "{\"role\":\"user\",\"content\":\"Hi Ann, from Acme!\"}]}");
    /* Spaces and tabs inside the braces; names with . _ - and digits; adjacent placeholders. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"[{{ a }}][{{\\ta.b_c-9\\t}}][{{a}}{{a}}][{{   a}}]\"}]}",
             "{\"inputs\":{\"a\":\"X\",\"a.b_c-9\":\"Y\"}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"[X][Y][XX][X]\"}]}");
    /* Names are case-sensitive. */
    apply_fails("{\"messages\":[{\"role\":\"user\",\"content\":\"{{Name}}\"}]}",
                "{\"inputs\":{\"name\":\"x\"}}", BIG, GW_EINVAL,
                "missing prompt variable 'Name'");
    /* Text without placeholders, unicode, and lone braces pass through. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"{ok} } { é ✓ {\"}]}", "{}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"{ok} } { é ✓ {\"}]}");
    /* Empty string value; unicode value. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"<{{v}}|{{w}}>\"}]}",
             "{\"inputs\":{\"v\":\"\",\"w\":\"ünï\"}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"<|ünï>\"}]}");
}

static void test_missing_variable(void)
{
    const char *tmpl = "{\"messages\":[{\"role\":\"user\",\"content\":\"{{a}} {{ b }}\"}]}";
    apply_fails(tmpl, "{\"inputs\":{\"a\":\"1\"}}", BIG, GW_EINVAL,
                "missing prompt variable 'b'");
    apply_fails(tmpl, "{}", BIG, GW_EINVAL, "missing prompt variable 'a'");
    apply_fails(tmpl, "{\"inputs\":null}", BIG, GW_EINVAL, "missing prompt variable 'a'");
    /* Unknown inputs are fine. */
    apply_eq(tmpl, "{\"inputs\":{\"a\":\"1\",\"b\":\"2\",\"zzz\":\"unused\"}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"1 2\"}]}");
}

static void test_no_rescan(void)
{
    /* A value containing "{{y}}" stays literal even when y is an input. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"{{x}}/{{y}}\"}]}",
             "{\"inputs\":{\"x\":\"{{y}}\",\"y\":\"Y\"}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"{{y}}/Y\"}]}");
    /* A value that closes/opens braces around the placeholder does not join with the text. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"{{x}}y}}\"}]}",
             "{\"inputs\":{\"x\":\"{{\"}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"{{y}}\"}]}");
    /* Malformed placeholders at apply time are text (validation would refuse them). */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"{{{x}}} {{bad name}} {{x\"}]}",
             "{\"inputs\":{\"x\":\"X\"}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"{X} {{bad name}} {{x\"}]}");
}

static void test_input_types(void)
{
    const char *tmpl = "{\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"{{i}}|{{n}}|{{f}}|{{t}}|{{z}}|{{r}}|{{e}}\"}]}";
    apply_eq(tmpl,
             "{\"inputs\":{\"i\":42,\"n\":-7,\"f\":false,\"t\":true,\"z\":0.1,\"r\":2.5,"
             "\"e\":1e300}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"42|-7|false|true|0.1|2.5|1e300\"}]}");
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"{{d}}\"}]}",
             "{\"inputs\":{\"d\":3.0}}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"3.0\"}]}");

    const char *t1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    apply_fails(t1, "{\"inputs\":{\"a\":null}}", BIG, GW_EINVAL,
                "prompt input 'a' must be a string, number or boolean");
    apply_fails(t1, "{\"inputs\":{\"list\":[1]}}", BIG, GW_EINVAL, "'list'");
    apply_fails(t1, "{\"inputs\":{\"obj\":{}}}", BIG, GW_EINVAL, "'obj'");
    /* Unused inputs are checked too; odd names are echoed safely. */
    apply_fails(t1, "{\"inputs\":{\"ok\":\"1\",\"bad\\u0001\\u00e9\":[]}}", BIG, GW_EINVAL,
                "'bad?\?\?'");
    apply_fails(t1, "{\"inputs\":[]}", BIG, GW_EINVAL, "'inputs' must be an object");
    apply_fails(t1, "{\"inputs\":\"a=1\"}", BIG, GW_EINVAL, "'inputs' must be an object");
}

static void test_merge(void)
{
    const char *tmpl = "{\"model\":\"gpt-4o-mini\","
                       "\"params\":{\"temperature\":0.2,\"max_tokens\":100,\"top_p\":1},"
                       "\"messages\":[{\"role\":\"system\",\"content\":\"Be {{tone}}.\"}]}";
    /* Template defaults only. */
    apply_eq(tmpl, "{\"inputs\":{\"tone\":\"brief\"}}",
             "{\"model\":\"gpt-4o-mini\",\"temperature\":0.2,\"max_tokens\":100,\"top_p\":1,"
             "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"}]}");
    /* Request fields override model and params; extra fields are kept; messages appended;
     * inputs removed; a null request field leaves the default. */
    apply_eq(tmpl,
             "{\"model\":\"gpt-4o\",\"temperature\":0.9,\"max_tokens\":null,\"stream\":true,"
             "\"user\":\"u1\",\"seed\":null,\"inputs\":{\"tone\":\"kind\"},"
             "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
             "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"{{tone}}\"}]}]}",
             "{\"model\":\"gpt-4o\",\"temperature\":0.9,\"max_tokens\":100,\"top_p\":1,"
             "\"stream\":true,\"user\":\"u1\",\"seed\":null,"
             "\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},"
             "{\"role\":\"user\",\"content\":\"Hi\"},"
             "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"{{tone}}\"}]}]}");
    /* messages: null = absent; an empty array appends nothing. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", "{\"messages\":null}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}");
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", "{\"messages\":[]}",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}");
    apply_fails("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
                "{\"messages\":{\"role\":\"user\"}}", BIG, GW_EINVAL,
                "'messages' must be an array");
    apply_fails("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", "[]", BIG, GW_EINVAL,
                "request body must be a JSON object");

    /* The output is independent of both inputs. */
    json_t *t = js(tmpl);
    json_t *r = js("{\"inputs\":{\"tone\":\"x\"},\"metadata\":{\"k\":\"v\"},"
                   "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    json_t *out;
    g_assert_cmpint(gw_prompt_apply(t, r, BIG, &out, NULL), ==, GW_OK);
    json_object_set_new(json_object_get(out, "metadata"), "k", json_string("changed"));
    json_object_set_new(json_array_get(json_object_get(out, "messages"), 1), "content",
                        json_string("changed"));
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(r, "metadata"), "k")), ==,
                    "v");
    g_assert_cmpstr(json_string_value(json_object_get(
                        json_array_get(json_object_get(r, "messages"), 0), "content")),
                    ==, "Hi");
    g_assert_cmpint(json_object_get(json_object_get(t, "params"), "temperature")->refcount, ==,
                    1);
    g_assert_null(json_object_get(out, "inputs"));
    json_decref(out);
    json_decref(t);
    json_decref(r);
}

static void test_content_parts(void)
{
    apply_eq("{\"messages\":[{\"role\":\"user\",\"name\":\"bob\",\"content\":["
             "{\"type\":\"text\",\"text\":\"Q: {{q}}\"},"
             "{\"type\":\"text\",\"text\":\"plain\",\"cache_control\":{\"type\":\"ephemeral\"}}"
             "]}]}",
             "{\"inputs\":{\"q\":\"why?\"}}",
             "{\"messages\":[{\"role\":\"user\",\"name\":\"bob\",\"content\":["
             "{\"type\":\"text\",\"text\":\"Q: why?\"},"
             "{\"type\":\"text\",\"text\":\"plain\",\"cache_control\":{\"type\":\"ephemeral\"}}"
             "]}]}");
    /* An empty parts array stays empty. */
    apply_eq("{\"messages\":[{\"role\":\"user\",\"content\":[]}]}", "{}",
             "{\"messages\":[{\"role\":\"user\",\"content\":[]}]}");
    apply_fails("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                "\"text\":\"{{gone}}\"}]}]}",
                "{}", BIG, GW_EINVAL, "missing prompt variable 'gone'");
}

static void test_output_cap(void)
{
    const char *tmpl = "{\"messages\":[{\"role\":\"user\",\"content\":\"ab{{v}}cd\"},"
                       "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"{{v}}\"}]}]}";
    /* 2 + 3 + 2 + 3 = 10 bytes of rendered text. */
    json_t *t = js(tmpl), *r = js("{\"inputs\":{\"v\":\"xyz\"}}"), *out;
    g_assert_cmpint(gw_prompt_apply(t, r, 10, &out, NULL), ==, GW_OK);
    json_decref(out);
    json_decref(t);
    json_decref(r);
    apply_fails(tmpl, "{\"inputs\":{\"v\":\"xyz\"}}", 9, GW_ETOOBIG, "exceeds 9 bytes");
    apply_fails(tmpl, "{\"inputs\":{\"v\":\"xyz\"}}", 0, GW_ETOOBIG, "exceeds 0 bytes");

    /* Amplification: one placeholder repeated many times over a large value. */
    GString *tt = g_string_new("{\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (int i = 0; i < 1000; i++)
        g_string_append(tt, "{{v}}");
    g_string_append(tt, "\"}]}");
    char *big = g_strnfill(100000, 'x');
    char *req = g_strdup_printf("{\"inputs\":{\"v\":\"%s\"}}", big);
    apply_fails(tt->str, req, 1 << 20, GW_ETOOBIG, "exceeds 1048576 bytes");
    g_free(big);
    g_free(req);
    g_string_free(tt, TRUE);
}

static void test_validate(void)
{
    json_t *t = js("{\"model\":\"m\",\"params\":{\"temperature\":1},\"messages\":["
                   "{\"role\":\"system\",\"content\":\"{{ zeta }} {{alpha}} {{alpha}}\"},"
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"{{b.c}}\"},"
                   "{\"type\":\"text\",\"text\":\"{{B_1-x}}\"}]},"
                   "{\"role\":\"assistant\",\"content\":\"no vars { } }}\"}]}");
    char **vars = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_prompt_validate(t, &vars, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpuint(g_strv_length(vars), ==, 4);
    g_assert_cmpstr(vars[0], ==, "B_1-x");
    g_assert_cmpstr(vars[1], ==, "alpha");
    g_assert_cmpstr(vars[2], ==, "b.c");
    g_assert_cmpstr(vars[3], ==, "zeta");
    g_strfreev(vars);
    g_assert_cmpint(gw_prompt_validate(t, NULL, NULL), ==, GW_OK);
    json_decref(t);

    /* No variables: an empty list. */
    t = js("{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
    g_assert_cmpint(gw_prompt_validate(t, &vars, NULL), ==, GW_OK);
    g_assert_nonnull(vars);
    g_assert_null(vars[0]);
    g_strfreev(vars);
    json_decref(t);

    /* A 64-character name is the longest allowed. */
    char *n64 = g_strnfill(64, 'a');
    char *ok64 = g_strdup_printf("{\"messages\":[{\"role\":\"u\",\"content\":\"{{%s}}\"}]}", n64);
    t = js(ok64);
    g_assert_cmpint(gw_prompt_validate(t, &vars, NULL), ==, GW_OK);
    g_assert_cmpstr(vars[0], ==, n64);
    g_strfreev(vars);
    json_decref(t);
    char *bad65 = g_strdup_printf("{\"messages\":[{\"role\":\"u\",\"content\":\"{{%sa}}\"}]}",
                                  n64);
    t = js(bad65);
    g_assert_cmpint(gw_prompt_validate(t, NULL, NULL), ==, GW_EINVAL);
    json_decref(t);
    g_free(n64);
    g_free(ok64);
    g_free(bad65);
}

static void test_validate_refused(void)
{
    static const struct {
        const char *tmpl, *needle;
    } bad[] = {
        {"[]", "must be a JSON object"},
        {"\"x\"", "must be a JSON object"},
        {"{}", "\"messages\" must be a non-empty array"},
        {"{\"messages\":[]}", "non-empty array"},
        {"{\"messages\":{}}", "non-empty array"},
        {"{\"messages\":[1]}", "messages[0] must be an object"},
        {"{\"messages\":[{\"content\":\"x\"}]}", "messages[0].role"},
        {"{\"messages\":[{\"role\":\"\",\"content\":\"x\"}]}", "messages[0].role"},
        {"{\"messages\":[{\"role\":1,\"content\":\"x\"}]}", "messages[0].role"},
        {"{\"messages\":[{\"role\":\"u\"}]}", "messages[0].content must be"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":null}]}", "messages[0].content must be"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"a\"},{\"role\":\"u\",\"content\":5}]}",
         "messages[1].content must be"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":[\"x\"]}]}", "messages[0].content[0]"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":[{\"type\":\"image_url\"}]}]}",
         "\"type\": \"text\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":[{\"text\":\"x\"}]}]}", "\"type\": \"text\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":[{\"type\":\"text\"}]}]}",
         "content[0].text must be a string"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"model\":\"\"}", "\"model\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"model\":3}", "\"model\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"params\":[]}",
         "\"params\" must be an object"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"params\":{\"messages\":[]}}",
         "may not contain \"messages\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"params\":{\"model\":\"m\"}}",
         "may not contain \"model\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"params\":{\"inputs\":{}}}",
         "may not contain \"inputs\""},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"x\"}],\"extra\":1}",
         "unknown field 'extra'"},
        /* placeholder syntax */
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"hi {{name\"}]}",
         "messages[0].content: malformed placeholder near '{{name'"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{}}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{ }}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{a b}}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{a}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{a} }\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{a/b}}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{é}}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{{a}}}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"{{a\\n}}\"}]}", "malformed placeholder"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":\"ok {{a}} then {{\"}]}",
         "malformed placeholder near '{{'"},
        {"{\"messages\":[{\"role\":\"u\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},"
         "{\"type\":\"text\",\"text\":\"{{ bad-}\"}]}]}",
         "messages[0].content[1].text: malformed placeholder"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        json_t *t = js(bad[i].tmpl);
        char **vars = (char **)&vars;
        GError *err = NULL;
        if (gw_prompt_validate(t, &vars, &err) != GW_EINVAL)
            g_error("template %s should be refused", bad[i].tmpl);
        g_assert_null(vars);
        g_assert_error(err, GW_ERROR, GW_EINVAL);
        if (strstr(err->message, bad[i].needle) == NULL)
            g_error("message '%s' should contain '%s'", err->message, bad[i].needle);
        g_error_free(err);
        /* apply refuses bad shapes too (placeholder syntax is lenient there). */
        if (strstr(bad[i].needle, "placeholder") == NULL) {
            json_t *r = js("{}"), *out = NULL;
            g_assert_cmpint(gw_prompt_apply(t, r, BIG, &out, NULL), ==, GW_EINVAL);
            g_assert_null(out);
            json_decref(r);
        }
        json_decref(t);
    }
    char **vars = NULL;
    g_assert_cmpint(gw_prompt_validate(NULL, &vars, NULL), ==, GW_EINVAL);
    json_t *out = NULL, *r = js("{}");
    g_assert_cmpint(gw_prompt_apply(NULL, r, BIG, &out, NULL), ==, GW_EINVAL);
    json_decref(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/prompt/apply/variables", test_variables);
    g_test_add_func("/prompt/apply/missing_variable", test_missing_variable);
    g_test_add_func("/prompt/apply/no_rescan", test_no_rescan);
    g_test_add_func("/prompt/apply/input_types", test_input_types);
    g_test_add_func("/prompt/apply/merge", test_merge);
    g_test_add_func("/prompt/apply/content_parts", test_content_parts);
    g_test_add_func("/prompt/apply/output_cap", test_output_cap);
    g_test_add_func("/prompt/validate/accepted", test_validate);
    g_test_add_func("/prompt/validate/refused", test_validate_refused);
    return g_test_run();
}
