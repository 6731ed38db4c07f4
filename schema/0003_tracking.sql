-- 0003_tracking.sql — request tracking (sessions, custom properties, privacy flags, country,
-- referer, client IPs) and prompt templates with versions.

ALTER TABLE request_logs ADD COLUMN session_id TEXT;
ALTER TABLE request_logs ADD COLUMN session_path TEXT;       -- normalised: leading '/', no '//'
ALTER TABLE request_logs ADD COLUMN session_name TEXT;
ALTER TABLE request_logs ADD COLUMN country TEXT;            -- ISO 3166 alpha-2, NULL = unknown
ALTER TABLE request_logs ADD COLUMN referer TEXT;
ALTER TABLE request_logs ADD COLUMN forwarded_ip TEXT;       -- leftmost x-forwarded-for (policy IP)
ALTER TABLE request_logs ADD COLUMN ratelimit_ip TEXT;       -- peer, or XFF via a trusted proxy
ALTER TABLE request_logs ADD COLUMN request_omitted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN response_omitted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN prompt_id TEXT;
ALTER TABLE request_logs ADD COLUMN prompt_version INTEGER;
CREATE INDEX request_logs_session ON request_logs (session_id, created_at) WHERE session_id IS NOT NULL;

-- alephant-property-<name>: <value>, one row each, so logs and analytics can filter and group
-- by them with an index (names are lower-case).
CREATE TABLE request_properties (
    log_id INTEGER NOT NULL,             -- request_logs.id
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (log_id, name)
) WITHOUT ROWID;
CREATE INDEX request_properties_name_value ON request_properties (name, value, log_id);

-- Prompt templates: a name with numbered, immutable versions (the newest is used).
CREATE TABLE prompts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE prompt_versions (
    prompt_id  INTEGER NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    template   TEXT NOT NULL,            -- JSON: {"messages": [...], "model": …, "params": {…}}
    created_at INTEGER NOT NULL,
    PRIMARY KEY (prompt_id, version)
);
