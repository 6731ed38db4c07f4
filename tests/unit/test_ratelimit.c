/* test_ratelimit.c — GCRA arithmetic with an injected clock, token overdraw, eviction, the shared
 * file (modes, reopen, reset), and exactness across threads and processes incl. a killed holder. */
#include "config.h"
#include "ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define SEC G_GINT64_CONSTANT(1000000000)
#define MINUTE_MS 60000
#define HOUR_MS 3600000

static char *tmp_dir;
static gint64 fake_now;

static gint64 fake_clock(void)
{
    return fake_now;
}

/* A fresh file path in the test directory (any old file removed); caller frees. */
static char *fresh_path(const char *name)
{
    char *path = g_build_filename(tmp_dir, name, NULL);
    g_unlink(path);
    return path;
}

static GwRateLimiter *open_ok(const char *path, guint32 capacity)
{
    GwRateLimiter *rl = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_ratelimit_open(path, capacity, &rl, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_nonnull(rl);
    return rl;
}

/* A limiter on a fresh file with the fake clock at an arbitrary non-zero start. */
static GwRateLimiter *open_fake(const char *name, guint32 capacity)
{
    char *path = fresh_path(name);
    GwRateLimiter *rl = open_ok(path, capacity);
    g_free(path);
    fake_now = 1000 * SEC;
    gw_ratelimit_set_clock(rl, fake_clock);
    return rl;
}

static GwRateDecision take(GwRateLimiter *rl, const char *key, gint64 limit, gint64 window_ms,
                           gint64 cost)
{
    GwRateDecision d;
    gw_ratelimit_take(rl, key, limit, window_ms, cost, &d);
    g_assert_cmpint(d.limit, ==, limit);
    return d;
}

static void test_gcra_exact(void)
{
    GwRateLimiter *rl = open_fake("gcra", 0);
    /* 10 per minute: T = 6 s. */
    for (int i = 1; i <= 10; i++) {
        GwRateDecision d = take(rl, "vk:1|req|rule:1", 10, MINUTE_MS, 1);
        g_assert_true(d.allowed);
        g_assert_cmpint(d.remaining, ==, 10 - i);
        g_assert_cmpint(d.reset_ms, ==, 6000 * i);
        g_assert_cmpint(d.retry_after_ms, ==, 0);
    }
    GwRateDecision d = take(rl, "vk:1|req|rule:1", 10, MINUTE_MS, 1);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.remaining, ==, 0);
    g_assert_cmpint(d.reset_ms, ==, 60000);
    g_assert_cmpint(d.retry_after_ms, ==, 6000);

    /* One nanosecond early: still refused, and told to wait the (rounded up) rest. */
    fake_now += 6 * SEC - 1;
    d = take(rl, "vk:1|req|rule:1", 10, MINUTE_MS, 1);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.retry_after_ms, ==, 1);
    g_assert_cmpint(d.reset_ms, ==, 54001); /* 54 s + 1 ns, rounded up */

    fake_now += 1;
    d = take(rl, "vk:1|req|rule:1", 10, MINUTE_MS, 1);
    g_assert_true(d.allowed);
    g_assert_cmpint(d.remaining, ==, 0);
    g_assert_cmpint(d.reset_ms, ==, 60000);
    d = take(rl, "vk:1|req|rule:1", 10, MINUTE_MS, 1);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.retry_after_ms, ==, 6000);

    /* Half-way through draining: 5 units back, spread evenly rather than all at a boundary. */
    fake_now += 30 * SEC;
    d = take(rl, "vk:1|req|rule:1", 10, MINUTE_MS, 0);
    g_assert_true(d.allowed);
    g_assert_cmpint(d.remaining, ==, 5);
    g_assert_cmpint(d.reset_ms, ==, 30000);
    gw_ratelimit_close(rl);
}

