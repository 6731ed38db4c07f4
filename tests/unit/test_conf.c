/* test_conf.c — configuration file parsing, validation, and environment overrides. */
#include "config.h"
#include "conf.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

static GwConf *load_ok(const char *text)
{
    GwConf *c = NULL;
    GError *err = NULL;
    GwStatus st = gw_conf_load_data(text, strlen(text), "test.conf", &c, &err);
    g_assert_no_error(err);
    g_assert_cmpint(st, ==, GW_OK);
    g_assert_nonnull(c);
    return c;
}

/* Expects a refusal whose message contains every given fragment. */
static void load_bad(const char *text, const char *frag1, const char *frag2)
{
    GwConf *c = NULL;
    GError *err = NULL;
    GwStatus st = gw_conf_load_data(text, strlen(text), "test.conf", &c, &err);
    if (st == GW_OK)
        g_error("accepted:\n%s", text);
    g_assert_null(c);
    g_assert_error(err, GW_ERROR, (int)st);
    g_assert_nonnull(strstr(err->message, "test.conf"));
    if (frag1 != NULL && strstr(err->message, frag1) == NULL)
        g_error("message \"%s\" lacks \"%s\"", err->message, frag1);
    if (frag2 != NULL && strstr(err->message, frag2) == NULL)
        g_error("message \"%s\" lacks \"%s\"", err->message, frag2);
    g_error_free(err);
}

static void test_defaults(void)
{
    GwConf *c = load_ok("");
    char *cwd = g_get_current_dir();
    char *home = g_build_filename(cwd, "var", NULL);
    g_assert_cmpstr(c->home, ==, home);
    char *db = g_build_filename(home, "alephant.db", NULL);
    char *mk = g_build_filename(home, "master.key", NULL);
    g_assert_cmpstr(c->db_path, ==, db);
    g_assert_cmpstr(c->master_key_path, ==, mk);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    g_assert_cmpint(c->processes, ==, ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu);
    g_assert_cmpint(c->threads, ==, 64);
    g_assert_cmpint(c->max_request_bytes, ==, 10 * 1024 * 1024);
    g_assert_cmpint(c->max_response_bytes, ==, 64 * 1024 * 1024);
    g_assert_cmpint(c->log_body_max_bytes, ==, 256 * 1024);
    g_assert_true(c->log_bodies);
    g_assert_cmpint(c->connect_timeout_ms, ==, 10000);
    g_assert_cmpint(c->first_byte_timeout_ms, ==, 300000);
    g_assert_cmpint(c->request_timeout_ms, ==, 1800000);
    g_assert_cmpint(c->low_speed_time_s, ==, 120);
    g_assert_false(c->allow_private_upstreams);
    g_assert_true(c->response_headers);
    g_assert_cmpint(c->keepalive_interval_ms, ==, 1000);
    g_free(db);
    g_free(mk);
    g_free(home);
    g_free(cwd);
    gw_conf_free(c);

    /* NULL data is an empty file; NULL conf frees fine */
    GwConf *d = NULL;
    g_assert_cmpint(gw_conf_load_data(NULL, 0, NULL, &d, NULL), ==, GW_OK);
    gw_conf_free(d);
    gw_conf_free(NULL);
}

