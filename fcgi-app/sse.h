/* sse.h — incremental Server-Sent Events parser (text/event-stream), fed upstream bytes as they
 * arrive; calls back once per complete event. Bounded: an event larger than the cap is an error. */
#ifndef GW_SSE_H
#define GW_SSE_H

#include <stddef.h>
#include <glib.h>
#include "status.h"

/* event: the "event:" field or "" when absent; data: the "data:" lines joined by '\n' (not
 * NUL-terminated beyond data_len, but data[data_len] is '\0'). Comments (":…") are skipped.
 * Both pointers are only valid during the call. */
typedef void (*GwSseEventFn)(const char *event, const char *data, size_t data_len, void *user);

typedef struct GwSseParser GwSseParser;

/* max_event_bytes bounds the buffered bytes of one event (lines + fields). */
GwSseParser *gw_sse_parser_new(size_t max_event_bytes, GwSseEventFn fn, void *user);
void gw_sse_parser_free(GwSseParser *p);

/* Feeds len bytes (any split: mid-line, mid-CRLF). Lines end in LF, CRLF or CR; an empty line
 * dispatches the event. Returns GW_ETOOBIG once an event exceeds the cap (the parser then stays
 * failed and ignores further input). */
GwStatus gw_sse_parser_feed(GwSseParser *p, const char *buf, size_t len);

/* TRUE when bytes of an unfinished event are buffered (e.g. the stream was cut mid-event). */
gboolean gw_sse_parser_has_partial(const GwSseParser *p);

#endif
