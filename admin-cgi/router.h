/* router.h — the admin program's route table and request dispatch: every page and API route is
 * one AdmRoute (method, path pattern, handler, least role); adm_handle parses the request,
 * authenticates it, enforces the role and CSRF, and runs the handler. Modules export their
 * routes as a NULL-terminated AdmRoute array listed in router.c's route_tables. */
#ifndef ADM_ROUTER_H
#define ADM_ROUTER_H

#include <stdio.h>
#include "ctx.h"

typedef void (*AdmHandler)(AdmCtx *c);

typedef struct {
    const char *method;    /* "GET", "POST", "PUT", "DELETE"; GET routes also answer HEAD */
    const char *pattern;   /* below the base: "/keys", "/api/provider-keys/{name}/rotate";
                              {x} matches one non-empty path segment (decoded into c->params) */
    AdmHandler handler;
    AdmRole min_role;      /* ADM_ROLE_NONE: public (the login page) */
} AdmRoute;

/* Route tables (NULL-terminated), one per module; router.c lists them. */
extern const AdmRoute adm_routes_login[];    /* page_login.c: /login, /logout, / */
extern const AdmRoute adm_routes_keys[];     /* page_keys.c */
extern const AdmRoute adm_routes_vks[];      /* page_vks.c */
extern const AdmRoute adm_routes_api[];      /* api_keys.c: /api/provider-keys, /api/me */
extern const AdmRoute adm_routes_api_vks[];  /* api_vks.c: virtual keys, agents, departments,
                                                budgets, policies, rate limits */
extern const AdmRoute adm_routes_pending[];  /* page_pending.c: pages not built yet */
extern const AdmRoute adm_routes_logs[];      /* page_logs.c: /logs, /logs/{id} */
extern const AdmRoute adm_routes_sessions[];  /* page_sessions.c */
extern const AdmRoute adm_routes_analytics[]; /* page_analytics.c (and its CSV downloads) */
extern const AdmRoute adm_routes_api_logs[];  /* api_logs.c: logs, sessions, analytics */

/* Largest request body the admin reads (forms and JSON). */
#define ADM_MAX_BODY (1024 * 1024)

/* Serves one request of the transport io/io_ctx with this thread's store. */
void adm_handle(AdmApp *app, GwStore *store, const GwRequestIO *io, void *io_ctx);
/* Prints "METHOD PATTERN ROLE" per route (alephant-admin --routes; tests enumerate it). */
void adm_routes_print(FILE *f);

#endif
