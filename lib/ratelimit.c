/* ratelimit.c — GCRA buckets in a shared memory-mapped file: file creation and initialisation
 * under flock, block-local open addressing, striped robust process-shared mutexes. */
#include "config.h"
#include "ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define RL_MAGIC "GWRATEL\x01"
#define RL_VERSION 1u
/* Probe bound and block size: a key's probe sequence wraps inside the aligned block of
 * RL_BLOCK slots that holds its home slot, so one stripe lock covers every slot it can touch. */
#define RL_BLOCK 64u
#define RL_STRIPES 256u
#define RL_CAPACITY_MAX (1u << 22) /* 4 Mi slots ≈ 640 MB: beyond that something is wrong */
#define RL_SEED_LEN 16
#define RL_BOOT_ID_LEN 40
#define RL_NS_PER_MS G_GINT64_CONSTANT(1000000)
#define RL_WINDOW_MS_MAX G_GINT64_CONSTANT(315360000000) /* 10 years */
/* How far ahead of now a TAT may be pushed by overdraws: keeps every sum below INT64_MAX. */
#define RL_AHEAD_MAX (G_MAXINT64 / 4)
#define RL_OPEN_ATTEMPTS 50 /* × 10 ms waiting for an invalid file to be let go */

#define SLOT_DIGEST 1u /* key holds the SHA-256 of a key longer than GW_RATELIMIT_KEY_MAX */

/* Each stripe on its own cache line so unrelated buckets do not contend through false sharing. */
typedef struct {
    _Alignas(64) pthread_mutex_t m;
} Stripe;

/* The fixed part of the header, read with pread() before the file is trusted. */
typedef struct {
    char magic[8];
    guint32 version;
    guint32 initialised; /* set last, under flock: 0 after a crash mid-initialisation */
    guint32 capacity;
    guint32 slot_size;   /* layout checks: every process must share one build's layout */
    guint32 mutex_size;
    guint32 reserved;
    guint8 seed[RL_SEED_LEN]; /* random per file: hash flooding needs it, and it is never shown */
    char boot_id[RL_BOOT_ID_LEN];
} HeaderInfo;

typedef struct {
    HeaderInfo info;
    Stripe stripes[RL_STRIPES];
} Header;

typedef struct {
    guint64 hash;      /* 0: never used (hashes are forced non-zero) */
    gint64 tat;        /* theoretical arrival time, ns; ≤ now means the bucket is full */
    gint64 last_used;  /* ns, for LRU eviction */
    guint32 key_len;
    guint32 flags;     /* SLOT_DIGEST */
    char key[GW_RATELIMIT_KEY_MAX]; /* NUL-padded bytes */
} Slot;

struct GwRateLimiter {
    Header *hdr;      /* the mapping (owned: munmap on close) */
    Slot *slots;      /* inside the mapping */
    gsize map_len;
    int fd;           /* owned: holds a shared flock while mapped (see gw_ratelimit_open) */
    guint32 mask;     /* capacity − 1 */
    EVP_MD *sha256;   /* fetched once: an implicit fetch per digest would triple its cost */
    gint64 (*now_ns)(void);
};

/* A key reduced to what the table stores. */
typedef struct {
    guint64 hash;
    guint32 len;
    guint32 flags;
    const void *bytes;
    guint8 digest[32];
} Key;

static gint64 default_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

static int flock_retry(int fd, int op)
{
    int rc;
    while ((rc = flock(fd, op)) != 0 && errno == EINTR)
        ;
    return rc;
}

static gsize map_size(guint32 capacity)
{
    return sizeof(Header) + (gsize)capacity * sizeof(Slot);
}

static void read_boot_id(char out[RL_BOOT_ID_LEN])
{
    char *text = NULL;
    memset(out, 0, RL_BOOT_ID_LEN);
    /* Without it (not Linux, no /proc) a reboot is not detected; TATs from the previous boot
     * would then look far in the future. Linux always has it. */
    if (g_file_get_contents("/proc/sys/kernel/random/boot_id", &text, NULL, NULL)) {
        g_strlcpy(out, g_strstrip(text), RL_BOOT_ID_LEN);
        g_free(text);
    }
}