static void test_cost_zero(void)
{
    GwRateLimiter *rl = open_fake("cost0", 0);
    /* Checks charge nothing, however many. */
    for (int i = 0; i < 100; i++) {
        GwRateDecision d = take(rl, "tok", 3, MINUTE_MS, 0);
        g_assert_true(d.allowed);
        g_assert_cmpint(d.remaining, ==, 3);
        g_assert_cmpint(d.reset_ms, ==, 0);
    }
    g_assert_true(take(rl, "tok", 3, MINUTE_MS, 2).allowed);
    GwRateDecision d = take(rl, "tok", 3, MINUTE_MS, 0);
    g_assert_true(d.allowed);
    g_assert_cmpint(d.remaining, ==, 1);
    g_assert_true(take(rl, "tok", 3, MINUTE_MS, 1).allowed);
    /* Spent to exactly zero: "exhausted", so the check refuses, and says when one unit is back. */
    d = take(rl, "tok", 3, MINUTE_MS, 0);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.remaining, ==, 0);
    g_assert_cmpint(d.retry_after_ms, ==, 20000);
    g_assert_cmpint(d.reset_ms, ==, 60000);
    fake_now += 20 * SEC;
    d = take(rl, "tok", 3, MINUTE_MS, 0);
    g_assert_true(d.allowed);
    g_assert_cmpint(d.remaining, ==, 1);
    gw_ratelimit_close(rl);
}

static void test_token_overdraw(void)
{
    GwRateLimiter *rl = open_fake("overdraw", 0);
    const char *key = "vk:7|tok|rule:2";
    /* 1000 tokens per minute: T = 60 ms. A response of 2500 tokens overdraws by 1500. */
    g_assert_true(take(rl, key, 1000, MINUTE_MS, 0).allowed);
    gw_ratelimit_charge(rl, key, 1000, MINUTE_MS, 2500);
    GwRateDecision d = take(rl, key, 1000, MINUTE_MS, 0);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.remaining, ==, 0);
    g_assert_cmpint(d.reset_ms, ==, 150000);
    g_assert_cmpint(d.retry_after_ms, ==, 90060); /* 150 s − 60 s + one unit (60 ms) */

    /* 90 s later the debt is down to a full window: still nothing left. */
    fake_now += 90 * SEC;
    g_assert_false(take(rl, key, 1000, MINUTE_MS, 0).allowed);
    fake_now += 60 * 1000000;
    d = take(rl, key, 1000, MINUTE_MS, 0);
    g_assert_true(d.allowed);
    g_assert_cmpint(d.remaining, ==, 1);
    /* Fully recovered after the whole 150 s. */
    fake_now += 60 * SEC;
    d = take(rl, key, 1000, MINUTE_MS, 0);
    g_assert_cmpint(d.remaining, ==, 1000);
    g_assert_cmpint(d.reset_ms, ==, 0);

    /* Absurd charges saturate instead of overflowing; the bucket just stays refused. */
    gw_ratelimit_charge(rl, key, 1, 1, G_MAXINT64);
    gw_ratelimit_charge(rl, key, 1, 1, G_MAXINT64);
    d = take(rl, key, 1, 1, 0);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.retry_after_ms, >, 0);
    gw_ratelimit_close(rl);
}

