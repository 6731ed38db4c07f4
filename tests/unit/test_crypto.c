/* test_crypto.c — tokens, hashing, the master key file and secret encryption. */
#include "config.h"
#include "crypto.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

static void test_vk_shape(void)
{
    for (int i = 0; i < 200; i++) {
        char *t = gw_vk_generate();
        g_assert_cmpuint(strlen(t), ==, GW_VK_TOKEN_LEN);
        g_assert_true(g_str_has_prefix(t, GW_VK_PREFIX));
        for (const char *c = t + 3; *c; c++)
            g_assert_true(g_ascii_isalnum(*c) || *c == '-' || *c == '_');
        g_assert_true(gw_vk_is_well_formed(t, strlen(t)));
        g_free(t);
    }
}

static void test_vk_unique(void)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < 10000; i++) {
        char *t = gw_vk_generate();
        g_assert_false(g_hash_table_contains(seen, t));
        g_hash_table_add(seen, t);
    }
    g_hash_table_unref(seen);
}

static void test_vk_rejects(void)
{
    char *t = gw_vk_generate();
    size_t n = strlen(t);
    char buf[GW_VK_TOKEN_LEN + 2];

    g_assert_false(gw_vk_is_well_formed(NULL, 0));
    g_assert_false(gw_vk_is_well_formed("", 0));
    /* wrong prefix */
    memcpy(buf, t, n + 1);
    buf[0] = 'V';
    g_assert_false(gw_vk_is_well_formed(buf, n));
    memcpy(buf, t, n + 1);
    buf[2] = '_';
    g_assert_false(gw_vk_is_well_formed(buf, n));
    /* length - 1 and + 1 */
    g_assert_false(gw_vk_is_well_formed(t, n - 1));
    memcpy(buf, t, n);
    buf[n] = 'A';
    buf[n + 1] = '\0';
    g_assert_false(gw_vk_is_well_formed(buf, n + 1));
    /* padded or standard-base64 characters, NUL, space */
    const char bad[] = {'+', '/', '=', '\0', ' ', '.', '\n', '\x80'};
    for (size_t i = 0; i < sizeof bad; i++) {
        memcpy(buf, t, n + 1);
        buf[10] = bad[i];
        g_assert_false(gw_vk_is_well_formed(buf, n));
    }
    /* the last character must carry two zero low bits: 'B' is base64 value 1 */
    memcpy(buf, t, n + 1);
    buf[n - 1] = 'B';
    g_assert_false(gw_vk_is_well_formed(buf, n));
    buf[n - 1] = 'A';
    g_assert_true(gw_vk_is_well_formed(buf, n));
    /* 1 MB of token characters */
    size_t big = 1024 * 1024;
    char *huge = g_malloc(big + 1);
    memset(huge, 'A', big);
    memcpy(huge, "vk-", 3);
    huge[big] = '\0';
    g_assert_false(gw_vk_is_well_formed(huge, big));
    g_free(huge);
    g_free(t);
}