static void test_valid_file(void)
{
    GwConf *c = load_ok("# Alephant\n"
                        "[paths]\n"
                        "home = /srv/alephant\n"
                        "database=/data/gw.db\n"
                        "master_key = keys/master.key\n"
                        "\n"
                        "[gateway]\n"
                        "processes = 3\n"
                        "threads=16\n"
                        "max_request_bytes = 1048576\n"
                        "max_response_bytes = 2097152\n"
                        "response_headers = false\n"
                        "stream_keepalive_ms = 250\n"
                        "[logging]\n"
                        "  bodies = no\n"
                        "body_max_bytes = 4096\n"
                        "[upstream]\n"
                        "connect_timeout_ms = 500\n"
                        "first_byte_timeout_ms = 6000\n"
                        "timeout_ms = 70000\n"
                        "low_speed_time_s = 30\n"
                        "allow_private = yes\n");
    g_assert_cmpstr(c->home, ==, "/srv/alephant");
    g_assert_cmpstr(c->db_path, ==, "/data/gw.db");
    g_assert_cmpstr(c->master_key_path, ==, "/srv/alephant/keys/master.key");
    g_assert_cmpint(c->processes, ==, 3);
    g_assert_cmpint(c->threads, ==, 16);
    g_assert_cmpint(c->max_request_bytes, ==, 1048576);
    g_assert_cmpint(c->max_response_bytes, ==, 2097152);
    g_assert_false(c->response_headers);
    g_assert_cmpint(c->keepalive_interval_ms, ==, 250);
    g_assert_false(c->log_bodies);
    g_assert_cmpint(c->log_body_max_bytes, ==, 4096);
    g_assert_cmpint(c->connect_timeout_ms, ==, 500);
    g_assert_cmpint(c->first_byte_timeout_ms, ==, 6000);
    g_assert_cmpint(c->request_timeout_ms, ==, 70000);
    g_assert_cmpint(c->low_speed_time_s, ==, 30);
    g_assert_true(c->allow_private_upstreams);
    g_assert_cmpstr(c->config_path, ==, "test.conf");
    gw_conf_free(c);
}

static void test_relative_paths(void)
{
    GwConf *c = load_ok("[paths]\nhome=/opt/gw/./state/\ndatabase=db/../main.db\n"
                        "master_key=../secrets/mk\n");
    g_assert_cmpstr(c->home, ==, "/opt/gw/state");
    g_assert_cmpstr(c->db_path, ==, "/opt/gw/state/main.db");
    g_assert_cmpstr(c->master_key_path, ==, "/opt/gw/secrets/mk");
    gw_conf_free(c);

    /* a relative home is relative to the current directory */
    c = load_ok("[paths]\nhome=state\ndatabase=x.db\n");
    char *cwd = g_get_current_dir();
    char *home = g_build_filename(cwd, "state", NULL);
    char *db = g_build_filename(home, "x.db", NULL);
    g_assert_cmpstr(c->home, ==, home);
    g_assert_cmpstr(c->db_path, ==, db);
    g_free(cwd);
    g_free(home);
    g_free(db);
    gw_conf_free(c);

    /* key-file escapes in paths */
    c = load_ok("[paths]\nhome=/tmp/with\\sspace\n");
    g_assert_cmpstr(c->home, ==, "/tmp/with space");
    gw_conf_free(c);
}

/* The README's sample file, inline comments included, loads as documented. */
static void test_readme_sample(void)
{
    GwConf *c = load_ok("[paths]\n"
                        "home = /var/lib/alephant          # state directory (default ./var)\n"
                        "database = alephant.db            # relative to home\n"
                        "master_key = master.key           # 32 random bytes, mode 0600\n"
                        "\n"
                        "[gateway]\n"
                        "processes = 0                     # worker processes (0 = cores)\n"
                        "threads = 64                      # request threads per worker\n"
                        "max_request_bytes = 10485760      # request body limit (413)\n"
                        "max_response_bytes = 67108864     # buffered upstream answer limit\n"
                        "response_headers = true           # alephant-provider\n"
                        "stream_keepalive_ms = 1000\n"
                        "\n"
                        "[logging]\n"
                        "bodies = true                     # store bodies\n"
                        "body_max_bytes = 262144\n"
                        "\n"
                        "[upstream]\n"
                        "connect_timeout_ms = 10000\n"
                        "first_byte_timeout_ms = 300000    # no byte from the provider -> 504\n"
                        "timeout_ms = 1800000\t# whole transfer\n"
                        "low_speed_time_s = 120            # silent this long is aborted\n"
                        "allow_private = false             # allow http://\n");
    g_assert_cmpstr(c->home, ==, "/var/lib/alephant");
    g_assert_cmpstr(c->db_path, ==, "/var/lib/alephant/alephant.db");
    g_assert_cmpstr(c->master_key_path, ==, "/var/lib/alephant/master.key");
    g_assert_cmpint(c->threads, ==, 64);
    g_assert_cmpint(c->max_response_bytes, ==, 67108864);
    g_assert_cmpint(c->request_timeout_ms, ==, 1800000);
    g_assert_false(c->allow_private_upstreams);
    gw_conf_free(c);
    /* a '#' not after a blank is part of the value */
    c = load_ok("[paths]\nhome=/srv/a#b\n");
    g_assert_cmpstr(c->home, ==, "/srv/a#b");
    gw_conf_free(c);
    load_bad("[gateway]\nthreads = # none\n", "test.conf:2:", "threads");
}

