#!/bin/sh
# check-sql.sh — make check: no SQL is built by string formatting in lib/, fcgi-app/ or ctl/.
# Every statement must be a constant string with ? parameters bound by sqlite3_bind_*, so request
# data can never become SQL. This fails (printing each offending line) on:
#   1. any call of SQLite's own formatters: sqlite3_mprintf, sqlite3_vmprintf, sqlite3_snprintf,
#      sqlite3_vsnprintf, sqlite3_str_appendf, sqlite3_str_vappendf;
#   2. a printf-style call (g_strdup_printf, g_strdup_vprintf, g_string_printf, g_string_vprintf,
#      g_string_append_printf, g_string_append_vprintf, g_snprintf, g_vsnprintf, snprintf,
#      vsnprintf, sprintf, vsprintf, asprintf, vasprintf) whose arguments contain a string literal
#      with an SQL keyword (upper-case SELECT INSERT UPDATE DELETE CREATE DROP ALTER PRAGMA WHERE,
#      and the clause words FROM INTO VALUES SET AND OR LIMIT OFFSET JOIN ORDER/GROUP BY HAVING
#      that a query fragment such as " AND model = '%s'" carries, as a word; or lower-case SQL such as "insert into", "delete from", "select … from") or use
#      a macro whose definition contains such a literal (e.g. a shared column list);
#   3. sqlite3_exec anywhere, except the single allow-listed call below.
# Comments are ignored; identifiers inside string literals are not calls.
#
# Usage: tests/check-sql.sh [SOURCE-ROOT]   (default: $top_srcdir from make check, else the
# directory above this script). With no argument it first proves on a scratch tree that each rule
# above does fail, so the check cannot silently rot into always passing.
set -u

here=$(cd "$(dirname "$0")" && pwd)

# sqlite3_exec allow-list: "file<TAB>exact call line without leading/trailing blanks".
# lib/store.c apply_migration(): migrations are multi-statement SQL files embedded in the binary
# at build time (schema/*.sql via GResource), never built from input; sqlite3_prepare runs only
# one statement, so running a migration script needs sqlite3_exec. Each entry allows one call.
ALLOWED_EXEC='lib/store.c	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &emsg);'

