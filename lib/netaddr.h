/* netaddr.h — where the gateway may connect: provider base URL validation (scheme, host, no
 * credentials) and private/loopback/link-local address detection, for both IPv4 and IPv6. */
#ifndef GW_NETADDR_H
#define GW_NETADDR_H

#include <sys/socket.h>
#include <glib.h>
#include "status.h"

/* TRUE for loopback, RFC 1918, CGNAT 100.64/10, link-local (169.254/16, fe80::/10), unique-local
 * fc00::/7, unspecified, multicast, broadcast, documentation ranges, and IPv4-mapped/compatible
 * IPv6 forms of any of these (::ffff:127.0.0.1). */
gboolean gw_addr_is_private(const struct sockaddr *sa);

/* Checks an operator-given base URL: http or https only, a host, no user:password, no fragment
 * or query. Unless allow_private: https only, and a host given as an IP literal (any form libc
 * or curl would accept: dotted, decimal 2130706433, hex, octal, IPv6) must not be private, and
 * "localhost" is refused. (Names resolving to private addresses are refused at connect time.)
 * On success *normalized_out (caller frees) is the URL without a trailing '/'. */
GwStatus gw_base_url_check(const char *url, gboolean allow_private, char **normalized_out,
                           GError **err);

#endif