static gboolean header_valid(const HeaderInfo *info, gsize file_size, const char *boot_id)
{
    return memcmp(info->magic, RL_MAGIC, sizeof info->magic) == 0
        && info->version == RL_VERSION && info->initialised == 1
        && info->slot_size == sizeof(Slot) && info->mutex_size == sizeof(pthread_mutex_t)
        && info->capacity >= RL_BLOCK && info->capacity <= RL_CAPACITY_MAX
        && (info->capacity & (info->capacity - 1)) == 0
        && file_size == map_size(info->capacity)
        /* An unknown boot id (unreadable /proc somewhere) must not reset a table in use. */
        && (info->boot_id[0] == '\0' || boot_id[0] == '\0'
            || memcmp(info->boot_id, boot_id, RL_BOOT_ID_LEN) == 0);
}

/* Fills a freshly zeroed mapping. Called holding the exclusive flock: nobody else has it open. */
static GwStatus header_init(Header *hdr, guint32 capacity, const char *boot_id, GError **err)
{
    HeaderInfo *info = &hdr->info;
    if (RAND_bytes(info->seed, sizeof info->seed) != 1)
        return gw_fail(err, GW_ECRYPTO, "the system random generator failed");

    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    /* A worker killed while holding a stripe must not wedge every other worker. */
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    for (guint i = 0; i < RL_STRIPES; i++) {
        int rc = pthread_mutex_init(&hdr->stripes[i].m, &attr);
        if (rc != 0) {
            pthread_mutexattr_destroy(&attr);
            return gw_fail(err, GW_EIO, "cannot initialise a shared mutex: %s", g_strerror(rc));
        }
    }
    pthread_mutexattr_destroy(&attr);

    memcpy(info->magic, RL_MAGIC, sizeof info->magic);
    info->version = RL_VERSION;
    info->capacity = capacity;
    info->slot_size = sizeof(Slot);
    info->mutex_size = sizeof(pthread_mutex_t);
    memcpy(info->boot_id, boot_id, RL_BOOT_ID_LEN);
    info->initialised = 1;
    return GW_OK;
}

/* Validates and maps the file, (re)initialising it first when invalid — only when `exclusive`
 * (nobody else has it open). An invalid file that others hold sets *busy and maps nothing. */
static GwStatus map_locked(int fd, const char *path, guint32 capacity, gboolean exclusive,
                           GwRateLimiter *rl, gboolean *busy, GError **err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return gw_fail(err, GW_EIO, "cannot stat %s: %s", path, g_strerror(errno));

    char boot_id[RL_BOOT_ID_LEN];
    read_boot_id(boot_id);

    HeaderInfo info;
    memset(&info, 0, sizeof info);
    if (st.st_size > 0) {
        ssize_t n = pread(fd, &info, sizeof info, 0);
        if (n < 0)
            return gw_fail(err, GW_EIO, "cannot read %s: %s", path, g_strerror(errno));
        /* Zero magic is ours, left by a crash between ftruncate and initialisation; anything
         * else foreign is somebody's file, which we must not truncate. */
        static const char zero_magic[sizeof info.magic];
        if ((gsize)n >= sizeof info.magic && memcmp(info.magic, RL_MAGIC, sizeof info.magic) != 0
            && memcmp(info.magic, zero_magic, sizeof info.magic) != 0)
            return gw_fail(err, GW_EINVAL, "%s is not a rate limiter file", path);
        if ((gsize)n < sizeof info)
            memset(&info, 0, sizeof info);
    }

    gboolean fresh = !header_valid(&info, (gsize)st.st_size, boot_id);
    if (fresh && !exclusive) {
        *busy = TRUE;
        return GW_OK;
    }
    if (!fresh)
        capacity = info.capacity;
    gsize len = map_size(capacity);
    /* Invalid or stale (previous boot, other layout, crashed initialiser) and nobody else has it
     * open: start again from zeros. */
    if (fresh && (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)len) != 0))
        return gw_fail(err, GW_EIO, "cannot size %s: %s", path, g_strerror(errno));

    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return gw_fail(err, GW_EIO, "cannot map %s: %s", path, g_strerror(errno));
    if (fresh) {
        GwStatus st2 = header_init(map, capacity, boot_id, err);
        if (st2 != GW_OK) {
            munmap(map, len);
            return st2;
        }
    }
    rl->hdr = map;
    rl->slots = (Slot *)((char *)map + sizeof(Header));
    rl->map_len = len;
    rl->mask = capacity - 1;
    return GW_OK;
}

