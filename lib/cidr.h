/* cidr.h — IP addresses as clients and proxies write them (IPv4, IPv6, brackets, ports) and
 * CIDR lists (trusted proxies, allow/deny ranges), with membership tests. */
#ifndef GW_CIDR_H
#define GW_CIDR_H

#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <glib.h>
#include "status.h"

typedef struct {
    int family;        /* AF_INET or AF_INET6 */
    guint8 addr[16];   /* network byte order; AF_INET uses addr[0..3], the rest is zero */
} GwIp;

/* Parses text[0..len) (need not be NUL-terminated) as one address: "1.2.3.4", "2001:db8::1",
 * "[2001:db8::1]", "1.2.3.4:5678", "[::1]:443". A port must be 1-5 decimal digits ≤ 65535 and is
 * discarded. IPv4-mapped IPv6 (::ffff:a.b.c.d) is normalised to AF_INET. Refused: hostnames,
 * zone ids ("fe80::1%eth0"), whitespace or any other leading/trailing bytes, unbracketed IPv6
 * with a port, an empty port. On FALSE *out is zeroed. */
gboolean gw_ip_parse(const char *text, size_t len, GwIp *out);

/* Canonical text (inet_ntop) into out; FALSE (out = "") when ip's family is neither. */
gboolean gw_ip_format(const GwIp *ip, char out[INET6_ADDRSTRLEN]);

/* TRUE when both are the same family and address. */
gboolean gw_ip_equal(const GwIp *a, const GwIp *b);

typedef struct GwCidrList GwCidrList;

/* Parses a list such as "10.0.0.0/8, 2001:db8::/32 127.0.0.1": entries separated by commas
 * and/or whitespace (empty entries are skipped), each a plain address (no brackets or port)
 * with an optional "/prefix" (decimal, ≤ 32 for IPv4, ≤ 128 for IPv6; none = a single host).
 * Host bits below the prefix are ignored (10.1.2.3/8 = 10.0.0.0/8). An IPv4-mapped entry
 * (::ffff:10.0.0.0/104) becomes the IPv4 range (10.0.0.0/8); with a prefix shorter than /96 it is
 * refused as ambiguous. IPv6 ranges never contain IPv4 addresses (::/0 is "all IPv6"; use
 * 0.0.0.0/0 for all IPv4). NULL or blank spec → empty list. A bad entry → GW_EINVAL naming it.
 * On success *out is a new list (gw_cidr_list_free). */
GwStatus gw_cidr_list_parse(const char *spec, GwCidrList **out, GError **err);

/* TRUE when ip lies in any range of l. A NULL list or NULL ip contains nothing. */
gboolean gw_cidr_list_contains(const GwCidrList *l, const GwIp *ip);

/* Number of ranges (0 for NULL). */
guint gw_cidr_list_size(const GwCidrList *l);

void gw_cidr_list_free(GwCidrList *l);

#endif
