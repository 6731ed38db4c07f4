-- 0004_limits_policies.sql — budgets (with reservations), rate-limit rules, policies and the
-- decisions they made. Money is in nano-dollars (USD × 1e9); times in Unix ms.

-- A spend limit on a virtual key, an agent or a department, per period.
CREATE TABLE budgets (
    id               INTEGER PRIMARY KEY,
    scope            TEXT NOT NULL CHECK (scope IN ('virtual_key', 'agent', 'department')),
    scope_id         INTEGER NOT NULL,
    period           TEXT NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly', 'lifetime')),
    reset_day        INTEGER NOT NULL DEFAULT 1,   -- weekly: 1 = Monday … 7; monthly: 1 … 28
    hard_limit_nanos INTEGER,                      -- enforced; NULL = none
    soft_limit_nanos INTEGER,                      -- alert threshold; NULL = none
    created_at       INTEGER NOT NULL,
    UNIQUE (scope, scope_id)
);

-- Settled spend of a budget in one period.
CREATE TABLE budget_spend (
    budget_id       INTEGER NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start    INTEGER NOT NULL,
    spent_nanos     INTEGER NOT NULL DEFAULT 0,
    soft_alerted_at INTEGER,                      -- when spend first crossed the soft limit
    PRIMARY KEY (budget_id, period_start)
) WITHOUT ROWID;

-- In-flight requests hold the most they can cost until they settle; a reservation of a worker
-- that died is ignored after expires_at and removed by the next reservation.
CREATE TABLE budget_reservations (
    id           INTEGER PRIMARY KEY,
    budget_id    INTEGER NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    amount_nanos INTEGER NOT NULL,
    request_id   TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX budget_reservations_budget ON budget_reservations (budget_id, period_start);
CREATE INDEX budget_reservations_expiry ON budget_reservations (expires_at);

-- Request and token limits per window, for a virtual key, agent or department, counted per
-- key (all its traffic), per client IP, per session or per value of a named property.
CREATE TABLE rate_limits (
    id           INTEGER PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('virtual_key', 'agent', 'department')),
    scope_id     INTEGER NOT NULL,
    per          TEXT NOT NULL DEFAULT 'key' CHECK (per IN ('key', 'ip', 'session', 'property')),
    property     TEXT NOT NULL DEFAULT '',     -- property name when per = 'property'
    max_requests INTEGER,                      -- NULL = no request limit
    max_tokens   INTEGER,                      -- NULL = no token limit
    window_ms    INTEGER NOT NULL DEFAULT 60000,
    created_at   INTEGER NOT NULL,
    UNIQUE (scope, scope_id, per, property)
);

-- Policies, evaluated in (position, id) order after authentication.
CREATE TABLE policies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    scope      TEXT NOT NULL CHECK (scope IN ('global', 'virtual_key', 'agent', 'department')),
    scope_id   INTEGER,                         -- NULL for global
    kind       TEXT NOT NULL,                   -- see policy.h
    config     TEXT NOT NULL,                   -- JSON, shape depends on kind
    action     TEXT NOT NULL DEFAULT 'block' CHECK (action IN ('block', 'flag')),
    position   INTEGER NOT NULL DEFAULT 0,
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL
);

-- What each policy decided for a request (tied to the log row).
CREATE TABLE policy_decisions (
    id          INTEGER PRIMARY KEY,
    log_id      INTEGER NOT NULL,               -- request_logs.id
    policy_id   INTEGER,
    policy_name TEXT NOT NULL,
    rule        TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('allow', 'flag', 'block')),
    reason      TEXT
);
CREATE INDEX policy_decisions_log ON policy_decisions (log_id);

ALTER TABLE request_logs ADD COLUMN policy_result TEXT;        -- allow | flag | block, NULL = none ran
-- Largest completion a model can produce, for budget reservations when max_tokens is absent.
ALTER TABLE model_prices ADD COLUMN max_output_tokens INTEGER;
UPDATE model_prices SET max_output_tokens = 16384 WHERE model IN ('gpt-4o', 'gpt-4o-mini');
UPDATE model_prices SET max_output_tokens = 32768 WHERE model LIKE 'gpt-4.1%';
UPDATE model_prices SET max_output_tokens = 128000 WHERE model LIKE 'gpt-5%';
UPDATE model_prices SET max_output_tokens = 100000 WHERE model IN ('o1', 'o3', 'o3-mini', 'o4-mini');
UPDATE model_prices SET max_output_tokens = 4096 WHERE model = 'gpt-3.5-turbo';
UPDATE model_prices SET max_output_tokens = 0 WHERE model LIKE 'text-embedding-%';
UPDATE model_prices SET max_output_tokens = 32000 WHERE model LIKE 'claude-opus-4%';
UPDATE model_prices SET max_output_tokens = 64000 WHERE model IN ('claude-sonnet-4', 'claude-3-7-sonnet');
UPDATE model_prices SET max_output_tokens = 8192 WHERE model IN ('claude-3-5-sonnet', 'claude-3-5-haiku');
UPDATE model_prices SET max_output_tokens = 4096 WHERE model = 'claude-3-haiku';
UPDATE model_prices SET max_output_tokens = 65536 WHERE model LIKE 'gemini-2.5%';
UPDATE model_prices SET max_output_tokens = 8192 WHERE model LIKE 'gemini-2.0%';