static void test_unknown(void)
{
    load_bad("[gateway]\nthreads=4\n\nthredas=8\n", "test.conf:4:", "thredas");
    load_bad("[gateway]\nthreads=4\n[upstream]\n# c\ntimeout=8\n", "test.conf:5:", "[upstream]");
    /* a key valid in another group is still unknown here */
    load_bad("[logging]\nthreads=4\n", "test.conf:2:", "threads");
    /* translated keys, which GKeyFile would silently drop */
    load_bad("[gateway]\nthreads[de]=4\n", "test.conf:2:", "threads[de]");
    load_bad("[gateway]\nthreads=4\n[Gateway]\nthreads=4\n", "test.conf:3:", "[Gateway]");
    load_bad("[server]\n", "test.conf:1:", "unknown group [server]");
    load_bad("\n\n[paths]\n[ paths ]\n", "test.conf:4:", "unknown group");
    /* not a key file at all */
    load_bad("threads=4\n", NULL, NULL);
    load_bad("[gateway]\njunk line\n", NULL, NULL);
    load_bad("[gateway\n", NULL, NULL);
    /* hostile names are shown escaped and cut */
    GString *big = g_string_new("[gateway]\n");
    for (int i = 0; i < 10000; i++)
        g_string_append_c(big, 'k');
    g_string_append(big, "\x01=1\n");
    GwConf *c = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_conf_load_data(big->str, big->len, "test.conf", &c, &err), ==, GW_EINVAL);
    g_assert_cmpuint(strlen(err->message), <, 300);
    g_assert_nonnull(strstr(err->message, "test.conf:2:"));
    g_clear_error(&err);
    g_string_free(big, TRUE);
}

