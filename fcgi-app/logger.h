/* logger.h — the per-process log writer: request threads hand finished GwLogRows to one writer
 * thread that commits them in batches (one transaction per batch), so logging never blocks or
 * fails a request, and every queued row is written before the process exits normally. */
#ifndef GW_LOGGER_H
#define GW_LOGGER_H

#include "store.h"

typedef struct GwLogger GwLogger;

/* Opens its own database connection at db_path and starts the writer thread. spill_path is a
 * JSON-lines file that receives rows the database refused at shutdown (never dropped silently). */
GwStatus gw_logger_start(const char *db_path, const char *spill_path, GwLogger **out, GError **err);

/* Queues row; the logger takes ownership. Thread-safe, never blocks on the database. */
void gw_logger_submit(GwLogger *lg, GwLogRow *row);

/* FALSE while the database refuses the writer's commits (locked past busy_timeout, disk full):
 * new requests should then be refused with 503 rather than served unrecorded. Thread-safe. */
gboolean gw_logger_accepting(GwLogger *lg);

/* Writes everything queued, stops the thread, frees lg. */
void gw_logger_stop(GwLogger *lg);

#endif