static void test_sha256(void)
{
    char out[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex("abc", 3, out);
    g_assert_cmpstr(out, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    gw_sha256_hex(NULL, 0, out);
    g_assert_cmpstr(out, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_ct_equal(void)
{
    g_assert_true(gw_ct_equal("abcd", "abcd", 4));
    g_assert_false(gw_ct_equal("abcd", "abce", 4));
    g_assert_false(gw_ct_equal("xbcd", "abcd", 4));
    g_assert_true(gw_ct_equal("a", "b", 0));
}

static void make_key(guint8 key[GW_MASTER_KEY_LEN])
{
    g_assert_cmpint(gw_random_bytes(key, GW_MASTER_KEY_LEN, NULL), ==, GW_OK);
}

static void test_roundtrip(void)
{
    guint8 key[GW_MASTER_KEY_LEN];
    make_key(key);
    const char *secrets[] = {"", "x", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"};
    for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++) {
        GBytes *blob = NULL;
        g_assert_cmpint(gw_secret_encrypt(key, secrets[i], strlen(secrets[i]), &blob, NULL), ==,
                        GW_OK);
        g_assert_cmpuint(g_bytes_get_size(blob), ==, 12 + strlen(secrets[i]) + 16);
        gsize bl;
        const guint8 *b = g_bytes_get_data(blob, &bl);
        if (strlen(secrets[i]) > 4)
            g_assert_null(memmem(b, bl, secrets[i], strlen(secrets[i])));
        char *plain = NULL;
        g_assert_cmpint(gw_secret_decrypt(key, b, bl, &plain, NULL), ==, GW_OK);
        g_assert_cmpstr(plain, ==, secrets[i]);
        gw_secret_free(plain);
        g_bytes_unref(blob);
    }
    GError *err = NULL;
    GBytes *blob = NULL;
    g_assert_cmpint(gw_secret_encrypt(key, "a\0b", 3, &blob, &err), ==, GW_EINVAL);
    g_assert_null(blob);
    g_clear_error(&err);
    gw_secret_free(NULL);
}

static void test_wrong_key_and_tamper(void)
{
    guint8 key[GW_MASTER_KEY_LEN], other[GW_MASTER_KEY_LEN];
    make_key(key);
    make_key(other);
    const char *secret = "sk-ant-api03-secret-value";
    GBytes *blob = NULL;
    g_assert_cmpint(gw_secret_encrypt(key, secret, strlen(secret), &blob, NULL), ==, GW_OK);
    gsize bl;
    const guint8 *b = g_bytes_get_data(blob, &bl);

    GError *err = NULL;
    char *plain = NULL;
    g_assert_cmpint(gw_secret_decrypt(other, b, bl, &plain, &err), ==, GW_ECRYPTO);
    g_assert_error(err, GW_ERROR, GW_ECRYPTO);
    g_assert_null(plain);
    g_clear_error(&err);

    guint8 *copy = g_malloc(bl);
    memcpy(copy, b, bl);
    for (gsize i = 0; i < bl; i++) {
        copy[i] ^= 0x01;
        g_assert_cmpint(gw_secret_decrypt(key, copy, bl, &plain, NULL), ==, GW_ECRYPTO);
        copy[i] ^= 0x01;
    }
    g_assert_null(plain);
    /* every truncation, including below nonce + tag */
    for (gsize n = 0; n < bl; n++)
        g_assert_cmpint(gw_secret_decrypt(key, copy, n, &plain, NULL), ==, GW_ECRYPTO);
    g_assert_cmpint(gw_secret_decrypt(key, NULL, 0, &plain, NULL), ==, GW_ECRYPTO);
    g_assert_cmpint(gw_secret_decrypt(key, copy, bl, &plain, NULL), ==, GW_OK);
    g_assert_cmpstr(plain, ==, secret);
    gw_secret_free(plain);
    g_free(copy);
    g_bytes_unref(blob);
}

static void test_nonce_unique(void)
{
    guint8 key[GW_MASTER_KEY_LEN];
    make_key(key);
    GHashTable *seen = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                             (GDestroyNotify)g_bytes_unref, NULL);
    for (int i = 0; i < 100000; i++) {
        GBytes *blob = NULL;
        g_assert_cmpint(gw_secret_encrypt(key, "k", 1, &blob, NULL), ==, GW_OK);
        GBytes *nonce = g_bytes_new_from_bytes(blob, 0, 12);
        g_bytes_unref(blob);
        g_assert_false(g_hash_table_contains(seen, nonce));
        g_hash_table_add(seen, nonce);
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 100000);
    g_hash_table_unref(seen);
}

static void write_file(const char *path, const void *data, gsize len, int mode)
{
    g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
    g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static void test_master_key(void)
{
    char *dir = g_dir_make_tmp("gw-crypto-XXXXXX", NULL);
    g_assert_nonnull(dir);
    char *path = g_build_filename(dir, "master.key", NULL);
    guint8 k1[GW_MASTER_KEY_LEN], k2[GW_MASTER_KEY_LEN];
    GError *err = NULL;

    /* missing without create */
    g_assert_cmpint(gw_master_key_load(path, FALSE, k1, &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);

    /* create: 0600, 32 bytes, reload gives the same key; no temp files left */
    g_assert_cmpint(gw_master_key_load(path, TRUE, k1, &err), ==, GW_OK);
    g_assert_no_error(err);
    struct stat st;
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    g_assert_cmpint(st.st_size, ==, GW_MASTER_KEY_LEN);
    g_assert_cmpint(gw_master_key_load(path, FALSE, k2, NULL), ==, GW_OK);
    g_assert_cmpmem(k1, sizeof k1, k2, sizeof k2);
    g_assert_cmpint(gw_master_key_load(path, TRUE, k2, NULL), ==, GW_OK);
    g_assert_cmpmem(k1, sizeof k1, k2, sizeof k2);
    GDir *d = g_dir_open(dir, 0, NULL);
    int entries = 0;
    while (g_dir_read_name(d) != NULL)
        entries++;
    g_dir_close(d);
    g_assert_cmpint(entries, ==, 1);

    /* group/other bits refused, message names the path and chmod 600 */
    g_assert_cmpint(g_chmod(path, 0644), ==, 0);
    g_assert_cmpint(gw_master_key_load(path, TRUE, k2, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, path));
    g_assert_nonnull(strstr(err->message, "chmod 600"));
    g_clear_error(&err);
    g_assert_cmpint(g_chmod(path, 0640), ==, 0);
    g_assert_cmpint(gw_master_key_load(path, FALSE, k2, NULL), ==, GW_EINVAL);
    g_assert_cmpint(g_chmod(path, 0602), ==, 0);
    g_assert_cmpint(gw_master_key_load(path, FALSE, k2, NULL), ==, GW_EINVAL);

    /* wrong sizes refused */
    guint8 junk[GW_MASTER_KEY_LEN + 1] = {0};
    write_file(path, junk, GW_MASTER_KEY_LEN - 1, 0600);
    g_assert_cmpint(gw_master_key_load(path, TRUE, k2, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);
    write_file(path, junk, GW_MASTER_KEY_LEN + 1, 0600);
    g_assert_cmpint(gw_master_key_load(path, TRUE, k2, NULL), ==, GW_EINVAL);
    write_file(path, junk, 0, 0600);
    g_assert_cmpint(gw_master_key_load(path, TRUE, k2, NULL), ==, GW_EINVAL);

    /* a directory is not a key; a missing parent directory is an I/O error */
    g_assert_cmpint(gw_master_key_load(dir, FALSE, k2, NULL), ==, GW_EINVAL);
    char *nodir = g_build_filename(dir, "nope", "master.key", NULL);
    g_assert_cmpint(gw_master_key_load(nodir, TRUE, k2, NULL), ==, GW_EIO);
    g_free(nodir);
    g_assert_cmpint(gw_master_key_load("", TRUE, k2, NULL), ==, GW_EINVAL);

    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
    g_free(path);
    g_free(dir);
}

static void test_mask(void)
{
    char *m;
    m = gw_secret_mask("sk-abcdefgh1234");
    g_assert_cmpstr(m, ==, "\xe2\x80\xa6" "1234");
    g_free(m);
    m = gw_secret_mask("abcdefghijkl"); /* exactly 12 */
    g_assert_cmpstr(m, ==, "\xe2\x80\xa6" "ijkl");
    g_free(m);
    m = gw_secret_mask("abcdefghijk"); /* 11 */
    g_assert_cmpstr(m, ==, "\xe2\x80\xa6");
    g_free(m);
    m = gw_secret_mask("");
    g_assert_cmpstr(m, ==, "\xe2\x80\xa6");
    g_free(m);
    m = gw_secret_mask(NULL);
    g_assert_cmpstr(m, ==, "\xe2\x80\xa6");
    g_free(m);
    /* characters, not bytes: never split a UTF-8 sequence */
    m = gw_secret_mask("abcdefghij\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    g_assert_cmpstr(m, ==, "\xe2\x80\xa6\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    g_free(m);
    m = gw_secret_mask("abcdefghijklmn\xff");
    g_assert_true(g_utf8_validate(m, -1, NULL));
    g_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crypto/vk/shape", test_vk_shape);
    g_test_add_func("/crypto/vk/unique", test_vk_unique);
    g_test_add_func("/crypto/vk/rejects", test_vk_rejects);
    g_test_add_func("/crypto/sha256", test_sha256);
    g_test_add_func("/crypto/ct_equal", test_ct_equal);
    g_test_add_func("/crypto/secret/roundtrip", test_roundtrip);
    g_test_add_func("/crypto/secret/tamper", test_wrong_key_and_tamper);
    g_test_add_func("/crypto/secret/nonce_unique", test_nonce_unique);
    g_test_add_func("/crypto/master_key", test_master_key);
    g_test_add_func("/crypto/mask", test_mask);
    return g_test_run();
}
