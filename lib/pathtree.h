/* pathtree.h — turns a session's flat list of paths (/a, /a/b, /c) with per-path counts into the
 * tree the Sessions view draws. Pure. */
#ifndef GW_PATHTREE_H
#define GW_PATHTREE_H

#include <jansson.h>

/* paths: array of objects {"path": "/a/b" or null, "requests": n, "cost_nanos": n or null}
 * (borrowed). Returns a new root node; every node is
 *   {"name": last segment ("/" for the root), "path": full path, "requests": own requests,
 *    "total_requests": own + descendants, "cost_nanos": own + descendants (null when none
 *    known), "children": [nodes sorted by name]}
 * Requests without a path count on the root. Intermediate nodes that no request named have 0
 * own requests. Entries that are not objects are skipped. */
json_t *gw_path_tree(json_t *paths);

#endif
