-- 0009_config_version.sql — a counter that every change to the configuration tables bumps (by
-- trigger, so alephantctl, the admin program and hand-written SQL are all covered). Gateway
-- workers keep what they read from these tables per thread and reuse it while the counter is
-- unchanged: one indexed read per lookup instead of the joins, and a revoked key or a new price is
-- seen by the very next request. Request-path writes (logs, spend, reservations) never bump it.

CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

CREATE TRIGGER config_provider_keys_ins AFTER INSERT ON provider_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_provider_keys_upd AFTER UPDATE ON provider_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_provider_keys_del AFTER DELETE ON provider_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_departments_ins AFTER INSERT ON departments BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_departments_upd AFTER UPDATE ON departments BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_departments_del AFTER DELETE ON departments BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_agents_ins AFTER INSERT ON agents BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_agents_upd AFTER UPDATE ON agents BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_agents_del AFTER DELETE ON agents BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_virtual_keys_ins AFTER INSERT ON virtual_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_virtual_keys_upd AFTER UPDATE ON virtual_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_virtual_keys_del AFTER DELETE ON virtual_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_vk_targets_ins AFTER INSERT ON vk_targets BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_vk_targets_upd AFTER UPDATE ON vk_targets BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_vk_targets_del AFTER DELETE ON vk_targets BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_budgets_ins AFTER INSERT ON budgets BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_budgets_upd AFTER UPDATE ON budgets BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_budgets_del AFTER DELETE ON budgets BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_rate_limits_ins AFTER INSERT ON rate_limits BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_rate_limits_upd AFTER UPDATE ON rate_limits BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_rate_limits_del AFTER DELETE ON rate_limits BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_policies_ins AFTER INSERT ON policies BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_policies_upd AFTER UPDATE ON policies BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_policies_del AFTER DELETE ON policies BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_model_prices_ins AFTER INSERT ON model_prices BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_model_prices_upd AFTER UPDATE ON model_prices BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER config_model_prices_del AFTER DELETE ON model_prices BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
