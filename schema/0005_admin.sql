-- 0005_admin.sql — the admin program's accounts, browser sessions, API tokens and failed logins
-- (the login rate limit, kept here so every CGI/FastCGI process sees it). Times in Unix ms.

-- An operator account. password_hash is a crypt(3) yescrypt string ("$y$…").
CREATE TABLE admin_users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER
);

-- A logged-in browser. Only the SHA-256 of the cookie value is stored; csrf_token is the
-- session's anti-CSRF token (useless without the cookie, which SameSite=Strict keeps home).
CREATE TABLE admin_sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX admin_sessions_user ON admin_sessions (user_id);

-- Bearer tokens for the JSON admin API ("adm-…"); only the SHA-256 is stored.
CREATE TABLE admin_api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- Failed logins, per user name and per client address, counted over a sliding window.
CREATE TABLE admin_login_failures (
    id   INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'ip')),
    key  TEXT NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX admin_login_failures_key ON admin_login_failures (kind, key, at);
