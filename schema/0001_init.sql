-- 0001_init.sql — initial schema.
-- Applied by gw_store_migrate() inside its own BEGIN IMMEDIATE … COMMIT and recorded in
-- schema_migrations (which the runner owns), so no transaction statements here.
-- All timestamps are Unix milliseconds (INTEGER).

-- Upstream provider credentials; the secret is AES-256-GCM encrypted (nonce||ciphertext||tag).
CREATE TABLE provider_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    provider    TEXT NOT NULL,                -- kind; validated by the code (ops.c), which knows them
    base_url    TEXT,                         -- NULL = the provider's default
    secret_enc  BLOB NOT NULL,
    secret_hint TEXT,                         -- masked suffix for display only
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER                       -- NULL = never rotated
);

CREATE TABLE departments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    department_id INTEGER REFERENCES departments (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX agents_department ON agents (department_id);

-- Only the SHA-256 of a token is kept; the token itself is shown once at creation.
CREATE TABLE virtual_keys (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    token_hash      TEXT NOT NULL UNIQUE,
    token_prefix    TEXT NOT NULL,
    provider_key_id INTEGER NOT NULL REFERENCES provider_keys (id) ON DELETE RESTRICT,
    allowed_models  TEXT,                     -- comma-separated; NULL = any model
    agent_id        INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    department_id   INTEGER REFERENCES departments (id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    expires_at      INTEGER,                  -- NULL = never
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
-- FK parents are looked up by these on delete; provider key delete also counts by it.
CREATE INDEX virtual_keys_provider_key ON virtual_keys (provider_key_id);
CREATE INDEX virtual_keys_agent ON virtual_keys (agent_id);
CREATE INDEX virtual_keys_department ON virtual_keys (department_id);

-- One row per request. Deliberately no foreign keys: logs outlive the keys they mention, so the
-- ids are plain integers (NULL = none) and names are joined in when read.
CREATE TABLE request_logs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,  -- internal keyset cursor, never reused
    request_id          TEXT NOT NULL,                      -- not unique: x-request-id may repeat
    client_request_id   TEXT,
    created_at          INTEGER NOT NULL,
    latency_ms          INTEGER,
    ttfb_ms             INTEGER,                            -- NULL = no byte from upstream
    virtual_key_id      INTEGER,
    agent_id            INTEGER,
    department_id       INTEGER,
    provider_key_id     INTEGER,
    provider            TEXT,
    model               TEXT,
    method              TEXT,
    path                TEXT,
    status              INTEGER,
    error_code          TEXT,
    error_message       TEXT,
    prompt_tokens       INTEGER,                            -- NULL = not reported
    completion_tokens   INTEGER,
    total_tokens        INTEGER,
    stream              INTEGER NOT NULL DEFAULT 0 CHECK (stream IN (0, 1)),
    request_body        TEXT,
    request_truncated   INTEGER NOT NULL DEFAULT 0 CHECK (request_truncated IN (0, 1)),
    response_body       TEXT,
    response_truncated  INTEGER NOT NULL DEFAULT 0 CHECK (response_truncated IN (0, 1)),
    client_ip           TEXT,
    user_agent          TEXT,
    upstream_request_id TEXT
);
CREATE INDEX request_logs_created_at ON request_logs (created_at);
CREATE INDEX request_logs_vk_created_at ON request_logs (virtual_key_id, created_at);
CREATE INDEX request_logs_request_id ON request_logs (request_id);
