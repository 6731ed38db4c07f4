/* uuid.c — UUID parsing into canonical form, and UUIDv7 generation (RFC 9562). */
#include "config.h"
#include "uuid.h"

#include <pthread.h>
#include <string.h>

#include "crypto.h"

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Formats 16 bytes as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
static void format_uuid(const guint8 b[16], char out[GW_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0xf];
    }
    out[o] = '\0';
}

/* Decodes 32 hex digits, with hyphens exactly at 8/13/18/23 when `hyphens`. */
static gboolean decode(const char *s, gboolean hyphens, guint8 b[16])
{
    size_t i = 0;
    for (int k = 0; k < 16; k++) {
        if (hyphens && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return FALSE;
            i++;
        }
        int hi = hex_value((unsigned char)s[i]);
        int lo = hex_value((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return FALSE;
        b[k] = (guint8)(hi << 4 | lo);
        i += 2;
    }
    return TRUE;
}

gboolean gw_uuid_parse(const char *s, size_t len, char out[GW_UUID_STR_LEN + 1])
{
    static const char urn[] = "urn:uuid:";
    const size_t urn_len = sizeof urn - 1;
    guint8 b[16];
    gboolean ok;

    if (s == NULL)
        return FALSE;
    /* The length alone picks the form, so no scan ever reads past len. */
    if (len == 36)
        ok = decode(s, TRUE, b);
    else if (len == 32)
        ok = decode(s, FALSE, b);
    else if (len == 38)
        ok = s[0] == '{' && s[37] == '}' && decode(s + 1, TRUE, b);
    else if (len == urn_len + 36)
        ok = g_ascii_strncasecmp(s, urn, urn_len) == 0 && decode(s + urn_len, TRUE, b);
    else
        ok = FALSE;
    if (ok)
        format_uuid(b, out);
    return ok;
}

/* Monotonic state: last timestamp and the 74 random bits that followed it, so ids made in the
 * same millisecond (or while the clock steps back) still sort in creation order. */
/* A pthread mutex rather than GMutex: GLib's futex-based GMutex is invisible to ThreadSanitizer,
 * which the build supports (--enable-sanitizers=thread). */
static pthread_mutex_t v7_lock = PTHREAD_MUTEX_INITIALIZER;
static guint64 v7_last_ms;
static guint32 v7_last_a;   /* 12 bits (rand_a) */
static guint64 v7_last_b;   /* 62 bits (rand_b) */

static void random_or_die(void *buf, size_t n)
{
    GError *err = NULL;
    if (gw_random_bytes(buf, n, &err) != GW_OK)
        g_error("cannot generate a UUID: %s", err->message);
}

void gw_uuid_v7(char out[GW_UUID_STR_LEN + 1])
{
    const guint64 b62 = (G_GUINT64_CONSTANT(1) << 62) - 1;
    guint8 rnd[12];
    random_or_die(rnd, sizeof rnd);

    gint64 now_us = g_get_real_time();
    guint64 now_ms = now_us > 0 ? (guint64)now_us / 1000 : 0;
    now_ms &= (G_GUINT64_CONSTANT(1) << 48) - 1;

    guint32 ra = ((guint32)rnd[0] << 8 | rnd[1]) & 0xfff;
    guint64 rb = 0;
    for (int i = 2; i < 10; i++)
        rb = rb << 8 | rnd[i];
    rb &= b62;
    /* Random increment so successive ids in one millisecond stay unguessable. */
    guint64 step = 1 + (((guint64)rnd[10] << 8 | rnd[11]) << 8);

    pthread_mutex_lock(&v7_lock);
    if (now_ms > v7_last_ms) {
        /* Clear the top bit of rand_a: leaves room to count up within this millisecond. */
        ra &= 0x7ff;
    } else {
        now_ms = v7_last_ms;
        ra = v7_last_a;
        rb = v7_last_b + step;
        if (rb > b62) {
            rb &= b62;
            if (++ra > 0xfff) {
                /* 74 bits exhausted (never in practice): borrow the next millisecond. */
                now_ms++;
                ra = 0;
            }
        }
    }
    v7_last_ms = now_ms;
    v7_last_a = ra;
    v7_last_b = rb;
    pthread_mutex_unlock(&v7_lock);

    guint8 b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (guint8)(now_ms >> (40 - 8 * i));
    b[6] = (guint8)(0x70 | (ra >> 8));        /* version 7 */
    b[7] = (guint8)(ra & 0xff);
    b[8] = (guint8)(0x80 | (rb >> 56));       /* variant 10 */
    for (int i = 9; i < 16; i++)
        b[i] = (guint8)(rb >> (8 * (15 - i)));
    format_uuid(b, out);
}