GwStatus gw_ratelimit_open(const char *path, guint32 capacity, GwRateLimiter **out, GError **err)
{
    g_return_val_if_fail(path != NULL && out != NULL, GW_EINVAL);
    *out = NULL;
    if (capacity == 0)
        capacity = GW_RATELIMIT_DEFAULT_CAPACITY;
    if (capacity < RL_BLOCK || capacity > RL_CAPACITY_MAX || (capacity & (capacity - 1)) != 0)
        return gw_fail(err, GW_EINVAL, "rate limiter capacity %u is not a power of two in %u..%u",
                       capacity, RL_BLOCK, RL_CAPACITY_MAX);

    /* O_NOFOLLOW: a symlink planted in the run directory must not redirect our writes. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return gw_fail(err, errno == ELOOP ? GW_EINVAL : GW_EIO, "cannot open %s: %s", path,
                       g_strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        close(fd);
        /* Others able to write it could refuse or free any client; to read it, see its keys. */
        return gw_fail(err, GW_EINVAL, "%s must be a regular file with mode 0600", path);
    }

    /* Every user holds a shared flock for as long as it has the file mapped. Whoever gets it
     * exclusively is alone, and only then may an invalid file be rebuilt: a table in use is
     * never truncated under a running worker (say, one of another build during an upgrade).
     * Several processes starting at once: one gets LOCK_EX and initialises, the others wait in
     * LOCK_SH until it downgrades. */
    GwRateLimiter *rl = g_new0(GwRateLimiter, 1);
    rl->now_ns = default_now_ns;
    rl->fd = fd;
    GwStatus status = GW_OK;
    for (int attempt = 0;; attempt++) {
        gboolean exclusive = flock_retry(fd, LOCK_EX | LOCK_NB) == 0;
        if (!exclusive && (errno != EWOULDBLOCK || flock_retry(fd, LOCK_SH) != 0)) {
            status = gw_fail(err, GW_EIO, "cannot lock %s: %s", path, g_strerror(errno));
            break;
        }
        gboolean busy = FALSE;
        status = map_locked(fd, path, capacity, exclusive, rl, &busy, err);
        if (status != GW_OK || !busy) {
            if (status == GW_OK && exclusive && flock_retry(fd, LOCK_SH) != 0)
                status = gw_fail(err, GW_EIO, "cannot lock %s: %s", path, g_strerror(errno));
            break;
        }
        /* Invalid yet open elsewhere: an initialiser that crashed while others waited (they
         * are about to let go), or another build's workers (they are not). */
        flock(fd, LOCK_UN);
        if (attempt == RL_OPEN_ATTEMPTS) {
            status = gw_fail(err, GW_EINVAL, "%s is in use by an incompatible gateway build",
                             path);
            break;
        }
        g_usleep(10000);
    }
    if (status != GW_OK) {
        gw_ratelimit_close(rl);
        return status;
    }
    rl->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (rl->sha256 == NULL) {
        gw_ratelimit_close(rl);
        return gw_fail(err, GW_ECRYPTO, "SHA-256 is not available from OpenSSL");
    }
    *out = rl;
    return GW_OK;
}

void gw_ratelimit_close(GwRateLimiter *rl)
{
    if (rl == NULL)
        return;
    if (rl->hdr != NULL)
        munmap(rl->hdr, rl->map_len);
    close(rl->fd); /* releases our shared lock */
    EVP_MD_free(rl->sha256);
    g_free(rl);
}

void gw_ratelimit_set_clock(GwRateLimiter *rl, gint64 (*now_ns)(void))
{
    g_return_if_fail(rl != NULL);
    rl->now_ns = now_ns != NULL ? now_ns : default_now_ns;
}

