/* fuzz_prompt.c — stored prompt templates and the client requests they are applied to: the input
 * is the template JSON, a NUL byte, then the request JSON (no NUL: an empty request object). The
 * template is validated as for storage and applied with a small render limit. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t tlen = nul != NULL ? (size_t)(nul - text) : size;

    /* As the gateway loads them: templates from the store with json_loads(…, 0), request bodies
     * strictly (duplicate keys refused) by gw_reqbody_parse. */
    json_t *tmpl = json_loadb(text, tlen, 0, NULL);
    if (tmpl == NULL)
        return 0;
    json_t *req = nul != NULL ? json_loadb(nul + 1, size - tlen - 1, JSON_REJECT_DUPLICATES, NULL)
                              : json_object();
    if (req == NULL) {
        json_decref(tmpl);
        return 0;
    }

    char **vars = NULL;
    GError *err = NULL;
    GwStatus vst = gw_prompt_validate(tmpl, &vars, &err);
    if (vst == GW_OK) {
        for (char **v = vars; v != NULL && *v != NULL; v++) {
            size_t n = strlen(*v);
            if (n == 0 || n > GW_PROMPT_NAME_MAX || (v != vars && strcmp(v[-1], *v) >= 0))
                abort();
        }
    } else if (vars != NULL || err == NULL) {
        abort();
    }
    g_strfreev(vars);
    g_clear_error(&err);

    json_t *out = NULL;
    GwStatus ast = gw_prompt_apply(tmpl, req, 512, &out, &err);
    if (ast == GW_OK) {
        if (!json_is_object(out) || json_object_get(out, "inputs") != NULL ||
            !json_is_array(json_object_get(out, "messages")))
            abort();
        char *s = json_dumps(out, JSON_COMPACT);
        free(s);
    } else if (out != NULL || err == NULL) {
        abort();
    }
    g_clear_error(&err);
    json_decref(out);
    json_decref(req);
    json_decref(tmpl);
    return 0;
}
