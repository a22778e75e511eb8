-- Issue 20: users imported from another identity system, by the id they
-- had there, so that a re-run of an import skips them (idempotent).
CREATE TABLE user_imports (
	external_id TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
	imported_at INTEGER NOT NULL
) WITHOUT ROWID;
