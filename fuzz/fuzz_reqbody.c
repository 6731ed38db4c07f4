/* fuzz_reqbody.c — a client's JSON request body through gw_reqbody_parse (strict JSON, duplicate
 * keys, depth, model/stream/max_tokens checks). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "reqbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GwReqBody b;
    GError *err = NULL;
    GwStatus st = gw_reqbody_parse((const char *)data, size, &b, &err);
    if (st == GW_OK) {
        /* The documented result: an object, a non-empty model of at most 256 bytes when
         * present, max_tokens -1 or in [1, 2^31-1]. */
        if (!json_is_object(b.root) || err != NULL)
            abort();
        if (b.model != NULL && (b.model[0] == '\0' || strlen(b.model) > 256))
            abort();
        if (b.max_tokens != -1 && (b.max_tokens < 1 || b.max_tokens > G_MAXINT32))
            abort();
        char *s = json_dumps(b.root, JSON_COMPACT);
        free(s);
    } else if (err == NULL || err->message == NULL || b.root != NULL) {
        abort();
    }
    g_clear_error(&err);
    gw_reqbody_clear(&b);
    return 0;
}