scan() {
    scan_root=$1
    files=$(cd "$scan_root" && find lib fcgi-app ctl -type f \( -name '*.c' -o -name '*.h' \) \
                ! -name 'schema-resources.c' 2>/dev/null | LC_ALL=C sort)
    if [ -z "$files" ]; then
        echo "check-sql: no sources under $scan_root (lib/, fcgi-app/, ctl/)" >&2
        return 2
    fi
    # shellcheck disable=SC2086
    (cd "$scan_root" && LC_ALL=C awk -v allowed="$ALLOWED_EXEC" '
function reset_file() { nl = 0; incomment = 0 }

# Removes comments from line s (state in incomment); sets M to a mask of the same length where
# string and character literal contents are "\001" and their quotes are spaces.
function strip(s,    out, mask, i, c, n, q) {
    out = ""; mask = ""; n = length(s); i = 1
    while (i <= n) {
        c = substr(s, i, 1)
        if (incomment) {
            if (substr(s, i, 2) == "*/") { incomment = 0; out = out "  "; mask = mask "  "; i += 2 }
            else { out = out " "; mask = mask " "; i++ }
            continue
        }
        if (substr(s, i, 2) == "/*") { incomment = 1; out = out "  "; mask = mask "  "; i += 2; continue }
        if (substr(s, i, 2) == "//") break
        if (c == "\"" || c == "\047") {
            q = c; out = out c; mask = mask " "; i++
            while (i <= n) {
                c = substr(s, i, 1)
                if (c == "\\" && i < n) { out = out substr(s, i, 2); mask = mask "\001\001"; i += 2; continue }
                if (c == q) { out = out c; mask = mask " "; i++; break }
                out = out c; mask = mask "\001"; i++
            }
            continue
        }
        out = out c; mask = mask c; i++
    }
    M = mask
    return out
}

# The literal text of code/mask: literal characters kept, everything else a space.
function literals(code, mask,    out, i, n) {
    out = ""; n = length(code)
    for (i = 1; i <= n; i++)
        out = out (substr(mask, i, 1) == "\001" ? substr(code, i, 1) : " ")
    return out
}

function is_sql(text) {
    return text ~ /(^|[^A-Za-z0-9_])(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|WHERE|FROM|INTO|VALUES|SET|AND|OR|LIMIT|OFFSET|JOIN|ORDER[ \t]+BY|GROUP[ \t]+BY|HAVING)([^A-Za-z0-9_]|$)/ ||
           text ~ /(^|[^A-Za-z0-9_])(select[ \t].*[ \t]from|insert[ \t]+(or[ \t]+[a-z]+[ \t]+)?into|delete[ \t]+from|update[ \t]+[a-z_][a-z0-9_]*[ \t]+set|(create|drop)[ \t]+(temp[ \t]+|unique[ \t]+)?(table|index|view|trigger)|alter[ \t]+table|pragma[ \t]+[a-z_]+[ \t]*[=(;]|where[ \t]+[a-z_][a-z0-9_.]*[ \t]*(=|<|>|!=|[ \t]like|[ \t]in[ \t]*\())([^A-Za-z0-9_]|$)/
}

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

function report(file, ln, why, last,    i) {
    if (last < ln) last = ln
    if (last > ln + 4) last = ln + 4
    printf "%s:%d: %s\n", file, ln, why
    for (i = ln; i <= last; i++) printf "    %s\n", trim(raw[i])
    bad++
}

# Pass 1 (files listed twice: first pass collects SQL macros across all files).
pass == 1 {
    if (FNR == 1) reset_file()
    code = strip($0); mask = M
    if (indefine || code ~ /^[ \t]*#[ \t]*define[ \t]+[A-Za-z_]/) {
        if (!indefine) {
            name = code; sub(/^[ \t]*#[ \t]*define[ \t]+/, "", name); sub(/[^A-Za-z0-9_].*$/, "", name)
            body = ""
        }
        body = body " " literals(code, mask)
        indefine = (code ~ /\\[ \t]*$/)
        if (!indefine && is_sql(body)) sqlmacro[name] = 1
    }
    next
}

# Pass 2: the checks.
{
    if (FNR == 1) { if (started) finish(); started = 1; file = FILENAME; reset_file() }
    nl = FNR; raw[nl] = $0; C[nl] = strip($0); K[nl] = M
}
END { if (started) finish(); exit bad > 0 ? 1 : 0 }

function finish(    ln, rest, restm, off, id, p, depth, args, argm, l2, j, ch, cnt, key, lit, t) {
    for (ln = 1; ln <= nl; ln++) {
        rest = K[ln]; off = 0
        while (match(rest, /[A-Za-z_][A-Za-z0-9_]*/)) {
            id = substr(rest, RSTART, RLENGTH)
            p = off + RSTART + RLENGTH          # position after the identifier in line ln
            off += RSTART + RLENGTH - 1
            rest = substr(rest, RSTART + RLENGTH)
            if (id ~ /^sqlite3_(v?mprintf|v?snprintf|str_v?appendf)$/) {
                report(file, ln, id " formats SQL text; use a constant statement with ? parameters")
                continue
            }
            if (id == "sqlite3_exec") {
                key = file "\t" trim(raw[ln])
                cnt = ++execseen[key]
                if (!(key in allow) || cnt > 1)
                    report(file, ln, "sqlite3_exec outside the allow-list in tests/check-sql.sh; use sqlite3_prepare_v2 with bound parameters")
                continue
            }
            if (id !~ /^(g_strdup_v?printf|g_string_v?printf|g_string_append_v?printf|g_v?snprintf|v?snprintf|v?sprintf|v?asprintf)$/)
                continue
            # Collect the argument list: from the "(" after the name to its matching ")".
            args = ""; argm = ""; depth = -1; l2 = ln; j = p
            while (l2 <= nl && l2 < ln + 60) {
                while (j <= length(K[l2])) {
                    ch = substr(K[l2], j, 1)
                    if (depth < 0) {
                        if (ch == "(") depth = 1
                        else if (ch != " " && ch != "\t") { depth = -2; break }
                    } else {
                        if (ch == "(") depth++
                        else if (ch == ")" && --depth == 0) break
                        args = args substr(C[l2], j, 1); argm = argm ch
                    }
                    j++
                }
                if (depth == 0 || depth == -2) break
                args = args " "; argm = argm " "; l2++; j = 1
            }
            if (depth == -2) continue           # a name, not a call (e.g. a function pointer)
            lit = literals(args, argm)
            if (is_sql(lit)) {
                report(file, ln, id " with an SQL keyword in its format: bind parameters instead", l2)
                continue
            }
            t = argm
            while (match(t, /[A-Za-z_][A-Za-z0-9_]*/)) {
                if (substr(t, RSTART, RLENGTH) in sqlmacro) {
                    report(file, ln, id " formats the SQL macro " substr(t, RSTART, RLENGTH) ": bind parameters instead", l2)
                    break
                }
                t = substr(t, RSTART + RLENGTH)
            }
        }
    }
}

BEGIN {
    n = split(allowed, a, "\n")
    for (i = 1; i <= n; i++) if (a[i] != "") allow[a[i]] = 1
    bad = 0
}
' pass=1 $files pass=2 $files)
}

selftest() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-sql.XXXXXX") || return 2
    mkdir -p "$tmp/lib" "$tmp/fcgi-app/providers" "$tmp/ctl"
    printf '%s\n' '#define OK_SQL "SELECT id FROM t WHERE id = ?"' \
        '/* g_strdup_printf("SELECT %s", x); sqlite3_mprintf("%q", y); sqlite3_exec(db, "") */' \
        'static const char *msg(int n) { return g_strdup_printf("cannot delete %d keys; update it", n); }' \
        'static void log_it(void) { g_warning("sqlite3_exec failed: SELECT broke"); }' \
        'static int mig(sqlite3 *db, const char *sql, char *emsg) {' \
        '    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &emsg);' \
        '    return rc; }' >"$tmp/lib/store.c"
    : >"$tmp/fcgi-app/x.c"
    : >"$tmp/ctl/y.c"
    if ! out=$(scan "$tmp"); then
        echo "check-sql: self-test: a clean tree was refused:" >&2
        echo "$out" >&2
        rm -rf "$tmp"
        return 1
    fi
    rc=0
    i=0
    # One violation per case, injected into a copy of the clean tree.
    while IFS='|' read -r where text; do
        i=$((i + 1))
        cp "$tmp/lib/store.c" "$tmp/lib/store.c.orig"
        cp "$tmp/fcgi-app/x.c" "$tmp/fcgi-app/x.c.orig"
        printf '%b\n' "$text" >>"$tmp/$where"   # %b: a case may span lines (\n)
        if scan "$tmp" >/dev/null 2>&1; then
            echo "check-sql: self-test: case $i not caught ($where): $text" >&2
            rc=1
        fi
        mv "$tmp/lib/store.c.orig" "$tmp/lib/store.c"
        mv "$tmp/fcgi-app/x.c.orig" "$tmp/fcgi-app/x.c"
    done <<'EOF'
fcgi-app/x.c|char *q = sqlite3_mprintf("SELECT * FROM logs WHERE id = %Q", id);
fcgi-app/x.c|sqlite3_snprintf(sizeof buf, buf, "%q", v);
fcgi-app/x.c|char *s = sqlite3_vmprintf(fmt, ap);
fcgi-app/x.c|char *q = g_strdup_printf("DELETE FROM keys WHERE name = '%s'", name);
fcgi-app/x.c|g_string_append_printf(q, " AND model = '%s'", m); g_string_append_printf(q, " WHERE x = %d", 1);
fcgi-app/x.c|g_string_printf(q,\n    "UPDATE budgets SET spent = %" G_GINT64_FORMAT, v);
fcgi-app/x.c|g_string_append_printf(q,\n    " AND model = '%s'", m);
fcgi-app/x.c|snprintf(buf, sizeof buf, "PRAGMA user_version = %d", v);
fcgi-app/x.c|char *q = g_strdup_printf("select * from t where id = %d", id);
fcgi-app/x.c|char *q = g_strdup_printf(OK_SQL " LIMIT %d", n);
lib/store.c|static void again(sqlite3 *db) { sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); }
lib/store.c|    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &emsg);
EOF
    rm -rf "$tmp"
    return $rc
}

if [ $# -gt 0 ]; then
    scan "$1"
    exit $?
fi

src_root=${top_srcdir:-$here/..}
selftest || { echo "FAIL: check-sql self-test (the checker itself is broken)" >&2; exit 1; }
if out=$(scan "$src_root"); then
    echo "PASS: no SQL built by string formatting in lib/, fcgi-app/, ctl/"
    exit 0
else
    echo "FAIL: SQL built by string formatting (use constant statements with ? parameters):" >&2
    echo "$out" >&2
    exit 1
fi
