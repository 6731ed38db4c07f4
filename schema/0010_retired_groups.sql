-- 0010_retired_groups.sql — agents and departments can be deleted (admin program, alephantctl).
-- Log rows keep agent and department ids without foreign keys (they outlive what they name), so
-- an id must never be handed to a new agent or department: a deleted one is remembered here with
-- its name, and a new row that SQLite numbered at or below a remembered id (it numbers from the
-- largest live id) is moved above every id ever used. Triggers, so every writer is covered.

CREATE TABLE retired_groups (
    kind       TEXT NOT NULL CHECK (kind IN ('agent', 'department')),
    id         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,                 -- Unix ms
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TRIGGER agents_retire AFTER DELETE ON agents BEGIN
    INSERT OR REPLACE INTO retired_groups (kind, id, name, deleted_at)
    VALUES ('agent', OLD.id, OLD.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER departments_retire AFTER DELETE ON departments BEGIN
    INSERT OR REPLACE INTO retired_groups (kind, id, name, deleted_at)
    VALUES ('department', OLD.id, OLD.name,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER agents_fresh_id AFTER INSERT ON agents
WHEN NEW.id <= (SELECT MAX(id) FROM retired_groups WHERE kind = 'agent') BEGIN
    UPDATE agents SET id = 1 + MAX((SELECT MAX(id) FROM agents),
                                   (SELECT MAX(id) FROM retired_groups WHERE kind = 'agent'))
    WHERE id = NEW.id;
END;
CREATE TRIGGER departments_fresh_id AFTER INSERT ON departments
WHEN NEW.id <= (SELECT MAX(id) FROM retired_groups WHERE kind = 'department') BEGIN
    UPDATE departments SET id = 1 + MAX((SELECT MAX(id) FROM departments),
                                        (SELECT MAX(id) FROM retired_groups
                                         WHERE kind = 'department'))
    WHERE id = NEW.id;
END;
