/* crypto.h — secrets: virtual-key tokens (CSPRNG, SHA-256, constant-time compare), the master key
 * file, and AES-256-GCM encryption of provider secrets at rest (OpenSSL libcrypto). */
#ifndef GW_CRYPTO_H
#define GW_CRYPTO_H

#include <stddef.h>
#include <glib.h>
#include "status.h"

#define GW_VK_PREFIX "vk-"
#define GW_VK_RANDOM_BYTES 32
/* "vk-" + unpadded base64url of 32 bytes (43 chars) */
#define GW_VK_TOKEN_LEN (3 + 43)
/* characters of the token kept for display ("vk-AbCd1234") */
#define GW_VK_DISPLAY_PREFIX_LEN 11
#define GW_MASTER_KEY_LEN 32
#define GW_SHA256_HEX_LEN 64

/* Fills buf with n bytes from the OS CSPRNG. GW_ECRYPTO on failure. */
GwStatus gw_random_bytes(void *buf, size_t n, GError **err);

/* A new virtual key token; caller frees with g_free. Aborts if the CSPRNG fails. */
char *gw_vk_generate(void);

/* TRUE when tok has the exact shape of a token this gateway issues (prefix, length, alphabet).
 * Cheap, does not touch the database: used before any lookup. */
gboolean gw_vk_is_well_formed(const char *tok, size_t len);

/* Lower-case hex SHA-256 of data into out (65 bytes incl. NUL). */
void gw_sha256_hex(const void *data, size_t len, char out[GW_SHA256_HEX_LEN + 1]);

/* Constant-time equality of two n-byte buffers. */
gboolean gw_ct_equal(const void *a, const void *b, size_t n);

/* Loads the 32-byte master key from path. When the file does not exist and create is TRUE, a new
 * random key is written there with mode 0600 (atomically). A key file readable or writable by
 * group/others is refused (GW_EINVAL). */
GwStatus gw_master_key_load(const char *path, gboolean create, guint8 key[GW_MASTER_KEY_LEN],
                            GError **err);

/* Encrypts a provider secret with AES-256-GCM under key, random 96-bit nonce.
 * *out receives nonce || ciphertext || tag (caller unrefs). */
GwStatus gw_secret_encrypt(const guint8 key[GW_MASTER_KEY_LEN], const char *plain, size_t len,
                           GBytes **out, GError **err);

/* Decrypts a blob made by gw_secret_encrypt. *plain_out is NUL-terminated, caller frees it with
 * gw_secret_free (which wipes it). A wrong key or any modified byte gives GW_ECRYPTO. */
GwStatus gw_secret_decrypt(const guint8 key[GW_MASTER_KEY_LEN], const void *blob, size_t len,
                           char **plain_out, GError **err);

/* Wipes and frees a secret string (NULL is fine). */
void gw_secret_free(char *secret);

/* Display form of a secret: "…" + its last 4 characters (or "…" alone when shorter than 12).
 * Caller frees. */
char *gw_secret_mask(const char *secret);

#endif