static void test_window_boundaries(void)
{
    GwRateLimiter *rl = open_fake("window", 0);
    for (int i = 0; i < 10; i++)
        g_assert_true(take(rl, "w", 10, MINUTE_MS, 1).allowed);
    /* Exactly one window later the bucket is full again: a whole new burst. */
    fake_now += 60 * SEC;
    for (int i = 0; i < 10; i++)
        g_assert_true(take(rl, "w", 10, MINUTE_MS, 1).allowed);
    g_assert_false(take(rl, "w", 10, MINUTE_MS, 1).allowed);

    /* A cost equal to the limit fits only a full bucket; a larger one never fits. */
    g_assert_true(take(rl, "big", 10, MINUTE_MS, 10).allowed);
    GwRateDecision d = take(rl, "big", 10, MINUTE_MS, 11);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.retry_after_ms, ==, -1);
    d = take(rl, "big", 10, MINUTE_MS, 3);
    g_assert_false(d.allowed);
    g_assert_cmpint(d.retry_after_ms, ==, 18000);

    /* A window that does not divide evenly: 7 per minute still allows exactly 7 at once. */
    for (int i = 0; i < 7; i++)
        g_assert_true(take(rl, "seven", 7, MINUTE_MS, 1).allowed);
    g_assert_false(take(rl, "seven", 7, MINUTE_MS, 1).allowed);

    /* 1 ms windows and huge limits keep working (no overflow, no division to zero). */
    g_assert_true(take(rl, "tiny", 1, 1, 1).allowed);
    g_assert_false(take(rl, "tiny", 1, 1, 1).allowed);
    fake_now += 1000000;
    g_assert_true(take(rl, "tiny", 1, 1, 1).allowed);
    d = take(rl, "huge", G_MAXINT64, MINUTE_MS, G_MAXINT64 / 2);
    g_assert_true(d.allowed);
    g_assert_cmpint(d.remaining, >=, G_MAXINT64 / 2 - 1);
    gw_ratelimit_close(rl);
}

static void test_invalid_args(void)
{
    if (g_test_subprocess()) {
        GwRateLimiter *rl = open_fake("invalid", 0);
        GwRateDecision d;
        gw_ratelimit_take(rl, "k", 0, MINUTE_MS, 1, &d);
        g_assert_false(d.allowed);
        gw_ratelimit_close(rl);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*CRITICAL*limit >= 1*");
}

static void test_keys_independent(void)
{
    GwRateLimiter *rl = open_fake("keys", 0);
    g_assert_true(take(rl, "vk:12|req|rule:3", 1, HOUR_MS, 1).allowed);
    g_assert_false(take(rl, "vk:12|req|rule:3", 1, HOUR_MS, 1).allowed);
    const char *others[] = { "vk:12|req|rule:", "vk:12|req|rule:30", "vk:1|req|rule:3",
                             "vk:12|ip:203.0.113.7|rule:3", "", "vk:12|req|rule:3 ",
                             "clé:ü|règle:3" };
    for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
        g_assert_true(take(rl, others[i], 1, HOUR_MS, 1).allowed);
        g_assert_false(take(rl, others[i], 1, HOUR_MS, 1).allowed);
    }
    gw_ratelimit_close(rl);
}

static void test_long_keys(void)
{
    GwRateLimiter *rl = open_fake("long", 0);
    char a[GW_RATELIMIT_KEY_MAX + 2], b[GW_RATELIMIT_KEY_MAX + 2];
    /* Exactly the maximum is stored as is; one more byte is stored as a digest. */
    for (size_t len = GW_RATELIMIT_KEY_MAX; len <= GW_RATELIMIT_KEY_MAX + 1; len++) {
        memset(a, 'k', len);
        a[len] = '\0';
        memcpy(b, a, len + 1);
        b[len - 1] = 'j'; /* differs only in the last byte */
        g_assert_true(take(rl, a, 2, HOUR_MS, 1).allowed);
        g_assert_true(take(rl, a, 2, HOUR_MS, 1).allowed);
        g_assert_false(take(rl, a, 2, HOUR_MS, 1).allowed);
        g_assert_cmpint(take(rl, b, 2, HOUR_MS, 0).remaining, ==, 2);
    }
    GString *huge = g_string_new(NULL);
    for (int i = 0; i < 5000; i++)
        g_string_append_printf(huge, "%d|", i);
    g_assert_true(take(rl, huge->str, 1, HOUR_MS, 1).allowed);
    g_assert_false(take(rl, huge->str, 1, HOUR_MS, 1).allowed);
    huge->str[0] = '9';
    g_assert_true(take(rl, huge->str, 1, HOUR_MS, 1).allowed);
    g_string_free(huge, TRUE);
    gw_ratelimit_close(rl);
}