static void test_bad_values(void)
{
    load_bad("[gateway]\nthreads=lots\n", "test.conf:2:", "[gateway] threads");
    load_bad("[gateway]\nthreads=\n", "test.conf:2:", "threads");
    load_bad("[gateway]\nthreads=0x10\n", "test.conf:2:", "threads");
    load_bad("[gateway]\nthreads=1.5\n", "test.conf:2:", "threads");
    load_bad("[gateway]\nthreads=8 threads\n", "test.conf:2:", "threads");
    load_bad("[gateway]\nthreads=99999999999999999999999\n", "test.conf:2:", "threads");
    load_bad("[logging]\nbodies=maybe\n", "test.conf:2:", "bodies");
    load_bad("[upstream]\n\n\nallow_private=2\n", "test.conf:4:", "allow_private");
    load_bad("[paths]\nhome=\n", "test.conf:2:", "home");
    load_bad("[paths]\nhome=bad\\escape\n", "test.conf:2:", "home");
    /* the last of duplicate keys is the one used and reported */
    load_bad("[gateway]\nthreads=1\nthreads=x\n", "test.conf:3:", "threads");
    GwConf *c = load_ok("[gateway]\nthreads=x\nthreads=2\n");
    g_assert_cmpint(c->threads, ==, 2);
    gw_conf_free(c);
    /* NUL bytes and oversize input */
    const char nul[] = "[gateway]\nthreads=4\0\n";
    GError *err = NULL;
    g_assert_cmpint(gw_conf_load_data(nul, sizeof nul - 1, "test.conf", &c, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    gsize n = 2 * 1024 * 1024;
    char *huge = g_malloc(n);
    memset(huge, '#', n);
    g_assert_cmpint(gw_conf_load_data(huge, n, "test.conf", &c, &err), ==, GW_ETOOBIG);
    g_clear_error(&err);
    g_free(huge);
    /* invalid UTF-8 */
    load_bad("[gateway]\nthreads=\xff\n", "test.conf", NULL);
    load_bad("[gateway]\n\xff=1\n", "test.conf", NULL);
}

static void test_ranges(void)
{
    static const struct {
        const char *text;
        gboolean ok;
    } cases[] = {
        {"[gateway]\nthreads=1\n", TRUE},
        {"[gateway]\nthreads=4096\n", TRUE},
        {"[gateway]\nthreads=0\n", FALSE},
        {"[gateway]\nthreads=4097\n", FALSE},
        {"[gateway]\nthreads=-1\n", FALSE},
        {"[gateway]\nprocesses=256\n", TRUE},
        {"[gateway]\nprocesses=257\n", FALSE},
        {"[gateway]\nprocesses=-1\n", FALSE},
        {"[gateway]\nmax_request_bytes=0\n", FALSE},
        {"[gateway]\nmax_request_bytes=1\n", TRUE},
        {"[gateway]\nmax_request_bytes=1073741824\n", TRUE},
        {"[gateway]\nmax_request_bytes=1073741825\n", FALSE},
        {"[gateway]\nmax_response_bytes=0\n", FALSE},
        {"[gateway]\nmax_response_bytes=9223372036854775807\n", FALSE},
        {"[gateway]\nstream_keepalive_ms=0\n", FALSE},
        {"[logging]\nbody_max_bytes=0\n", FALSE},
        {"[logging]\nbody_max_bytes=1000000000000\n", FALSE},
        {"[upstream]\nconnect_timeout_ms=0\n", FALSE},
        {"[upstream]\nfirst_byte_timeout_ms=-5\n", FALSE},
        {"[upstream]\ntimeout_ms=86400000\n", TRUE},
        {"[upstream]\ntimeout_ms=86400001\n", FALSE},
        {"[upstream]\nlow_speed_time_s=0\n", FALSE},
        {"[upstream]\nlow_speed_time_s=86401\n", FALSE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GwConf *c = NULL;
        GError *err = NULL;
        GwStatus st =
            gw_conf_load_data(cases[i].text, strlen(cases[i].text), "test.conf", &c, &err);
        if ((st == GW_OK) != cases[i].ok)
            g_error("case %zu (%s): %s", i, cases[i].text, err ? err->message : "accepted");
        if (st != GW_OK)
            g_assert_nonnull(strstr(err->message, "test.conf:2:"));
        g_clear_error(&err);
        gw_conf_free(c);
    }
}

static void test_booleans(void)
{
    const char *yes[] = {"true", "TRUE", "True", "1", "yes", "Yes"};
    const char *no[] = {"false", "FALSE", "0", "no", "NO"};
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        char *t = g_strdup_printf("[upstream]\nallow_private = %s\n", yes[i]);
        GwConf *c = load_ok(t);
        g_assert_true(c->allow_private_upstreams);
        gw_conf_free(c);
        g_free(t);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
        char *t = g_strdup_printf("[logging]\nbodies=%s\n", no[i]);
        GwConf *c = load_ok(t);
        g_assert_false(c->log_bodies);
        gw_conf_free(c);
        g_free(t);
    }
    const char *bad[] = {"on", "off", "y", "n", "2", "-1", "truee", "t"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *t = g_strdup_printf("[gateway]\nresponse_headers=%s\n", bad[i]);
        load_bad(t, "test.conf:2:", "response_headers");
        g_free(t);
    }
}

/* ---- gw_conf_load: file discovery and environment ---- */

static const char *const env_vars[] = {
    "ALEPHANT_HOME", "ALEPHANT_CONFIG", "ALEPHANT_PROCESSES", "ALEPHANT_THREADS",
    "ALEPHANT_ALLOW_PRIVATE_UPSTREAMS", "ALEPHANT_GATEWAY_THREADS", "ALEPHANT_UPSTREAM_TIMEOUT_MS",
    "ALEPHANT_LOGGING_BODIES", "ALEPHANT_PATHS_DATABASE", "ALEPHANT_PATHS_HOME",
};

static void clear_env(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(env_vars); i++)
        g_unsetenv(env_vars[i]);
}

static void test_env(void)
{
    clear_env();
    char *dir = g_dir_make_tmp("gw-conf-XXXXXX", NULL);
    g_assert_nonnull(dir);
    char *conf_file = g_build_filename(dir, "alephant.conf", NULL);
    GwConf *c = NULL;
    GError *err = NULL;

    /* no file in home: defaults, config_path NULL */
    g_setenv("ALEPHANT_HOME", dir, TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpstr(c->home, ==, dir);
    g_assert_null(c->config_path);
    g_assert_cmpint(c->threads, ==, 64);
    gw_conf_free(c);

    /* <home>/alephant.conf is read; the environment wins over it */
    g_assert_true(g_file_set_contents(conf_file,
                                      "[gateway]\nthreads=8\nprocesses=2\n"
                                      "[upstream]\ntimeout_ms=5000\n"
                                      "[paths]\ndatabase=sub/gw.db\n",
                                      -1, NULL));
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_OK);
    g_assert_cmpstr(c->config_path, ==, conf_file);
    g_assert_cmpint(c->threads, ==, 8);
    g_assert_cmpint(c->processes, ==, 2);
    g_assert_cmpint(c->request_timeout_ms, ==, 5000);
    char *db = g_build_filename(dir, "sub", "gw.db", NULL);
    g_assert_cmpstr(c->db_path, ==, db);
    g_free(db);
    gw_conf_free(c);

    g_setenv("ALEPHANT_THREADS", "12", TRUE);
    g_setenv("ALEPHANT_PROCESSES", "5", TRUE);
    g_setenv("ALEPHANT_UPSTREAM_TIMEOUT_MS", "9000", TRUE);
    g_setenv("ALEPHANT_ALLOW_PRIVATE_UPSTREAMS", "1", TRUE);
    g_setenv("ALEPHANT_LOGGING_BODIES", "false", TRUE);
    g_setenv("ALEPHANT_PATHS_DATABASE", "/var/lib/x.db", TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(c->threads, ==, 12);
    g_assert_cmpint(c->processes, ==, 5);
    g_assert_cmpint(c->request_timeout_ms, ==, 9000);
    g_assert_true(c->allow_private_upstreams);
    g_assert_false(c->log_bodies);
    g_assert_cmpstr(c->db_path, ==, "/var/lib/x.db");
    gw_conf_free(c);

    /* the short alias wins over the long form; empty means unset */
    g_setenv("ALEPHANT_GATEWAY_THREADS", "3", TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_OK);
    g_assert_cmpint(c->threads, ==, 12);
    gw_conf_free(c);
    g_setenv("ALEPHANT_THREADS", "", TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_OK);
    g_assert_cmpint(c->threads, ==, 3);
    gw_conf_free(c);
    g_unsetenv("ALEPHANT_GATEWAY_THREADS");

    /* bad environment values name the variable */
    g_setenv("ALEPHANT_THREADS", "0", TRUE);
    c = NULL;
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_EINVAL);
    g_assert_null(c);
    g_assert_nonnull(strstr(err->message, "ALEPHANT_THREADS"));
    g_clear_error(&err);
    g_unsetenv("ALEPHANT_THREADS");
    g_setenv("ALEPHANT_ALLOW_PRIVATE_UPSTREAMS", "sure", TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "ALEPHANT_ALLOW_PRIVATE_UPSTREAMS"));
    g_clear_error(&err);
    g_unsetenv("ALEPHANT_ALLOW_PRIVATE_UPSTREAMS");

    /* a bad file in home is refused, naming it */
    g_assert_true(g_file_set_contents(conf_file, "[gateway]\nbogus=1\n", -1, NULL));
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, conf_file));
    g_assert_nonnull(strstr(err->message, ":2:"));
    g_clear_error(&err);

    /* ALEPHANT_CONFIG must exist, and replaces <home>/alephant.conf */
    char *other = g_build_filename(dir, "other.conf", NULL);
    g_setenv("ALEPHANT_CONFIG", other, TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_ENOTFOUND);
    g_assert_nonnull(strstr(err->message, other));
    g_clear_error(&err);
    g_assert_true(g_file_set_contents(other, "[gateway]\nthreads=7\n", -1, NULL));
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_OK);
    g_assert_cmpint(c->threads, ==, 7);
    g_assert_cmpstr(c->config_path, ==, other);
    gw_conf_free(c);
    /* a directory is not a configuration file */
    g_setenv("ALEPHANT_CONFIG", dir, TRUE);
    g_assert_cmpint(gw_conf_load(&c, &err), ==, GW_EINVAL);
    g_clear_error(&err);

    clear_env();
    g_assert_cmpint(g_unlink(other), ==, 0);
    g_assert_cmpint(g_unlink(conf_file), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
    g_free(other);
    g_free(conf_file);
    g_free(dir);
}

