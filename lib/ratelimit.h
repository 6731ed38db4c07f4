/* ratelimit.h — the machine-wide rate limiter: GCRA buckets kept in a memory-mapped file shared by
 * every worker process and thread, so limits hold across workers with no database write. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <glib.h>
#include "status.h"

/* Algorithm (GCRA, "generic cell rate algorithm"): a limit of N units per window W has emission
 * interval T = W / N and burst tolerance W. A bucket is one number, its TAT (theoretical arrival
 * time). A take of c units is allowed iff max(TAT, now) + c·T − now ≤ W, and then
 * TAT = max(TAT, now) + c·T. A bucket whose TAT ≤ now is full (N units available); one that was
 * never seen is the same thing, which is why forgetting an idle bucket is exact.
 *
 * Two uses per rule:
 *  - requests: gw_ratelimit_take(cost 1) before forwarding; refused requests are not charged.
 *  - tokens: gw_ratelimit_take(cost 0) before forwarding ("is at least one unit left?"), then
 *    gw_ratelimit_charge(actual tokens) after the response. The charge never refuses and may push
 *    TAT beyond now + W (an overdraw: one big response can spend more than the whole window);
 *    later checks are refused until the overdraw has drained, i.e. the average stays at N per W.
 *
 * Storage: a file of fixed size holding a header (striped process-shared robust mutexes) and an
 * open-addressing table of `capacity` slots. When the table is under pressure, the least
 * recently used bucket of the probed block is forgotten: that can only allow a request that would
 * have been refused, never refuse one that should have been allowed.
 *
 * Times are CLOCK_MONOTONIC nanoseconds, shared by all processes of one boot; a file left from a
 * previous boot is detected (kernel boot id) and reset. */

typedef struct GwRateLimiter GwRateLimiter;

#define GW_RATELIMIT_DEFAULT_CAPACITY 65536u
/* Longer keys are stored as their SHA-256 (still exact in practice, but not human-readable). */
#define GW_RATELIMIT_KEY_MAX 120

/* Opens (creating with mode 0600 when missing) the shared state file at path and maps it.
 * capacity (slots; 0 = default) must be a power of two ≥ 64 and only applies when the file is
 * created or found invalid: an existing valid file keeps its own capacity (remove the file while
 * the gateway is stopped to resize). Safe when several processes open the same path at once.
 * An invalid file (other build's layout, previous boot, crashed initialiser) is rebuilt, but only
 * when no other process has it open; if one does, GW_EINVAL after ~0.5 s. A path that is a
 * symlink, not a regular file, accessible by group/others, or some other file is refused
 * (GW_EINVAL); system call failures give GW_EIO. The handle keeps a descriptor (close-on-exec)
 * holding a shared flock. *out is closed with gw_ratelimit_close. */
GwStatus gw_ratelimit_open(const char *path, guint32 capacity, GwRateLimiter **out, GError **err);

/* Unmaps and frees (NULL is fine). The file and the buckets in it stay for other processes. */
void gw_ratelimit_close(GwRateLimiter *rl);

typedef struct {
    gboolean allowed;
    gint64 limit;          /* N */
    gint64 remaining;      /* whole units left after this decision, 0..N */
    gint64 reset_ms;       /* until the bucket is full again (0 when it is full) */
    gint64 retry_after_ms; /* when refused: until a take of this cost would be allowed (rounded
                            * up); -1 when it never would (cost > limit). 0 when allowed. */
} GwRateDecision;

/* Checks and, when allowed and cost > 0, charges `cost` units against bucket `key` (any
 * NUL-terminated bytes) with a limit of `limit` units per `window_ms`. cost 0 only checks whether
 * the bucket is exhausted: allowed iff at least one whole unit is left (as a cost-1 take would be),
 * nothing is charged. A refused take charges nothing. limit ≥ 1, 1 ≤ window_ms ≤ 10 years and
 * cost ≥ 0, else a programming error (g_critical, out says refused). Thread- and process-safe.
 * Never fails: if the shared state is unusable (a lock made unrecoverable) the request is allowed
 * and a warning logged — a broken limiter must not take the gateway down. */
void gw_ratelimit_take(GwRateLimiter *rl, const char *key, gint64 limit, gint64 window_ms,
                       gint64 cost, GwRateDecision *out);

/* Charges `cost` units after the fact (actual tokens used), never refusing; may overdraw (see
 * above). Same argument rules as gw_ratelimit_take. */
void gw_ratelimit_charge(GwRateLimiter *rl, const char *key, gint64 limit, gint64 window_ms,
                         gint64 cost);

/* For tests and benchmarks: the clock (ns, monotonic) used by this handle; NULL restores the
 * default CLOCK_MONOTONIC. Set it before sharing the handle between threads. */
void gw_ratelimit_set_clock(GwRateLimiter *rl, gint64 (*now_ns)(void));

/* Test only: locks the stripe that guards `key` and returns without unlocking, to simulate a
 * worker killed while holding it. */
void gw_ratelimit__lock_stripe_for_test(GwRateLimiter *rl, const char *key);

#endif
