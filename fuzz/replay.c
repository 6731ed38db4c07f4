/* replay.c — standalone driver for the fuzz targets when libFuzzer is not used: calls
 * LLVMFuzzerTestOneInput once for every file named on the command line and for every regular
 * file inside the directories named there (not recursive, in name order). Arguments starting with
 * '-' are ignored, so the same command line suits a libFuzzer binary. Exit status 0 when every
 * input ran (a crash or a sanitizer report ends the process), 1 when a path cannot be read or
 * nothing at all was run. With --enable-fuzzers this file compiles to nothing: libFuzzer provides
 * main(). */
#include "config.h"

#ifndef GW_LIBFUZZER

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz.h"

static int run_file(const char *path, unsigned *count)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "replay: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    /* An exact-size copy so ASan sees reads past the end (g_file_get_contents adds a NUL). */
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        g_free(data);
        fprintf(stderr, "replay: out of memory for %s\n", path);
        return 1;
    }
    if (len > 0)
        memcpy(buf, data, len);
    g_free(data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, (size_t)len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    (*count)++;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, unsigned *count)
{
    GError *err = NULL;
    GDir *d = g_dir_open(path, 0, &err);
    if (d == NULL) {
        fprintf(stderr, "replay: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_build_filename(path, n, NULL));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    int rc = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *f = g_ptr_array_index(names, i);
        if (g_file_test(f, G_FILE_TEST_IS_REGULAR))
            rc |= run_file(f, count);
    }
    g_ptr_array_unref(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    unsigned count = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR))
            rc |= run_dir(argv[i], &count);
        else
            rc |= run_file(argv[i], &count);
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs (usage: %s FILE-OR-DIR...)\n", argv[0]);
        return 1;
    }
    fprintf(stderr, "replay: %u inputs ran\n", count);
    return rc;
}

#else
typedef int gw_replay_unused; /* libFuzzer provides main() */
#endif
