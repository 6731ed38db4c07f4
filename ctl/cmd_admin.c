/* cmd_admin.c — alephantctl admin add | passwd | list and admin token create | list | revoke:
 * accounts and API tokens of the admin program (lib/ops_admin.c does the work). Passwords are
 * only read from stdin; a token is printed once, alone on stdout. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <jansson.h>

#include "ctl.h"
#include "ops_admin.h"
#include "store_admin.h"

static int check_role_arg(const char *role)
{
    if (role != NULL && !gw_admin_role_is_valid(role))
        return usage_error("--role must be admin or viewer");
    return 0;
}

int cmd_admin_add(int argc, char **argv)
{
    char *user = NULL, *role = NULL;
    gboolean pw_stdin = FALSE;
    GOptionEntry entries[] = {
        {"user", 'u', 0, G_OPTION_ARG_STRING, &user, "User name (1-64 of A-Z a-z 0-9 . _ - @)",
         "NAME"},
        {"password-stdin", 0, 0, G_OPTION_ARG_NONE, &pw_stdin,
         "Read the password from standard input (required)", NULL},
        {"role", 'r', 0, G_OPTION_ARG_STRING, &role,
         "admin (everything, default) or viewer (reads logs and analytics only)", "ROLE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "Add an account of the admin program (password hashed with "
                           "yescrypt).", NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && user == NULL)
        rc = usage_error("--user is required");
    if (rc == 0 && !pw_stdin)
        rc = usage_error("--password-stdin is required: pipe the password on standard input");
    if (rc == 0)
        rc = check_role_arg(role);
    char *pw = NULL;
    GError *err = NULL;
    if (rc == 0 && read_secret(&pw, &err) != GW_OK)
        rc = report(err);
    if (rc == 0) {
        Ctl c;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_admin_user_add(&c.ops, user, pw, role, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: admin account '%s' (%s) added\n", user,
                    role != NULL ? role : "admin");
        ctl_close(&c);
    }
    gw_secret_free(pw);
    g_free(user);
    g_free(role);
    return rc;
}

int cmd_admin_passwd(int argc, char **argv)
{
    char *user = NULL;
    gboolean pw_stdin = FALSE;
    GOptionEntry entries[] = {
        {"user", 'u', 0, G_OPTION_ARG_STRING, &user, "User name", "NAME"},
        {"password-stdin", 0, 0, G_OPTION_ARG_NONE, &pw_stdin,
         "Read the new password from standard input (required)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "Change an admin account's password (its sessions end).", NULL,
                           entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && user == NULL)
        rc = usage_error("--user is required");
    if (rc == 0 && !pw_stdin)
        rc = usage_error("--password-stdin is required: pipe the password on standard input");
    char *pw = NULL;
    GError *err = NULL;
    if (rc == 0 && read_secret(&pw, &err) != GW_OK)
        rc = report(err);
    if (rc == 0) {
        Ctl c;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_admin_user_set_password(&c.ops, user, pw, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: password of '%s' changed\n", user);
        ctl_close(&c);
    }
    gw_secret_free(pw);
    g_free(user);
    return rc;
}

int cmd_admin_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List admin accounts.", &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_store_list_json(gw_store_admin_user_list_json, &rows, &err) != GW_OK)
        return report(err);
    if (as_json)
        return print_json(rows);
    const char *head[] = {"USER", "ROLE", "CREATED", "LAST LOGIN"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, jstr(r, "name"));
        table_add(t, jstr(r, "role"));
        table_take(t, fmt_time(jint_or(r, "created_at", 0)));
        table_take(t, fmt_time(jint_or(r, "last_login_at", 0)));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

int cmd_admin_token_create(int argc, char **argv)
{
    char *name = NULL, *role = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Token name (1-64 of A-Z a-z 0-9 . _ - @)",
         "NAME"},
        {"role", 'r', 0, G_OPTION_ARG_STRING, &role, "admin (default) or viewer", "ROLE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]",
                           "Create an admin API token (Authorization: Bearer adm-…). It is "
                           "printed once on stdout and cannot be shown again.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0)
        rc = check_role_arg(role);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        char *token = NULL;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_admin_token_create(&c.ops, name, role, &token, &err) != GW_OK) {
            rc = report(err);
        } else {
            printf("%s\n", token);
            if (fflush(stdout) != 0) {
                GError *rerr = NULL;
                gw_ops_admin_token_revoke(&c.ops, name, &rerr);
                g_clear_error(&rerr);
                fprintf(stderr, "alephantctl: cannot write the token (token revoked): %s\n",
                        g_strerror(errno));
                rc = EXIT_FAILURE;
            } else if (isatty(STDOUT_FILENO)) {
                fprintf(stderr, "alephantctl: admin API token '%s' created; keep it, it is not "
                                "shown again\n", name);
            }
        }
        gw_secret_free(token);
        ctl_close(&c);
    }
    g_free(name);
    g_free(role);
    return rc;
}

int cmd_admin_token_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List admin API tokens (only a prefix of each is shown).", &as_json,
                          &argc, &argv);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_store_list_json(gw_store_admin_token_list_json, &rows, &err) != GW_OK)
        return report(err);
    if (as_json)
        return print_json(rows);
    const char *head[] = {"NAME", "PREFIX", "ROLE", "CREATED", "LAST USED", "REVOKED"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, jstr(r, "name"));
        table_take(t, g_strconcat(jstr(r, "prefix"), "\u2026", NULL));
        table_add(t, jstr(r, "role"));
        table_take(t, fmt_time(jint_or(r, "created_at", 0)));
        table_take(t, fmt_time(jint_or(r, "last_used_at", 0)));
        table_take(t, fmt_time(jint_or(r, "revoked_at", 0)));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

int cmd_admin_token_revoke(int argc, char **argv)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Token name", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Revoke an admin API token.", NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK || gw_ops_admin_token_revoke(&c.ops, name, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: admin API token '%s' revoked\n", name);
        ctl_close(&c);
    }
    g_free(name);
    return rc;
}