/* SHA-256 of seed ‖ key: a keyed hash, so nobody can precompute keys (e.g. chosen IPv6 client
 * addresses) that pile into one block and evict another client's bucket. Measured ≈ 100 ns; a
 * cheaper unkeyed hash (g_str_hash) would save that but give the flooding away. The same
 * digest is the stored form of over-long keys. */
static void key_prepare(const GwRateLimiter *rl, const char *key, Key *k)
{
    size_t len = strlen(key);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex2(ctx, rl->sha256, NULL) != 1
        || EVP_DigestUpdate(ctx, rl->hdr->info.seed, RL_SEED_LEN) != 1
        || EVP_DigestUpdate(ctx, key, len) != 1 || EVP_DigestFinal_ex(ctx, k->digest, NULL) != 1)
        g_error("SHA-256 failed"); /* only on allocation failure, which GLib treats as fatal */
    EVP_MD_CTX_free(ctx);

    memcpy(&k->hash, k->digest, sizeof k->hash);
    if (k->hash == 0)
        k->hash = 1; /* 0 marks never-used slots */
    if (len > GW_RATELIMIT_KEY_MAX) {
        k->bytes = k->digest;
        k->len = sizeof k->digest;
        k->flags = SLOT_DIGEST;
    } else {
        k->bytes = key;
        k->len = (guint32)len;
        k->flags = 0;
    }
}

static pthread_mutex_t *stripe_of(const GwRateLimiter *rl, guint64 hash)
{
    guint32 block = (guint32)(hash & rl->mask) / RL_BLOCK;
    return &rl->hdr->stripes[block % RL_STRIPES].m;
}

static gboolean stripe_lock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    if (rc == EOWNERDEAD) {
        /* The dead holder can at worst have left one slot half-written: a key that matches
         * nothing, or a TAT of either value. Both are harmless, so carry on. */
        pthread_mutex_consistent(m);
        return TRUE;
    }
    if (rc != 0) {
        g_warning("rate limiter lock failed (%s): allowing the request", g_strerror(rc));
        return FALSE;
    }
    return TRUE;
}

/* Looks key up in its block. Returns its slot, or NULL with *claim set to the slot to take it
 * into: the first free one (never used, or full again so forgetting it is exact), else the least
 * recently used one. Caller holds the stripe. */
static Slot *slot_find(const GwRateLimiter *rl, const Key *k, gint64 now, Slot **claim)
{
    guint32 home = (guint32)(k->hash & rl->mask);
    guint32 base = home & ~(RL_BLOCK - 1);
    Slot *free_slot = NULL, *lru = NULL;
    for (guint32 i = 0; i < RL_BLOCK; i++) {
        Slot *s = &rl->slots[base | ((home + i) & (RL_BLOCK - 1))];
        if (s->hash == 0) {
            /* Slots are never emptied again, so the key cannot lie past a never-used slot. */
            if (free_slot == NULL)
                free_slot = s;
            break;
        }
        if (s->hash == k->hash && s->key_len == k->len && s->flags == k->flags
            && memcmp(s->key, k->bytes, k->len) == 0)
            return s;
        if (free_slot == NULL && s->tat <= now)
            free_slot = s;
        if (lru == NULL || s->last_used < lru->last_used)
            lru = s;
    }
    *claim = free_slot != NULL ? free_slot : lru;
    return NULL;
}

static void slot_claim(Slot *s, const Key *k)
{
    s->hash = k->hash;
    s->key_len = k->len;
    s->flags = k->flags;
    memset(s->key, 0, sizeof s->key);
    memcpy(s->key, k->bytes, k->len);
}

/* c units at N per W, in ns: c·W/N in 128 bits (c·W overflows 64 for big token counts), rounded
 * down so that N takes of 1 fit exactly in W; capped so TATs stay summable. */
static gint64 interval(gint64 cost, gint64 limit, gint64 window_ns)
{
    __int128 v = (__int128)cost * window_ns / limit;
    return v > RL_AHEAD_MAX ? RL_AHEAD_MAX : (gint64)v;
}

