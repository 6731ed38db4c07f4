/* crypto.c — CSPRNG, virtual-key tokens, SHA-256, the master key file and AES-256-GCM for
 * provider secrets. All primitives come from OpenSSL libcrypto; nothing here is hand-rolled. */
#include "config.h"
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16
/* Bound to the AAD so a blob cannot be replayed into another context or format version. */
#define GCM_AAD "alephant-provider-key-v1"
/* Provider secrets are API keys or small credential files; anything bigger is a mistake or an
 * attack, and it keeps every length inside OpenSSL's int parameters. */
#define SECRET_MAX_LEN (1024 * 1024)

GwStatus gw_random_bytes(void *buf, size_t n, GError **err)
{
    guint8 *p = buf;
    /* RAND_bytes takes an int: feed it in chunks. */
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return gw_fail(err, GW_ECRYPTO, "the system random generator failed");
        p += chunk;
        n -= (size_t)chunk;
    }
    return GW_OK;
}

char *gw_vk_generate(void)
{
    guint8 raw[GW_VK_RANDOM_BYTES];
    GError *err = NULL;
    if (gw_random_bytes(raw, sizeof raw, &err) != GW_OK)
        g_error("cannot generate a virtual key: %s", err->message);

    char *b64 = g_base64_encode(raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);

    /* base64 → unpadded base64url (RFC 4648 §5). */
    GString *tok = g_string_sized_new(GW_VK_TOKEN_LEN + 1);
    g_string_append(tok, GW_VK_PREFIX);
    for (const char *c = b64; *c != '\0' && *c != '='; c++)
        g_string_append_c(tok, *c == '+' ? '-' : *c == '/' ? '_' : *c);
    OPENSSL_cleanse(b64, strlen(b64));
    g_free(b64);

    g_assert(tok->len == GW_VK_TOKEN_LEN);
    return g_string_free(tok, FALSE);
}

/* Index of c in the base64url alphabet, or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

gboolean gw_vk_is_well_formed(const char *tok, size_t len)
{
    const size_t plen = sizeof GW_VK_PREFIX - 1;
    if (tok == NULL || len != GW_VK_TOKEN_LEN || memcmp(tok, GW_VK_PREFIX, plen) != 0)
        return FALSE;
    int v = 0;
    for (size_t i = plen; i < len; i++) {
        v = b64url_value((unsigned char)tok[i]);
        if (v < 0)
            return FALSE;
    }
    /* 43 characters carry 258 bits for 256: the encoder always leaves the last character's two
     * low bits zero, so only such tokens can have been issued here. */
    return (v & 3) == 0;
}