static void test_eviction(void)
{
    /* The smallest table is one block of 64 slots: every key competes for it. */
    GwRateLimiter *rl = open_fake("evict", 64);
    char key[32];

    /* Far more keys than slots, each charged twice of 3: the third take must never be refused,
     * whether the key was remembered or forgotten. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 1000; i++) {
            g_snprintf(key, sizeof key, "k%d", i);
            g_assert_true(take(rl, key, 3, HOUR_MS, 1).allowed);
        }
    }
    int remembered = 0;
    for (int i = 0; i < 1000; i++) {
        g_snprintf(key, sizeof key, "k%d", i);
        GwRateDecision d = take(rl, key, 3, HOUR_MS, 1);
        g_assert_true(d.allowed);
        g_assert_cmpint(d.remaining, <=, 2);
        remembered += d.remaining == 0;
    }
    g_assert_cmpint(remembered, <=, 64);

    /* LRU: a bucket in use (refused takes count as use) survives a flood of new keys. */
    fake_now += 2 * HOUR_MS * G_GINT64_CONSTANT(1000000);
    g_assert_true(take(rl, "hot", 1, HOUR_MS, 1).allowed);
    for (int i = 0; i < 500; i++) {
        fake_now += 1000;
        g_assert_false(take(rl, "hot", 1, HOUR_MS, 1).allowed);
        g_snprintf(key, sizeof key, "flood%d", i);
        g_assert_true(take(rl, key, 5, HOUR_MS, 1).allowed);
    }

    /* Buckets that are full again are reused before any busy one is evicted, even when the busy
     * one is the least recently used. */
    fake_now += 2 * HOUR_MS * G_GINT64_CONSTANT(1000000);
    g_assert_true(take(rl, "busy", 1, HOUR_MS, 1).allowed);
    fake_now += SEC;
    for (int i = 0; i < 63; i++) {
        g_snprintf(key, sizeof key, "short%d", i);
        g_assert_true(take(rl, key, 1000, 1000, 1).allowed);
    }
    fake_now += 2 * SEC;
    for (int i = 0; i < 200; i++) {
        g_snprintf(key, sizeof key, "new%d", i);
        g_assert_true(take(rl, key, 1000, 1000, 1).allowed);
        fake_now += 2 * SEC; /* each new key is full again before the next arrives */
    }
    g_assert_false(take(rl, "busy", 1, HOUR_MS, 1).allowed);
    gw_ratelimit_close(rl);
}

static void test_file(void)
{
    char *path = fresh_path("file");
    mode_t old_mask = umask(0); /* the 0600 must come from us, not from the umask */
    GwRateLimiter *rl = open_ok(path, 128);
    umask(old_mask);
    GStatBuf st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0600);

    for (int i = 0; i < 3; i++)
        g_assert_true(take(rl, "persist", 10, HOUR_MS, 1).allowed);
    /* A second handle on the same file sees, and shares, the same buckets. */
    GwRateLimiter *rl2 = open_ok(path, 0);
    g_assert_cmpint(take(rl2, "persist", 10, HOUR_MS, 1).remaining, ==, 6);
    g_assert_cmpint(take(rl, "persist", 10, HOUR_MS, 0).remaining, ==, 6);
    gw_ratelimit_close(rl2);
    gw_ratelimit_close(rl);

    /* Reopened (with another capacity, which an existing file overrides): same state. */
    rl = open_ok(path, 4096);
    g_assert_cmpint(take(rl, "persist", 10, HOUR_MS, 0).remaining, ==, 6);
    gw_ratelimit_close(rl);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    gsize size_128 = (gsize)st.st_size;

    /* A header left half-initialised (initialised flag, after magic and version, cleared) is
     * rebuilt from scratch — but never while someone else still has the file open. */
    rl = open_ok(path, 0);
    int fd = open(path, O_WRONLY);
    g_assert_cmpint(fd, >=, 0);
    guint32 zero = 0;
    g_assert_cmpint(pwrite(fd, &zero, sizeof zero, 12), ==, sizeof zero);
    close(fd);
    GwRateLimiter *rl3 = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_ratelimit_open(path, 0, &rl3, &err), ==, GW_EINVAL);
    g_assert_error(err, GW_ERROR, GW_EINVAL);
    g_clear_error(&err);
    g_assert_true(take(rl, "persist", 10, HOUR_MS, 1).allowed); /* the user is unharmed */
    gw_ratelimit_close(rl);
    rl = open_ok(path, 4096);
    g_assert_cmpint(take(rl, "persist", 10, HOUR_MS, 0).remaining, ==, 10);
    gw_ratelimit_close(rl);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpuint((gsize)st.st_size, >, size_128);
    g_free(path);
}

