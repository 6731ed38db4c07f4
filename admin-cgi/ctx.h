/* ctx.h — the admin program's shared types: the process-wide AdmApp (configuration, master key)
 * and AdmCtx, everything one request carries from parsing through authentication to its handler. */
#ifndef ADM_CTX_H
#define ADM_CTX_H

#include <glib.h>
#include <jansson.h>
#include "conf.h"
#include "crypto.h"
#include "ops.h"
#include "request.h"
#include "store.h"

/* Roles in increasing power; a route names the least it needs. */
typedef enum {
    ADM_ROLE_NONE = 0,    /* not logged in (public routes: login, static checks) */
    ADM_ROLE_VIEWER = 1,  /* reads logs and analytics, changes nothing */
    ADM_ROLE_ADMIN = 2,   /* everything */
} AdmRole;

typedef struct {
    GwConf *conf;                         /* borrowed from main */
    guint8 master_key[GW_MASTER_KEY_LEN]; /* for provider-key encryption (GwOps) */
} AdmApp;

#define ADM_MAX_PARAMS 4

typedef struct AdmCtx {
    AdmApp *app;
    GwRequest *req;
    GwStore *store;            /* this thread's connection */
    GwOps ops;                 /* store + master key, for lib/ops*.c */
    const char *method;        /* "GET", "POST", … (borrowed) */
    char *base;                /* URL prefix of the admin, "/admin" */
    char *path;                /* below base: "/", "/keys", "/api/virtual-keys/x" (decoded no) */
    GHashTable *query;         /* query string fields, owned */
    GHashTable *form;          /* urlencoded POST body fields (empty table for none), owned */
    json_t *json;              /* JSON body of an API call, NULL when none, owned */
    GHashTable *cookies;       /* owned */
    gboolean https;            /* served over HTTPS (the HTTPS parameter): Secure cookies */
    const char *client_ip;     /* REMOTE_ADDR */
    char *params[ADM_MAX_PARAMS]; /* {placeholders} of the matched route, decoded, owned */

    /* who is asking (auth.c) */
    AdmRole role;
    char *user;                /* user name, or "token:NAME" for an API token */
    gboolean via_token;        /* Authorization: Bearer adm-…: no CSRF needed */
    char *session_hash;        /* SHA-256 hex of the session cookie, NULL when none */
    char *csrf;                /* the session's CSRF token, NULL without a session */

    /* response */
    GPtrArray *set_cookies;    /* Set-Cookie values (char*), owned */
    gboolean responded;
} AdmCtx;

#endif
