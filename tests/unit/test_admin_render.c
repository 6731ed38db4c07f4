/* test_admin_render.c — the pure pieces behind the admin's Logs, Sessions and Analytics views:
 * status filters, percentile rank, bucket choice, CSV quoting and the formula guard, the SVG
 * chart, stream reassembly and the session path tree. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "analytics.h"
#include "csv.h"
#include "pathtree.h"
#include "sse_message.h"
#include "store_logs.h"
#include "svgchart.h"

static void test_status_parse(void)
{
    GwStatusRange r;
    GError *err = NULL;
    g_assert_cmpint(gw_log_status_parse("200", &r, NULL), ==, GW_OK);
    g_assert_cmpint(r.lo, ==, 200);
    g_assert_cmpint(r.hi, ==, 200);
    g_assert_false(r.with_null);
    g_assert_cmpint(gw_log_status_parse("4xx", &r, NULL), ==, GW_OK);
    g_assert_cmpint(r.lo, ==, 400);
    g_assert_cmpint(r.hi, ==, 499);
    g_assert_cmpint(gw_log_status_parse("5XX", &r, NULL), ==, GW_OK);
    g_assert_cmpint(r.lo, ==, 500);
    g_assert_cmpint(gw_log_status_parse("error", &r, NULL), ==, GW_OK);
    g_assert_cmpint(r.lo, ==, 400);
    g_assert_true(r.with_null);
    g_assert_cmpint(gw_log_status_parse("ok", &r, NULL), ==, GW_OK);
    g_assert_cmpint(r.hi, ==, 399);
    const char *bad[] = {"", "20", "2000", "6xx", "0xx", "abc", "099", "4x", "' OR 1=1"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(gw_log_status_parse(bad[i], &r, &err), ==, GW_EINVAL);
        g_clear_error(&err);
    }
}

static void test_percentile_rank(void)
{
    g_assert_cmpint(gw_percentile_rank(0, 50), ==, 0);
    g_assert_cmpint(gw_percentile_rank(1, 50), ==, 1);
    g_assert_cmpint(gw_percentile_rank(1, 95), ==, 1);
    g_assert_cmpint(gw_percentile_rank(2, 50), ==, 1);
    g_assert_cmpint(gw_percentile_rank(10, 50), ==, 5);
    g_assert_cmpint(gw_percentile_rank(10, 95), ==, 10);
    g_assert_cmpint(gw_percentile_rank(20, 95), ==, 19);
    g_assert_cmpint(gw_percentile_rank(100, 95), ==, 95);
    g_assert_cmpint(gw_percentile_rank(101, 50), ==, 51);
}

static void test_bucket_and_dims(void)
{
    g_assert_cmpint(gw_analytics_bucket_ms(0, GW_HOUR_MS), ==, GW_HOUR_MS);
    g_assert_cmpint(gw_analytics_bucket_ms(0, 48 * GW_HOUR_MS), ==, GW_HOUR_MS);
    g_assert_cmpint(gw_analytics_bucket_ms(0, 48 * GW_HOUR_MS + 1), ==, GW_DAY_MS);
    GwAnalyticsDim d;
    const char *names[] = {"model", "provider", "virtual_key", "agent", "department", "property"};
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_cmpint(gw_analytics_dim_parse(names[i], &d, NULL), ==, GW_OK);
        g_assert_cmpstr(gw_analytics_dim_name(d), ==, names[i]);
    }
    g_assert_cmpint(gw_analytics_dim_parse("l.model", &d, NULL), ==, GW_EINVAL);
    g_assert_cmpint(gw_analytics_dim_parse(NULL, &d, NULL), ==, GW_EINVAL);
}

static char *csv_one(const char *s)
{
    GString *g = g_string_new(NULL);
    gw_csv_text(g, s);
    return g_string_free(g, FALSE);
}

static void test_csv(void)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {NULL, ""},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"line\nbreak", "\"line\nbreak\""},
        {"cr\rx", "\"cr\rx\""},
        {"=1+2", "'=1+2"},
        {"+SUM(A1)", "'+SUM(A1)"},
        {"-2+3", "'-2+3"},
        {"@cmd", "'@cmd"},
        {"\tx", "'\tx"},
        {"=HYPERLINK(\"http://x\",\"a\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\""},
        {"a=b", "a=b"},
        {" padded ", "\" padded \""},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"bad\xff", "bad\xef\xbf\xbd"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = csv_one(cases[i].in);
        g_assert_cmpstr(got, ==, cases[i].out);
        g_free(got);
    }
    GString *g = g_string_new(NULL);
    const char *row[] = {"a", "b,c", NULL};
    gw_csv_row(g, row, 3);
    gw_csv_int(g, -5);
    gw_csv_end(g);
    g_assert_cmpstr(g->str, ==, "a,\"b,c\",\r\n-5\r\n");
    g_string_free(g, TRUE);
}

static void test_analytics_csv(void)
{
    json_t *series = json_loads(
        "{\"series\": [{\"start\": 1700000000000, \"requests\": 3, \"cost_usd\": \"0.0012\","
        " \"prompt_tokens\": 10, \"completion_tokens\": null, \"total_tokens\": 10,"
        " \"errors\": 1, \"error_rate\": 0.5, \"latency_p50_ms\": 12, \"latency_p95_ms\": 40,"
        " \"cache_hits\": 0, \"cache_lookups\": 0, \"cache_hit_rate\": null,"
        " \"cache_saved_usd\": null}]}", 0, NULL);
    char *csv = gw_analytics_series_csv(series);
    g_assert_cmpstr(csv, ==,
                    "bucket_start_utc,requests,cost_usd,prompt_tokens,completion_tokens,"
                    "total_tokens,errors,error_rate,latency_p50_ms,latency_p95_ms,cache_hits,"
                    "cache_lookups,cache_hit_rate,cache_saved_usd\r\n"
                    "2023-11-14T22:13:20Z,3,0.0012,10,,10,1,0.5,12,40,0,0,,\r\n");
    g_free(csv);
    json_decref(series);
    json_t *bd = json_loads("{\"by\": \"property\", \"property\": \"env\", \"rows\": ["
                            "{\"key\": \"=cmd|' /C calc'!A0\", \"requests\": 1},"
                            "{\"key\": null, \"requests\": 2}]}", 0, NULL);
    csv = gw_analytics_breakdown_csv(bd);
    g_assert_true(g_str_has_prefix(csv, "property:env,requests,"));
    g_assert_nonnull(strstr(csv, "\r\n'=cmd|' /C calc'!A0,1,"));
    g_assert_nonnull(strstr(csv, "\r\n,2,"));
    g_free(csv);
    json_decref(bd);
}

/* Well-formed XML: parsed by GMarkup without error; returns the number of elements named el. */
static int count_el;
static const char *count_name;
static void on_start(GMarkupParseContext *c G_GNUC_UNUSED, const char *name,
                     const char **an G_GNUC_UNUSED, const char **av G_GNUC_UNUSED,
                     gpointer u G_GNUC_UNUSED, GError **e G_GNUC_UNUSED)
{
    if (strcmp(name, count_name) == 0)
        count_el++;
}

