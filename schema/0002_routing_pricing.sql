-- 0002_routing_pricing.sql — provider targets per virtual key (priority, weight, model mapping),
-- provider options, fallback attempts, usage detail and cost on log rows, and the price table.

-- Azure OpenAI needs an api-version; other kinds leave it NULL.
ALTER TABLE provider_keys ADD COLUMN api_version TEXT;

-- A virtual key's upstream targets. Lower priority is tried first; among equal priorities the
-- weight decides the share of traffic. model_map is a JSON object {"client model": "target model"}.
CREATE TABLE vk_targets (
    id              INTEGER PRIMARY KEY,
    virtual_key_id  INTEGER NOT NULL REFERENCES virtual_keys (id) ON DELETE CASCADE,
    provider_key_id INTEGER NOT NULL REFERENCES provider_keys (id) ON DELETE RESTRICT,
    priority        INTEGER NOT NULL DEFAULT 0,
    weight          INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 0),
    model_map       TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (virtual_key_id, provider_key_id)
);
CREATE INDEX vk_targets_provider_key ON vk_targets (provider_key_id);
-- Every existing key keeps its provider key as its single target.
INSERT INTO vk_targets (virtual_key_id, provider_key_id, created_at)
    SELECT id, provider_key_id, created_at FROM virtual_keys;

ALTER TABLE request_logs ADD COLUMN cached_tokens INTEGER;      -- NULL = not reported
ALTER TABLE request_logs ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE request_logs ADD COLUMN cost_nanos INTEGER;         -- USD × 1e9; NULL = unknown
ALTER TABLE request_logs ADD COLUMN cost_flag TEXT;             -- why cost is NULL ('unknown_model', …)
ALTER TABLE request_logs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;

-- Each upstream attempt of a request (fallback and retries), tied to its log row.
CREATE TABLE request_attempts (
    id              INTEGER PRIMARY KEY,
    log_id          INTEGER NOT NULL,          -- request_logs.id (no FK: logs may be pruned)
    attempt         INTEGER NOT NULL,          -- 1, 2, …
    provider_key_id INTEGER,
    provider        TEXT,
    model           TEXT,
    status          INTEGER,                   -- upstream HTTP status, NULL = no answer
    error_code      TEXT,
    latency_ms      INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX request_attempts_log ON request_attempts (log_id);

-- List prices in nano-dollars (USD × 1e9) per million tokens. The price in force for a request is
-- the row with the latest effective_from not after the request. Operators edit these rows
-- (alephantctl price set); a model without a row gets cost NULL and cost_flag 'unknown_model'.
CREATE TABLE model_prices (
    id                     INTEGER PRIMARY KEY,
    provider               TEXT NOT NULL,      -- family: openai, anthropic, gemini, mistral, …
    model                  TEXT NOT NULL,      -- exact id; dated variants (model-2024-07-18) match
    input_per_mtok         INTEGER NOT NULL,
    output_per_mtok        INTEGER NOT NULL,
    cached_input_per_mtok  INTEGER,            -- NULL = same as input
    effective_from         INTEGER NOT NULL,   -- Unix ms
    UNIQUE (model, effective_from)
);

-- Seed: published list prices (standard tier, USD per million tokens) as of 2025-08-01.
-- 1 USD per million tokens = 1000000000 here.
INSERT INTO model_prices (provider, model, input_per_mtok, output_per_mtok, cached_input_per_mtok, effective_from) VALUES
    ('openai', 'gpt-5',                    1250000000,  10000000000,  125000000, 1754006400000),
    ('openai', 'gpt-5-mini',                250000000,   2000000000,   25000000, 1754006400000),
    ('openai', 'gpt-5-nano',                 50000000,    400000000,    5000000, 1754006400000),
    ('openai', 'gpt-4.1',                  2000000000,   8000000000,  500000000, 1754006400000),
    ('openai', 'gpt-4.1-mini',              400000000,   1600000000,  100000000, 1754006400000),
    ('openai', 'gpt-4.1-nano',              100000000,    400000000,   25000000, 1754006400000),
    ('openai', 'gpt-4o',                   2500000000,  10000000000, 1250000000, 1754006400000),
    ('openai', 'gpt-4o-mini',               150000000,    600000000,   75000000, 1754006400000),
    ('openai', 'o1',                      15000000000,  60000000000, 7500000000, 1754006400000),
    ('openai', 'o3',                       2000000000,   8000000000,  500000000, 1754006400000),
    ('openai', 'o3-mini',                  1100000000,   4400000000,  550000000, 1754006400000),
    ('openai', 'o4-mini',                  1100000000,   4400000000,  275000000, 1754006400000),
    ('openai', 'gpt-3.5-turbo',             500000000,   1500000000,       NULL, 1754006400000),
    ('openai', 'text-embedding-3-small',     20000000,            0,       NULL, 1754006400000),
    ('openai', 'text-embedding-3-large',    130000000,            0,       NULL, 1754006400000),
    ('anthropic', 'claude-opus-4-1',      15000000000,  75000000000, 1500000000, 1754006400000),
    ('anthropic', 'claude-opus-4',        15000000000,  75000000000, 1500000000, 1754006400000),
    ('anthropic', 'claude-sonnet-4',       3000000000,  15000000000,  300000000, 1754006400000),
    ('anthropic', 'claude-3-7-sonnet',     3000000000,  15000000000,  300000000, 1754006400000),
    ('anthropic', 'claude-3-5-sonnet',     3000000000,  15000000000,  300000000, 1754006400000),
    ('anthropic', 'claude-3-5-haiku',       800000000,   4000000000,   80000000, 1754006400000),
    ('anthropic', 'claude-3-haiku',         250000000,   1250000000,   30000000, 1754006400000),
    ('gemini', 'gemini-2.5-pro',           1250000000,  10000000000,  310000000, 1754006400000),
    ('gemini', 'gemini-2.5-flash',          300000000,   2500000000,   75000000, 1754006400000),
    ('gemini', 'gemini-2.5-flash-lite',     100000000,    400000000,   25000000, 1754006400000),
    ('gemini', 'gemini-2.0-flash',          100000000,    400000000,   25000000, 1754006400000),
    ('gemini', 'gemini-2.0-flash-lite',      75000000,    300000000,       NULL, 1754006400000),
    ('mistral', 'mistral-large-latest',    2000000000,   6000000000,       NULL, 1754006400000),
    ('mistral', 'mistral-medium-latest',    400000000,   2000000000,       NULL, 1754006400000),
    ('mistral', 'mistral-small-latest',     100000000,    300000000,       NULL, 1754006400000),
    ('mistral', 'codestral-latest',         300000000,    900000000,       NULL, 1754006400000),
    ('mistral', 'open-mistral-nemo',        150000000,    150000000,       NULL, 1754006400000);
