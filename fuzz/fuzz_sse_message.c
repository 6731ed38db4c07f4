/* fuzz_sse_message.c — stored stream text (client- and provider-controlled) through the admin's
 * stream reassembly, and the same bytes through the SVG chart labels and the CSV writer: no
 * crash, no leak, and the outputs stay well-formed (valid UTF-8 JSON strings; no raw '<' from
 * the input in the SVG). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "csv.h"
#include "fuzz.h"
#include "sse_message.h"
#include "svgchart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so ASan sees reads past the end. */
    char *buf = malloc(size > 0 ? size : 1);
    if (size > 0)
        memcpy(buf, data, size);
    json_t *m = gw_sse_message_assemble(buf, size);
    const char *content = json_string_value(json_object_get(m, "content"));
    if (m == NULL || content == NULL || !g_utf8_validate(content, -1, NULL))
        abort();
    char *dumped = json_dumps(m, JSON_COMPACT);
    if (dumped == NULL)
        abort();
    free(dumped);
    json_decref(m);
    free(buf);

    /* The bytes as a label (NUL-terminated text). */
    char *text = g_strndup((const char *)data, size);
    double v = (double)size;
    const char *labels[] = {text};
    GwChartSpec spec = {.title = text, .kind = size % 2 ? GW_CHART_LINE : GW_CHART_BARS,
                        .unit = (GwChartUnit)(size % 4), .n = 1, .values = &v, .labels = labels};
    char *svg = gw_svg_chart(&spec);
    /* Every '<' in the output opens one of our elements, never one from the input. */
    for (const char *p = strchr(svg, '<'); p != NULL; p = strchr(p + 1, '<'))
        if (!(g_ascii_isalpha(p[1]) || p[1] == '/'))
            abort();
    if (strstr(svg, "<script") != NULL)
        abort();
    g_free(svg);
    GString *csv = g_string_new(NULL);
    gw_csv_text(csv, text);
    if (csv->len > 0 && strchr("=+-@\t\r", csv->str[0]) != NULL)
        abort();
    g_string_free(csv, TRUE);
    g_free(text);
    return 0;
}