void gw_sha256_hex(const void *data, size_t len, char out[GW_SHA256_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    static const guint8 empty = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (data == NULL)
        data = &empty; /* only valid with len == 0 */
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        g_error("SHA-256 failed"); /* no recovery: libcrypto is broken */
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[GW_SHA256_HEX_LEN] = '\0';
}

gboolean gw_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return TRUE;
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- master key file ---- */

/* Reads exactly GW_MASTER_KEY_LEN bytes from an opened key file after checking its mode and
 * size on the descriptor itself (no stat/open race). */
static GwStatus key_read_fd(int fd, const char *path, guint8 key[GW_MASTER_KEY_LEN], GError **err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return gw_fail(err, GW_EIO, "master key %s: %s", path, g_strerror(errno));
    if (!S_ISREG(st.st_mode))
        return gw_fail(err, GW_EINVAL, "master key %s is not a regular file", path);
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return gw_fail(err, GW_EINVAL,
                       "master key %s is accessible by group or others (mode %04o); "
                       "run: chmod 600 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_size != GW_MASTER_KEY_LEN)
        return gw_fail(err, GW_EINVAL, "master key %s must be exactly %d bytes (it has %lld)",
                       path, GW_MASTER_KEY_LEN, (long long)st.st_size);

    /* One byte more than needed detects a file that grew after fstat. */
    guint8 buf[GW_MASTER_KEY_LEN + 1];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            OPENSSL_cleanse(buf, sizeof buf);
            return gw_fail(err, GW_EIO, "master key %s: %s", path, g_strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got != GW_MASTER_KEY_LEN) {
        OPENSSL_cleanse(buf, sizeof buf);
        return gw_fail(err, GW_EINVAL, "master key %s must be exactly %d bytes", path,
                       GW_MASTER_KEY_LEN);
    }
    memcpy(key, buf, GW_MASTER_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof buf);
    return GW_OK;
}

static gboolean write_all(int fd, const guint8 *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FALSE;
        p += w;
        n -= (size_t)w;
    }
    return TRUE;
}

/* Makes the directory entry of a new file durable. Best effort: some filesystems refuse fsync
 * on directories, and the key file itself is already synced. */
static void fsync_dir(const char *path)
{
    char *dir = g_path_get_dirname(path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    g_free(dir);
}

/* Writes a fresh random key to a 0600 temp file next to path, fsyncs it, then publishes it
 * atomically. link() is used rather than rename() so that two processes racing to create the
 * key cannot overwrite each other's key (a key another process already used would be lost);
 * the loser just loads the winner's file. rename() is the fallback on filesystems without hard
 * links. Returns GW_OK also when someone else created the file first. */
static GwStatus key_create(const char *path, GError **err)
{
    guint8 key[GW_MASTER_KEY_LEN];
    guint8 rnd[8];
    GwStatus st = gw_random_bytes(key, sizeof key, err);
    if (st == GW_OK)
        st = gw_random_bytes(rnd, sizeof rnd, err);
    if (st != GW_OK) {
        OPENSSL_cleanse(key, sizeof key);
        return st;
    }
    char *tmp = g_strdup_printf("%s.tmp-%ld-%02x%02x%02x%02x%02x%02x%02x%02x", path, (long)getpid(),
                                rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        OPENSSL_cleanse(key, sizeof key);
        g_free(tmp);
        return gw_fail(err, GW_EIO, "cannot create master key %s: %s", path, g_strerror(e));
    }
    /* The umask can only remove bits, but be explicit in case the file system adds some. */
    gboolean ok = fchmod(fd, 0600) == 0 && write_all(fd, key, sizeof key) && fsync(fd) == 0;
    int e = errno;
    OPENSSL_cleanse(key, sizeof key);
    if (close(fd) != 0 && ok) {
        ok = FALSE;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        g_free(tmp);
        return gw_fail(err, GW_EIO, "cannot write master key %s: %s", path, g_strerror(e));
    }

    st = GW_OK;
    if (link(tmp, path) != 0) {
        e = errno;
        if (e == EEXIST) {
            /* Another process won the race: its key is the one to use. */
        } else if ((e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV) &&
                   rename(tmp, path) == 0) {
            /* No hard links here: plain atomic rename (a concurrent creator could win twice,
             * but the file on disk is always a complete key). */
            g_free(tmp);
            fsync_dir(path);
            return GW_OK;
        } else {
            st = gw_fail(err, GW_EIO, "cannot create master key %s: %s", path, g_strerror(e));
        }
    }
    unlink(tmp);
    g_free(tmp);
    if (st == GW_OK)
        fsync_dir(path);
    return st;
}

GwStatus gw_master_key_load(const char *path, gboolean create, guint8 key[GW_MASTER_KEY_LEN],
                            GError **err)
{
    if (path == NULL || *path == '\0')
        return gw_fail(err, GW_EINVAL, "no master key path given");

    /* Two rounds at most: the file is missing, we create it, then read it like any other. */
    for (int round = 0; round < 2; round++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
            GwStatus st = key_read_fd(fd, path, key, err);
            close(fd);
            return st;
        }
        int e = errno;
        if (e != ENOENT)
            return gw_fail(err, GW_EIO, "cannot open master key %s: %s", path, g_strerror(e));
        if (!create)
            return gw_fail(err, GW_ENOTFOUND, "master key %s does not exist", path);
        if (round == 0) {
            GwStatus st = key_create(path, err);
            if (st != GW_OK)
                return st;
        }
    }
    return gw_fail(err, GW_EIO, "master key %s disappeared right after it was created", path);
}

/* ---- AES-256-GCM ---- */

GwStatus gw_secret_encrypt(const guint8 key[GW_MASTER_KEY_LEN], const char *plain, size_t len,
                           GBytes **out, GError **err)
{
    static const guint8 empty = 0;
    if (len > SECRET_MAX_LEN)
        return gw_fail(err, GW_ETOOBIG, "secret is too long (%zu bytes, at most %d)", len,
                       SECRET_MAX_LEN);
    if (plain == NULL)
        plain = (const char *)&empty; /* only valid with len == 0 */
    /* Decryption hands back a C string: an embedded NUL would silently cut the secret. */
    if (memchr(plain, '\0', len) != NULL)
        return gw_fail(err, GW_EINVAL, "secret contains a NUL byte");

    const size_t total = GCM_NONCE_LEN + len + GCM_TAG_LEN;
    guint8 *blob = g_malloc(total);
    guint8 *nonce = blob, *ct = blob + GCM_NONCE_LEN, *tag = blob + GCM_NONCE_LEN + len;

    GwStatus st = gw_random_bytes(nonce, GCM_NONCE_LEN, err);
    if (st != GW_OK) {
        g_free(blob);
        return st;
    }

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    gboolean ok = ctx != NULL &&
                  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
                  EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
                  EVP_EncryptUpdate(ctx, NULL, &n, (const guint8 *)GCM_AAD,
                                    (int)(sizeof GCM_AAD - 1)) == 1 &&
                  EVP_EncryptUpdate(ctx, ct, &n, (const guint8 *)plain, (int)len) == 1 &&
                  EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 && (size_t)(n + fin) == len &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        g_free(blob);
        return gw_fail(err, GW_ECRYPTO, "encryption failed");
    }
    *out = g_bytes_new_take(blob, total);
    return GW_OK;
}

