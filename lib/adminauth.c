/* adminauth.c — yescrypt password hashing through libxcrypt (crypt_gensalt_rn "$y$", crypt_rn),
 * and random base64url tokens for the admin program. */
#include "config.h"
#include "adminauth.h"

#include <crypt.h>
#include <string.h>
#include "crypto.h"

GwStatus gw_password_hash(const char *password, char **out, GError **err)
{
    size_t n = password != NULL ? strlen(password) : 0;
    if (n < GW_PASSWORD_MIN)
        return gw_fail(err, GW_EINVAL, "the password must be at least %d characters",
                       GW_PASSWORD_MIN);
    if (n > GW_PASSWORD_MAX)
        return gw_fail(err, GW_ETOOBIG, "the password must be at most %d bytes",
                       GW_PASSWORD_MAX);
    if (strpbrk(password, "\r\n") != NULL)
        return gw_fail(err, GW_EINVAL, "the password must not contain line breaks");
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    /* rbytes NULL: libcrypt takes the salt from the OS CSPRNG; count 0: yescrypt's default. */
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting) == NULL)
        return gw_fail(err, GW_ECRYPTO, "cannot make a password salt");
    struct crypt_data *cd = g_new0(struct crypt_data, 1);
    const char *h = crypt_rn(password, setting, cd, sizeof *cd);
    GwStatus gs = GW_OK;
    if (h == NULL || h[0] == '*')
        gs = gw_fail(err, GW_ECRYPTO, "cannot hash the password");
    else
        *out = g_strdup(h);
    explicit_bzero(cd, sizeof *cd);
    g_free(cd);
    return gs;
}

gboolean gw_password_verify(const char *password, const char *hash)
{
    if (password == NULL || hash == NULL || *hash == '\0' || strlen(password) > GW_PASSWORD_MAX)
        return FALSE;
    struct crypt_data *cd = g_new0(struct crypt_data, 1);
    const char *h = crypt_rn(password, hash, cd, sizeof *cd);
    size_t n = strlen(hash);
    gboolean ok = h != NULL && h[0] != '*' && strlen(h) == n && gw_ct_equal(h, hash, n);
    explicit_bzero(cd, sizeof *cd);
    g_free(cd);
    return ok;
}

char *gw_random_token(const char *prefix, size_t nbytes)
{
    guint8 raw[64];
    g_assert(nbytes > 0 && nbytes <= sizeof raw);
    GError *err = NULL;
    if (gw_random_bytes(raw, nbytes, &err) != GW_OK)
        g_error("cannot generate a random token: %s", err->message);
    char *b64 = g_base64_encode(raw, nbytes);
    explicit_bzero(raw, sizeof raw);
    GString *tok = g_string_new(prefix);
    for (const char *c = b64; *c != '\0' && *c != '='; c++)
        g_string_append_c(tok, *c == '+' ? '-' : *c == '/' ? '_' : *c);
    explicit_bzero(b64, strlen(b64));
    g_free(b64);
    return g_string_free(tok, FALSE);
}

gboolean gw_admin_token_is_well_formed(const char *tok)
{
    if (tok == NULL || strlen(tok) != GW_ADMIN_TOKEN_LEN ||
        strncmp(tok, GW_ADMIN_TOKEN_PREFIX, strlen(GW_ADMIN_TOKEN_PREFIX)) != 0)
        return FALSE;
    for (const char *c = tok + strlen(GW_ADMIN_TOKEN_PREFIX); *c != '\0'; c++)
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
            return FALSE;
    return TRUE;
}
