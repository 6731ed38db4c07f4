-- 0007_logs_analytics.sql — what the admin's Logs, Sessions and Analytics pages need: the request
-- headers kept on a log row (credentials removed by the gateway, see fcgi-app/tracking.h
-- gw_tracking_log_headers) and the indexes behind their common filters.

-- JSON object {"header-name": "value"} of the client's request headers without credentials,
-- bounded in size; NULL when alephant-omit-request was set (or on rows older than 0007).
ALTER TABLE request_logs ADD COLUMN request_headers TEXT;
