/* fuzz_uuid.c — client-supplied request ids (x-request-id) through gw_uuid_parse; a parsed id is
 * canonical and parses back to itself. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "uuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = calloc(size > 0 ? size : 1, 1);
    if (size > 0)
        memcpy(buf, data, size);
    char out[GW_UUID_STR_LEN + 1];
    if (gw_uuid_parse(buf, size, out)) {
        if (strlen(out) != GW_UUID_STR_LEN)
            abort();
        for (int i = 0; i < GW_UUID_STR_LEN; i++) {
            gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? out[i] != '-' : !(g_ascii_isdigit(out[i]) || (out[i] >= 'a' && out[i] <= 'f')))
                abort();
        }
        char again[GW_UUID_STR_LEN + 1];
        if (!gw_uuid_parse(out, GW_UUID_STR_LEN, again) || strcmp(out, again) != 0)
            abort();
    }
    free(buf);
    return 0;
}