GwStatus gw_secret_decrypt(const guint8 key[GW_MASTER_KEY_LEN], const void *blob, size_t len,
                           char **plain_out, GError **err)
{
    if (blob == NULL || len < GCM_NONCE_LEN + GCM_TAG_LEN)
        return gw_fail(err, GW_ECRYPTO, "encrypted secret is truncated (%zu bytes)", len);
    if (len > GCM_NONCE_LEN + GCM_TAG_LEN + (size_t)SECRET_MAX_LEN)
        return gw_fail(err, GW_ETOOBIG, "encrypted secret is too long (%zu bytes)", len);

    const guint8 *nonce = blob;
    const size_t ctlen = len - GCM_NONCE_LEN - GCM_TAG_LEN;
    const guint8 *ct = nonce + GCM_NONCE_LEN;
    /* The tag ctrl wants a writable buffer: copy it rather than cast away const. */
    guint8 tag[GCM_TAG_LEN];
    memcpy(tag, ct + ctlen, GCM_TAG_LEN);

    char *plain = g_malloc(ctlen + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    gboolean ok = ctx != NULL &&
                  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
                  EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
                  EVP_DecryptUpdate(ctx, NULL, &n, (const guint8 *)GCM_AAD,
                                    (int)(sizeof GCM_AAD - 1)) == 1 &&
                  EVP_DecryptUpdate(ctx, (guint8 *)plain, &n, ct, (int)ctlen) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) == 1 &&
                  EVP_DecryptFinal_ex(ctx, (guint8 *)plain + n, &fin) == 1 &&
                  (size_t)(n + fin) == ctlen;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        /* Unauthenticated plaintext must never leave this function. */
        OPENSSL_cleanse(plain, ctlen + 1);
        g_free(plain);
        return gw_fail(err, GW_ECRYPTO,
                       "cannot decrypt secret (wrong master key or corrupted data)");
    }
    plain[ctlen] = '\0';
    *plain_out = plain;
    return GW_OK;
}

void gw_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    OPENSSL_cleanse(secret, strlen(secret));
    g_free(secret);
}

char *gw_secret_mask(const char *secret)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    /* Count characters, not bytes, so the suffix never splits a UTF-8 sequence; invalid UTF-8
     * shows nothing (the mask ends up in JSON, which must be valid UTF-8). */
    if (secret == NULL || !g_utf8_validate(secret, -1, NULL))
        return g_strdup(ellipsis);
    glong chars = g_utf8_strlen(secret, -1);
    if (chars < 12)
        return g_strdup(ellipsis);
    return g_strconcat(ellipsis, g_utf8_offset_to_pointer(secret, chars - 4), NULL);
}
