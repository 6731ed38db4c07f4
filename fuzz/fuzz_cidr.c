/* fuzz_cidr.c — addresses as clients and proxies write them (x-forwarded-for entries, REMOTE_ADDR)
 * and CIDR lists (trusted proxies, ip_allow/ip_deny policies). The whole input is parsed as one
 * address; its first line as a CIDR list; every later line as an address tested against it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "fuzz.h"

/* A parsed address formats canonically and parses back to itself. */
static void check_ip(const char *text, size_t len, const GwCidrList *list)
{
    GwIp ip;
    if (!gw_ip_parse(text, len, &ip))
        return;
    if (ip.family != AF_INET && ip.family != AF_INET6)
        abort();
    char buf[INET6_ADDRSTRLEN];
    if (!gw_ip_format(&ip, buf))
        abort();
    GwIp back;
    if (!gw_ip_parse(buf, strlen(buf), &back) || !gw_ip_equal(&ip, &back))
        abort();
    (void)gw_cidr_list_contains(list, &ip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size buffer: gw_ip_parse takes text that need not be NUL-terminated. */
    char *buf = calloc(size > 0 ? size : 1, 1);
    if (size > 0)
        memcpy(buf, data, size);
    check_ip(buf, size, NULL);

    const char *nl = memchr(buf, '\n', size);
    size_t first = nl != NULL ? (size_t)(nl - buf) : size;
    char *spec = g_strndup(buf, first);
    GwCidrList *list = NULL;
    GError *err = NULL;
    if (gw_cidr_list_parse(spec, &list, &err) == GW_OK) {
        (void)gw_cidr_list_size(list);
        /* A list always contains its own entries' addresses: check single hosts. */
        GwIp self;
        if (gw_ip_parse(spec, strlen(spec), &self) && strchr(spec, '/') == NULL &&
            !gw_cidr_list_contains(list, &self))
            abort();
        size_t at = nl != NULL ? first + 1 : size;
        while (at < size) {
            const char *e = memchr(buf + at, '\n', size - at);
            size_t n = e != NULL ? (size_t)(e - (buf + at)) : size - at;
            check_ip(buf + at, n, list);
            at += n + 1;
        }
        gw_cidr_list_free(list);
    } else if (err == NULL || list != NULL) {
        abort();
    }
    g_clear_error(&err);
    g_free(spec);
    free(buf);
    return 0;
}
