/* fuzz_conf.c — alephant.conf text (GLib key-file) through gw_conf_load_data: unknown groups and
 * keys, bad numbers, booleans, paths and trusted proxy lists. */
#include "config.h"

#include <stdlib.h>

#include "conf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* (gsize)-1 means "NUL-terminated" to gw_conf_load_data; a real size never is. */
    GwConf *conf = NULL;
    GError *err = NULL;
    GwStatus st = gw_conf_load_data((const char *)data, size, "fuzz.conf", &conf, &err);
    if (st == GW_OK) {
        if (conf == NULL || conf->home == NULL || conf->db_path == NULL ||
            conf->master_key_path == NULL || conf->threads < 1 || conf->max_attempts < 1)
            abort();
        gw_conf_free(conf);
    } else if (conf != NULL || err == NULL) {
        abort();
    }
    g_clear_error(&err);
    return 0;
}