static gint64 ceil_ms(gint64 ns)
{
    return ns <= 0 ? 0 : (ns + RL_NS_PER_MS - 1) / RL_NS_PER_MS;
}

static gboolean args_ok(const GwRateLimiter *rl, const char *key, gint64 limit, gint64 window_ms,
                        gint64 cost)
{
    g_return_val_if_fail(rl != NULL && key != NULL, FALSE);
    g_return_val_if_fail(limit >= 1, FALSE);
    g_return_val_if_fail(window_ms >= 1 && window_ms <= RL_WINDOW_MS_MAX, FALSE);
    g_return_val_if_fail(cost >= 0, FALSE);
    return TRUE;
}

void gw_ratelimit_take(GwRateLimiter *rl, const char *key, gint64 limit, gint64 window_ms,
                       gint64 cost, GwRateDecision *out)
{
    g_return_if_fail(out != NULL);
    memset(out, 0, sizeof *out);
    out->limit = limit;
    out->retry_after_ms = -1;
    if (!args_ok(rl, key, limit, window_ms, cost))
        return;

    gint64 window = window_ms * RL_NS_PER_MS;
    Key k;
    key_prepare(rl, key, &k);
    pthread_mutex_t *m = stripe_of(rl, k.hash);
    if (!stripe_lock(m)) {
        out->allowed = TRUE;
        out->remaining = limit;
        out->retry_after_ms = 0;
        return;
    }
    /* The clock is read under the lock: decisions on one bucket are then ordered by time, so
     * the remaining counts reported to concurrent callers are exact. */
    gint64 now = rl->now_ns();

    Slot *claim = NULL;
    Slot *s = slot_find(rl, &k, now, &claim);
    gint64 start = s != NULL ? MAX(s->tat, now) : now;
    /* cost 0 asks "is a whole unit left?": judged like a take of 1 without charging it, so a
     * token bucket spent to exactly zero refuses the next request. */
    gint64 step = interval(cost > 0 ? cost : 1, limit, window);
    gint64 after = start - now + step; /* TAT − now if this take were charged */
    out->allowed = after <= window;

    gint64 tat = start;
    if (out->allowed && cost > 0) {
        if (s == NULL) {
            s = claim;
            slot_claim(s, &k);
        }
        tat = start + step;
        s->tat = tat;
    }
    if (s != NULL)
        s->last_used = now; /* refused and checked buckets are busy ones too: keep them */
    pthread_mutex_unlock(m);

    gint64 ahead = tat - now;
    out->remaining = ahead >= window
        ? 0 : (gint64)MIN((__int128)(window - ahead) * limit / window, (__int128)limit);
    out->reset_ms = ceil_ms(ahead);
    if (out->allowed)
        out->retry_after_ms = 0;
    else if (step <= window)
        out->retry_after_ms = ceil_ms(after - window);
    /* else a take this big never fits the window: stays -1 */
}

void gw_ratelimit_charge(GwRateLimiter *rl, const char *key, gint64 limit, gint64 window_ms,
                         gint64 cost)
{
    if (!args_ok(rl, key, limit, window_ms, cost) || cost == 0)
        return;
    gint64 window = window_ms * RL_NS_PER_MS;
    Key k;
    key_prepare(rl, key, &k);
    pthread_mutex_t *m = stripe_of(rl, k.hash);
    if (!stripe_lock(m))
        return;
    gint64 now = rl->now_ns();
    Slot *claim = NULL;
    Slot *s = slot_find(rl, &k, now, &claim);
    gint64 start = s != NULL ? MAX(s->tat, now) : now;
    if (s == NULL) {
        s = claim;
        slot_claim(s, &k);
    }
    /* Overdraw allowed, but bounded so that later sums cannot overflow (both terms are at most
     * RL_AHEAD_MAX, a quarter of the range). */
    s->tat = now + MIN(start - now + interval(cost, limit, window), RL_AHEAD_MAX);
    s->last_used = now;
    pthread_mutex_unlock(m);
}

void gw_ratelimit__lock_stripe_for_test(GwRateLimiter *rl, const char *key)
{
    Key k;
    key_prepare(rl, key, &k);
    stripe_lock(stripe_of(rl, k.hash));
}
