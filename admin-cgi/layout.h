/* layout.h — the page shell every admin page shares: head (CSS, the one external script), the
 * header with the navigation (only the pages the user's role may open) and the logout form, and
 * small building blocks (notices, the CSRF field, times, money). */
#ifndef ADM_LAYOUT_H
#define ADM_LAYOUT_H

#include <glib.h>
#include "ctx.h"

/* One navigation entry; the table is in layout.c (add a line for a new page). */
typedef struct {
    const char *path;     /* below base, e.g. "/logs" */
    const char *label;
    AdmRole min_role;
} AdmNavItem;
extern const AdmNavItem adm_nav[];

/* Opens the page: <!doctype>, head with title, body, header with nav (active_path highlighted;
 * NULL = none), and <main>. */
void adm_page_begin(AdmCtx *c, GString *out, const char *title, const char *active_path);
/* Closes <main>, body and html. */
void adm_page_end(AdmCtx *c, GString *out);
/* <input type=hidden name=csrf value=…> for the session (nothing for token requests). */
void adm_csrf_field(AdmCtx *c, GString *out);
/* <p class="notice KIND" role=status>text</p>; kind: "ok" | "error" | "info". */
void adm_notice(GString *out, const char *kind, const char *text);
/* Unix ms → "2026-01-02 03:04 UTC", "never" for 0 or less. Caller frees. */
char *adm_fmt_time(gint64 ms);
/* Nano-dollars → "$1.234567" (trailing zeros beyond cents dropped), "—" for < 0. Caller frees. */
char *adm_fmt_usd(gint64 nanos);

#endif
