-- The consent ledger (authn.ConsentRecord): every grant and withdrawal of
-- a purpose, append-only. The current state of a purpose is its latest
-- entry (by at, then id). Deleted with the user (and by DeleteConsents,
-- the erasure).
CREATE TABLE consents (
	id         text PRIMARY KEY,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    text NOT NULL,
	version    integer NOT NULL,
	action     text NOT NULL,
	at         timestamptz NOT NULL,
	source     text NOT NULL DEFAULT '',
	app        text NOT NULL DEFAULT '',
	ip         text NOT NULL DEFAULT '',
	user_agent text NOT NULL DEFAULT '',
	session_id text NOT NULL DEFAULT ''
);
CREATE INDEX consents_user_at ON consents (user_id, at, id);

-- Each user's communication preferences (authn.Preferences); channels and
-- topics are JSON arrays of strings. version counts writes (the ETag).
CREATE TABLE preferences (
	user_id    text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	channels   jsonb NOT NULL DEFAULT '[]',
	topics     jsonb NOT NULL DEFAULT '[]',
	language   text NOT NULL DEFAULT '',
	version    bigint NOT NULL,
	updated_at timestamptz NOT NULL
);