static void expect_open_fails(const char *path, guint32 capacity, GwStatus expect)
{
    GwRateLimiter *rl = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_ratelimit_open(path, capacity, &rl, &err), ==, expect);
    g_assert_error(err, GW_ERROR, (int)expect);
    g_assert_null(rl);
    g_error_free(err);
}

static void test_open_refuses(void)
{
    char *path = fresh_path("refuse");
    expect_open_fails(path, 100, GW_EINVAL);
    expect_open_fails(path, 32, GW_EINVAL);

    g_assert_true(g_file_set_contents(path, "not ours, keep me", -1, NULL));
    g_assert_cmpint(g_chmod(path, 0600), ==, 0);
    expect_open_fails(path, 0, GW_EINVAL);
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "not ours, keep me");
    g_free(text);

    g_unlink(path);
    GwRateLimiter *rl = open_ok(path, 64);
    gw_ratelimit_close(rl);
    g_assert_cmpint(g_chmod(path, 0644), ==, 0);
    expect_open_fails(path, 64, GW_EINVAL);

    char *link = fresh_path("refuse-link");
    g_assert_cmpint(symlink(path, link), ==, 0);
    expect_open_fails(link, 64, GW_EINVAL);
    g_unlink(link);
    g_free(link);

    char *dir = g_build_filename(tmp_dir, "no-such-dir", "x", NULL);
    expect_open_fails(dir, 64, GW_EIO);
    g_free(dir);
    g_free(path);
}

static gpointer thread_takes(gpointer data)
{
    GwRateLimiter *rl = data;
    gsize allowed = 0;
    for (int i = 0; i < 1000; i++) {
        GwRateDecision d;
        gw_ratelimit_take(rl, "shared|threads", 5000, HOUR_MS, 1, &d);
        allowed += d.allowed;
    }
    return GSIZE_TO_POINTER(allowed);
}

static void test_threads(void)
{
    char *path = fresh_path("threads");
    GwRateLimiter *rl = open_ok(path, 0);
    GThread *threads[8];
    for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
        threads[i] = g_thread_new("take", thread_takes, rl);
    gsize total = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
        total += GPOINTER_TO_SIZE(g_thread_join(threads[i]));
    g_assert_cmpuint(total, ==, 5000);
    gw_ratelimit_close(rl);
    g_free(path);
}