static int svg_count(const char *svg, const char *el)
{
    static const GMarkupParser p = {.start_element = on_start};
    count_el = 0;
    count_name = el;
    GError *err = NULL;
    GMarkupParseContext *c = g_markup_parse_context_new(&p, 0, NULL, NULL);
    gboolean ok = g_markup_parse_context_parse(c, svg, -1, &err) &&
                  g_markup_parse_context_end_parse(c, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_markup_parse_context_free(c);
    return count_el;
}

static void test_svg_chart(void)
{
    /* empty */
    GwChartSpec spec = {.title = "Requests", .kind = GW_CHART_LINE, .unit = GW_CHART_COUNT};
    char *svg = gw_svg_chart(&spec);
    g_assert_true(g_str_has_prefix(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    g_assert_nonnull(strstr(svg, "No data"));
    g_assert_cmpint(svg_count(svg, "circle"), ==, 0);
    g_free(svg);

    /* one point, escaped title and label */
    double one[] = {5};
    const char *lab1[] = {"<b>&\"'"};
    spec = (GwChartSpec){.title = "<script>alert(1)</script>", .kind = GW_CHART_LINE,
                         .unit = GW_CHART_MS, .n = 1, .values = one, .labels = lab1};
    svg = gw_svg_chart(&spec);
    g_assert_null(strstr(svg, "<script"));
    g_assert_null(strstr(svg, "<b>"));
    g_assert_nonnull(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    g_assert_nonnull(strstr(svg, "&lt;b&gt;&amp;&quot;&apos;"));
    g_assert_cmpint(svg_count(svg, "circle"), ==, 1);
    g_assert_cmpint(svg_count(svg, "path"), ==, 1);
    g_assert_null(strstr(svg, "style="));
    g_assert_null(strstr(svg, "nan"));
    g_free(svg);

    /* bars with a gap, huge values and negatives */
    double vals[] = {1e18, NAN, 3e17, -5, INFINITY, 0};
    const char *labs[] = {"a", "b", "c", "d", "e", "f"};
    spec = (GwChartSpec){.title = "Spend", .kind = GW_CHART_BARS, .unit = GW_CHART_USD, .n = 6,
                         .values = vals, .labels = labs, .width = 300, .height = 100};
    svg = gw_svg_chart(&spec);
    g_assert_cmpint(svg_count(svg, "rect"), ==, 4); /* NaN and infinity are gaps */
    g_assert_nonnull(strstr(svg, "viewBox=\"0 0 300 100\""));
    g_assert_null(strstr(svg, "nan"));
    g_assert_null(strstr(svg, "inf"));
    g_assert_null(strstr(svg, "height=\"-"));
    g_free(svg);

    /* many points: x labels thinned, every point has a tooltip */
    double many[100];
    char *ml[100];
    for (int i = 0; i < 100; i++) {
        many[i] = i;
        ml[i] = g_strdup_printf("t%d", i);
    }
    spec = (GwChartSpec){.kind = GW_CHART_LINE, .unit = GW_CHART_PERCENT, .n = 100,
                         .values = many, .labels = (const char *const *)ml};
    svg = gw_svg_chart(&spec);
    g_assert_cmpint(svg_count(svg, "circle"), ==, 100);
    g_assert_cmpint(svg_count(svg, "title"), ==, 100);
    g_assert_cmpint(svg_count(svg, "text"), <=, 8 + 11);
    g_free(svg);
    for (int i = 0; i < 100; i++)
        g_free(ml[i]);

    char *v = gw_chart_format_value(1234, GW_CHART_COUNT);
    g_assert_cmpstr(v, ==, "1.23k");
    g_free(v);
    v = gw_chart_format_value(0.25, GW_CHART_PERCENT);
    g_assert_cmpstr(v, ==, "25%");
    g_free(v);
    v = gw_chart_format_value(12.5, GW_CHART_USD);
    g_assert_cmpstr(v, ==, "$12.50");
    g_free(v);
    v = gw_chart_format_value(1e30, GW_CHART_COUNT);
    g_assert_nonnull(v);
    g_free(v);
}

static json_t *assemble(const char *text)
{
    json_t *m = gw_sse_message_assemble(text, strlen(text));
    g_assert_nonnull(m);
    return m;
}

static void test_sse_openai(void)
{
    const char *text =
        "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":"
        "{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo <b>\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
        "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"ci\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        "{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other choice\"}}]}\n\n"
        ": keep-alive\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
        "data: [DONE]\n\n";
    json_t *m = assemble(text);
    g_assert_cmpstr(json_string_value(json_object_get(m, "role")), ==, "assistant");
    g_assert_cmpstr(json_string_value(json_object_get(m, "content")), ==, "Hello <b>");
    g_assert_cmpstr(json_string_value(json_object_get(m, "model")), ==, "gpt-4o-mini");
    g_assert_cmpstr(json_string_value(json_object_get(m, "finish_reason")), ==, "tool_calls");
    json_t *tc = json_object_get(m, "tool_calls");
    g_assert_cmpuint(json_array_size(tc), ==, 1);
    json_t *t0 = json_array_get(tc, 0);
    g_assert_cmpstr(json_string_value(json_object_get(t0, "id")), ==, "call_1");
    json_t *fn = json_object_get(t0, "function");
    g_assert_cmpstr(json_string_value(json_object_get(fn, "name")), ==, "get_weather");
    g_assert_cmpstr(json_string_value(json_object_get(fn, "arguments")), ==, "{\"city\":\"Paris\"}");
    g_assert_cmpint(json_integer_value(json_object_get(m, "events")), ==, 8);
    g_assert_cmpint(json_integer_value(json_object_get(m, "unparsed_events")), ==, 0);
    json_decref(m);

    /* cut mid-event (body cap): what came before is kept, the fragment counted */
    m = assemble("data: {\"choices\":[{\"delta\":{\"content\":\"abc\"}}]}\n\ndata: {\"choi");
    g_assert_cmpstr(json_string_value(json_object_get(m, "content")), ==, "abc");
    g_assert_cmpint(json_integer_value(json_object_get(m, "unparsed_events")), ==, 1);
    g_assert_true(json_is_null(json_object_get(m, "finish_reason")));
    json_decref(m);

    m = assemble("");
    g_assert_cmpstr(json_string_value(json_object_get(m, "content")), ==, "");
    g_assert_cmpint(json_integer_value(json_object_get(m, "events")), ==, 0);
    json_decref(m);
    g_assert_null(gw_sse_message_assemble(NULL, 0));
}

static void test_sse_anthropic(void)
{
    const char *text =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"role\":\"assistant\","
        "\"model\":\"claude-sonnet-4\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"there\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"lookup\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    json_t *m = assemble(text);
    g_assert_cmpstr(json_string_value(json_object_get(m, "content")), ==, "Hi there");
    g_assert_cmpstr(json_string_value(json_object_get(m, "model")), ==, "claude-sonnet-4");
    g_assert_cmpstr(json_string_value(json_object_get(m, "finish_reason")), ==, "tool_use");
    json_t *t0 = json_array_get(json_object_get(m, "tool_calls"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(t0, "id")), ==, "toolu_1");
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(t0, "function"), "arguments")),
                    ==, "{\"q\":1}");
    json_decref(m);
}

static void test_path_tree(void)
{
    json_t *paths = json_loads("[{\"path\": null, \"requests\": 1, \"cost_nanos\": null},"
                               " {\"path\": \"/a\", \"requests\": 2, \"cost_nanos\": 10},"
                               " {\"path\": \"/a/b/c\", \"requests\": 3, \"cost_nanos\": 5},"
                               " {\"path\": \"/<x>\", \"requests\": 1, \"cost_nanos\": null},"
                               " 7]", 0, NULL);
    json_t *root = gw_path_tree(paths);
    g_assert_cmpint(json_integer_value(json_object_get(root, "requests")), ==, 1);
    g_assert_cmpint(json_integer_value(json_object_get(root, "total_requests")), ==, 7);
    g_assert_cmpint(json_integer_value(json_object_get(root, "cost_nanos")), ==, 15);
    json_t *kids = json_object_get(root, "children");
    g_assert_cmpuint(json_array_size(kids), ==, 2);
    json_t *x = json_array_get(kids, 0); /* "<x>" sorts before "a" */
    g_assert_cmpstr(json_string_value(json_object_get(x, "name")), ==, "<x>");
    g_assert_true(json_is_null(json_object_get(x, "cost_nanos")));
    json_t *a = json_array_get(kids, 1);
    g_assert_cmpstr(json_string_value(json_object_get(a, "path")), ==, "/a");
    g_assert_cmpint(json_integer_value(json_object_get(a, "requests")), ==, 2);
    g_assert_cmpint(json_integer_value(json_object_get(a, "total_requests")), ==, 5);
    json_t *b = json_array_get(json_object_get(a, "children"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(b, "path")), ==, "/a/b");
    g_assert_cmpint(json_integer_value(json_object_get(b, "requests")), ==, 0);
    g_assert_cmpint(json_integer_value(json_object_get(b, "total_requests")), ==, 3);
    json_t *c = json_array_get(json_object_get(b, "children"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(c, "path")), ==, "/a/b/c");
    g_assert_cmpint(json_integer_value(json_object_get(c, "requests")), ==, 3);
    json_decref(root);
    json_decref(paths);
    root = gw_path_tree(NULL);
    g_assert_cmpint(json_integer_value(json_object_get(root, "total_requests")), ==, 0);
    json_decref(root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/admin-render/status-parse", test_status_parse);
    g_test_add_func("/admin-render/percentile-rank", test_percentile_rank);
    g_test_add_func("/admin-render/bucket-dims", test_bucket_and_dims);
    g_test_add_func("/admin-render/csv", test_csv);
    g_test_add_func("/admin-render/analytics-csv", test_analytics_csv);
    g_test_add_func("/admin-render/svg-chart", test_svg_chart);
    g_test_add_func("/admin-render/sse/openai", test_sse_openai);
    g_test_add_func("/admin-render/sse/anthropic", test_sse_anthropic);
    g_test_add_func("/admin-render/path-tree", test_path_tree);
    return g_test_run();
}
