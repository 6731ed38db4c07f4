/* cache_vec.c — vector arithmetic for the semantic cache.
 *
 * The search is brute force: at 100,000 entries of one scope a linear scan over contiguous
 * memory is a few milliseconds, and it needs no index to keep consistent. The dot product keeps
 * eight independent partial sums so the compiler can keep them in vector registers without
 * reassociating floating-point additions (which it may not do without -ffast-math). */
#include "config.h"
#include "cache_vec.h"

#include <math.h>

gboolean gw_vec_normalize(float *v, gsize n)
{
    double sum = 0;
    for (gsize i = 0; i < n; i++)
        sum += (double)v[i] * (double)v[i];
    if (!(sum > 0) || !isfinite(sum))
        return FALSE;
    double inv = 1.0 / sqrt(sum);
    for (gsize i = 0; i < n; i++)
        v[i] = (float)((double)v[i] * inv);
    return TRUE;
}

float gw_vec_dot(const float *restrict a, const float *restrict b, gsize n)
{
    float s[8] = { 0 };
    gsize i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += a[i + k] * b[i + k];
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++)
        t += a[i] * b[i];
    return t;
}

gssize gw_vec_search(const float *restrict mat, gsize count, gsize dims, const float *restrict q,
                     float *best)
{
    gssize at = -1;
    float top = -2.0f;
    for (gsize r = 0; r < count; r++) {
        float d = gw_vec_dot(mat + r * dims, q, dims);
        if (d > top) {
            top = d;
            at = (gssize)r;
        }
    }
    *best = top;
    return at;
}

GwStatus gw_vec_from_json(json_t *arr, float **out, gsize *n, GError **err)
{
    gsize len = json_array_size(arr);
    if (!json_is_array(arr) || len == 0 || len > GW_VEC_MAX_DIMS)
        return gw_fail(err, GW_EINVAL, "embedding is not an array of 1 to %d numbers",
                       GW_VEC_MAX_DIMS);
    float *v = g_new(float, len);
    for (gsize i = 0; i < len; i++) {
        json_t *x = json_array_get(arr, i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !isfinite(d) || fabs(d) > 1e30) {
            g_free(v);
            return gw_fail(err, GW_EINVAL, "embedding element %" G_GSIZE_FORMAT " is not a finite "
                           "number", i);
        }
        v[i] = (float)d;
    }
    if (!gw_vec_normalize(v, len)) {
        g_free(v);
        return gw_fail(err, GW_EINVAL, "embedding has no length (all zeros)");
    }
    *out = v;
    *n = len;
    return GW_OK;
}
