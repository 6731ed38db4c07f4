-- 0007_logs_analytics.sql — what the admin's Logs, Sessions and Analytics pages need: the request
-- headers kept on a log row (credentials removed by the gateway, see fcgi-app/tracking.h
-- gw_tracking_log_headers). No new index: their queries run on the primary key and the existing
-- created_at, session and property-value indexes (query plans in README "Admin: Logs, Sessions
-- and Analytics"), and every index would cost each logged request a write.

-- JSON object {"header-name": "value"} of the client's request headers without credentials,
-- bounded in size; NULL when alephant-omit-request was set (or on rows older than 0007).
ALTER TABLE request_logs ADD COLUMN request_headers TEXT;
