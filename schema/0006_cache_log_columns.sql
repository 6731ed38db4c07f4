-- 0006_cache_log_columns.sql — what the response cache records on a request's log row (the cache
-- entries themselves live in their own database file, cache.db, so cache writes never contend
-- with log writes). All NULL on requests that did not use the cache.

ALTER TABLE request_logs ADD COLUMN cache_status TEXT            -- 'HIT' | 'MISS' | NULL (cache off)
    CHECK (cache_status IS NULL OR cache_status IN ('HIT', 'MISS'));
ALTER TABLE request_logs ADD COLUMN cache_kind TEXT;             -- 'exact' | 'semantic' on a hit
ALTER TABLE request_logs ADD COLUMN cache_source_request_id TEXT; -- hit: request_id that produced the answer
ALTER TABLE request_logs ADD COLUMN cache_bucket_idx INTEGER;    -- hit: slot served (0-based)
ALTER TABLE request_logs ADD COLUMN cache_similarity REAL;       -- semantic hit: cosine similarity
ALTER TABLE request_logs ADD COLUMN cache_saved_nanos INTEGER;   -- hit: cost the upstream call would have had
ALTER TABLE request_logs ADD COLUMN cache_latency_ms INTEGER;    -- time the lookup took