static void test_load_data_ignores_env(void)
{
    g_setenv("ALEPHANT_THREADS", "9", TRUE);
    g_setenv("ALEPHANT_HOME", "/nonexistent", TRUE);
    GwConf *c = load_ok("");
    g_assert_cmpint(c->threads, ==, 64);
    g_assert_cmpstr(c->home, !=, "/nonexistent");
    gw_conf_free(c);
    clear_env();
}

/* ---- cache ---- */
static void test_cache_group(void)
{
    GwConf *c = load_ok("[paths]\nhome=/srv/gw\n");
    g_assert_true(c->cache_enabled);
    g_assert_cmpstr(c->cache_path, ==, "/srv/gw/cache.db");
    g_assert_cmpint(c->cache_max_size_mb, ==, 1024);
    g_assert_cmpstr(c->cache_scope, ==, "virtual_key");
    g_assert_false(c->cache_semantic);
    g_assert_cmpint(c->cache_semantic_max_entries, ==, 100000);
    g_assert_cmpstr(c->cache_embeddings_model, ==, "");
    gw_conf_free(c);
    c = load_ok("[paths]\nhome=/srv/gw\n[cache]\nenabled=false\npath=c/x.db\nmax_size_mb=5\n"
                "scope=department\nsemantic=true\nsemantic_max_entries=10\n"
                "embeddings_model=text-embedding-3-small\n");
    g_assert_false(c->cache_enabled);
    g_assert_cmpstr(c->cache_path, ==, "/srv/gw/c/x.db");
    g_assert_cmpint(c->cache_max_size_mb, ==, 5);
    g_assert_cmpstr(c->cache_scope, ==, "department");
    g_assert_true(c->cache_semantic);
    g_assert_cmpint(c->cache_semantic_max_entries, ==, 10);
    g_assert_cmpstr(c->cache_embeddings_model, ==, "text-embedding-3-small");
    gw_conf_free(c);
    load_bad("[cache]\nscope=tenant\n", "[cache] scope", "virtual_key|agent|department");
    load_bad("[cache]\nmax_size_mb=0\n", "max_size_mb", NULL);
    load_bad("[cache]\nsize=1\n", "unknown key", "size");
}
/* ---- end cache ---- */

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/conf/defaults", test_defaults);
    g_test_add_func("/conf/valid_file", test_valid_file);
    g_test_add_func("/conf/relative_paths", test_relative_paths);
    g_test_add_func("/conf/readme_sample", test_readme_sample);
    g_test_add_func("/conf/unknown", test_unknown);
    g_test_add_func("/conf/bad_values", test_bad_values);
    g_test_add_func("/conf/ranges", test_ranges);
    g_test_add_func("/conf/booleans", test_booleans);
    g_test_add_func("/conf/env", test_env);
    g_test_add_func("/conf/load_data_ignores_env", test_load_data_ignores_env);
    g_test_add_func("/conf/cache", test_cache_group);
    return g_test_run();
}