static void test_processes(void)
{
    char *path = fresh_path("procs");
    int go[2];
    g_assert_cmpint(pipe(go), ==, 0);
    pid_t pids[4];
    for (size_t i = 0; i < G_N_ELEMENTS(pids); i++) {
        pids[i] = fork();
        g_assert_cmpint(pids[i], >=, 0);
        if (pids[i] == 0) {
            close(go[1]);
            /* All children create the file at once: initialisation must happen exactly once. */
            GwRateLimiter *rl = NULL;
            if (gw_ratelimit_open(path, 0, &rl, NULL) != GW_OK)
                _exit(255);
            char c;
            while (read(go[0], &c, 1) < 0 && errno == EINTR)
                ;
            int allowed = 0;
            for (int j = 0; j < 50; j++) {
                GwRateDecision d;
                gw_ratelimit_take(rl, "shared|procs", 100, HOUR_MS, 1, &d);
                allowed += d.allowed;
            }
            gw_ratelimit_close(rl);
            _exit(allowed);
        }
    }
    close(go[0]);
    close(go[1]); /* EOF releases every child at once */
    int total = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(pids); i++) {
        int status;
        g_assert_cmpint(waitpid(pids[i], &status, 0), ==, pids[i]);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), <=, 50);
        total += WEXITSTATUS(status);
    }
    g_assert_cmpint(total, ==, 100);
    GwRateLimiter *rl = open_ok(path, 0);
    g_assert_false(take(rl, "shared|procs", 100, HOUR_MS, 0).allowed);
    gw_ratelimit_close(rl);
    g_free(path);
}

static void test_killed_holder(void)
{
    char *path = fresh_path("robust");
    GwRateLimiter *rl = open_ok(path, 0);
    int ready[2];
    g_assert_cmpint(pipe(ready), ==, 0);
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        GwRateLimiter *child = NULL;
        if (gw_ratelimit_open(path, 0, &child, NULL) != GW_OK)
            _exit(1);
        gw_ratelimit__lock_stripe_for_test(child, "victim");
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
    close(ready[0]);
    g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
    int status;
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFSIGNALED(status));

    /* The stripe is recovered, not wedged: this and every later take go through. */
    for (int i = 0; i < 3; i++)
        g_assert_true(take(rl, "victim", 3, HOUR_MS, 1).allowed);
    g_assert_false(take(rl, "victim", 3, HOUR_MS, 1).allowed);
    gw_ratelimit_close(rl);
    g_free(path);
}

static void test_speed(void)
{
    char *path = fresh_path("speed");
    GwRateLimiter *rl = open_ok(path, 0);
    char keys[64][48];
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        g_snprintf(keys[i], sizeof keys[i], "vk:%zu|ip:203.0.113.%zu|rule:3", i, i);
    const int n = 200000;
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < n; i++) {
        GwRateDecision d;
        gw_ratelimit_take(rl, keys[i % 64], 1000000000, HOUR_MS, 1, &d);
    }
    gint64 t1 = g_get_monotonic_time();
    g_test_message("gw_ratelimit_take: %.0f ns per call", (double)(t1 - t0) * 1000.0 / n);
    gw_ratelimit_close(rl);
    g_free(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp("test_ratelimit-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    g_test_add_func("/ratelimit/gcra-exact", test_gcra_exact);
    g_test_add_func("/ratelimit/cost-zero", test_cost_zero);
    g_test_add_func("/ratelimit/token-overdraw", test_token_overdraw);
    g_test_add_func("/ratelimit/window-boundaries", test_window_boundaries);
    g_test_add_func("/ratelimit/invalid-args", test_invalid_args);
    g_test_add_func("/ratelimit/keys-independent", test_keys_independent);
    g_test_add_func("/ratelimit/long-keys", test_long_keys);
    g_test_add_func("/ratelimit/eviction", test_eviction);
    g_test_add_func("/ratelimit/file", test_file);
    g_test_add_func("/ratelimit/open-refuses", test_open_refuses);
    g_test_add_func("/ratelimit/processes", test_processes);
    g_test_add_func("/ratelimit/killed-holder", test_killed_holder);
    g_test_add_func("/ratelimit/threads", test_threads);
    g_test_add_func("/ratelimit/speed", test_speed);
    int rc = g_test_run();

    GDir *dir = g_dir_open(tmp_dir, 0, NULL);
    for (const char *name; dir != NULL && (name = g_dir_read_name(dir)) != NULL;) {
        char *p = g_build_filename(tmp_dir, name, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (dir != NULL)
        g_dir_close(dir);
    g_rmdir(tmp_dir);
    g_free(tmp_dir);
    return rc;
}
