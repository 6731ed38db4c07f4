/* test_permcheck.c — the start-up refusal of a state directory or database writable by others. */
#include "config.h"
#include "permcheck.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *home;
    char *db;
} Fixture;

static void fx_setup(Fixture *f, gconstpointer data)
{
    (void)data;
    GError *err = NULL;
    f->home = g_dir_make_tmp("permcheck-XXXXXX", &err);
    g_assert_no_error(err);
    g_assert_cmpint(chmod(f->home, 0700), ==, 0);
    f->db = g_build_filename(f->home, "alephant.db", NULL);
    g_assert_true(g_file_set_contents(f->db, "", 0, NULL));
    g_assert_cmpint(chmod(f->db, 0600), ==, 0);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
    (void)data;
    g_unlink(f->db);
    char *sub = g_build_filename(f->home, "sub", NULL);
    char *subdb = g_build_filename(sub, "x.db", NULL);
    g_unlink(subdb);
    g_rmdir(sub);
    g_free(subdb);
    g_free(sub);
    g_rmdir(f->home);
    g_free(f->db);
    g_free(f->home);
}

static void test_private_ok(Fixture *f, gconstpointer data)
{
    (void)data;
    GError *err = NULL;
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_OK);
    g_assert_no_error(err);
    /* group-writable is the operator's choice (a shared group); only others are refused */
    g_assert_cmpint(chmod(f->home, 0770), ==, 0);
    g_assert_cmpint(chmod(f->db, 0660), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_OK);
    /* readable by others is not this check's business either */
    g_assert_cmpint(chmod(f->home, 0755), ==, 0);
    g_assert_cmpint(chmod(f->db, 0644), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_OK);
}

static void test_world_writable_dir(Fixture *f, gconstpointer data)
{
    (void)data;
    GError *err = NULL;
    g_assert_cmpint(chmod(f->home, 0777), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_EINVAL);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "state directory"));
    g_assert_nonnull(strstr(err->message, f->home));
    g_assert_nonnull(strstr(err->message, "0777"));
    g_assert_nonnull(strstr(err->message, "chmod o-w"));
    g_clear_error(&err);
    /* sticky (like /tmp) is still writable by others */
    g_assert_cmpint(chmod(f->home, 01777), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(chmod(f->home, 0700), ==, 0);
}

static void test_world_writable_db(Fixture *f, gconstpointer data)
{
    (void)data;
    GError *err = NULL;
    g_assert_cmpint(chmod(f->db, 0666), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_EINVAL);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "database"));
    g_assert_nonnull(strstr(err->message, f->db));
    g_assert_nonnull(strstr(err->message, "0666"));
    g_clear_error(&err);
    g_assert_cmpint(chmod(f->db, 0602), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, f->db, &err), ==, GW_EINVAL);
    g_clear_error(&err);
}

static void test_db_elsewhere(Fixture *f, gconstpointer data)
{
    (void)data;
    GError *err = NULL;
    char *sub = g_build_filename(f->home, "sub", NULL);
    char *subdb = g_build_filename(sub, "x.db", NULL);
    g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
    g_assert_true(g_file_set_contents(subdb, "", 0, NULL));
    g_assert_cmpint(chmod(subdb, 0600), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, subdb, &err), ==, GW_OK);
    g_assert_cmpint(chmod(sub, 0757), ==, 0);
    g_assert_cmpint(gw_permcheck_state(f->home, subdb, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "database directory"));
    g_assert_nonnull(strstr(err->message, sub));
    g_clear_error(&err);
    g_free(subdb);
    g_free(sub);
}

static void test_missing_is_ok(void)
{
    GError *err = NULL;
    g_assert_cmpint(gw_permcheck_state("/nonexistent-alephant-home", "/nonexistent-alephant-home/a.db",
                                       &err), ==, GW_OK);
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/permcheck/private", Fixture, NULL, fx_setup, test_private_ok, fx_teardown);
    g_test_add("/permcheck/world-writable-dir", Fixture, NULL, fx_setup, test_world_writable_dir,
               fx_teardown);
    g_test_add("/permcheck/world-writable-db", Fixture, NULL, fx_setup, test_world_writable_db,
               fx_teardown);
    g_test_add("/permcheck/db-elsewhere", Fixture, NULL, fx_setup, test_db_elsewhere, fx_teardown);
    g_test_add_func("/permcheck/missing", test_missing_is_ok);
    return g_test_run();
}
