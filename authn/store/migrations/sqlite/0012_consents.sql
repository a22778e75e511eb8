-- The consent ledger (authn.ConsentRecord): every grant and withdrawal of
-- a purpose, append-only. The current state of a purpose is its latest
-- entry (by at, then id). Deleted with the user (and by DeleteConsents,
-- the erasure).
CREATE TABLE consents (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL,
	version    INTEGER NOT NULL,
	action     TEXT NOT NULL,
	at         INTEGER NOT NULL,
	source     TEXT NOT NULL DEFAULT '',
	app        TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	session_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_user_at ON consents (user_id, at, id);

-- Each user's communication preferences (authn.Preferences); channels and
-- topics are JSON arrays of strings. version counts writes (the ETag).
CREATE TABLE preferences (
	user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	channels   TEXT NOT NULL DEFAULT '[]',
	topics     TEXT NOT NULL DEFAULT '[]',
	language   TEXT NOT NULL DEFAULT '',
	version    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
