-- riskauth authn schema, SQLite. Times are INTEGER unix milliseconds (UTC);
-- NULL means "not set". Ids are TEXT (UUIDv7 or random, caller-generated).

CREATE TABLE users (
	id                  TEXT PRIMARY KEY,
	-- NOCASE folds ASCII only; callers normalise (and lower-case) first.
	email               TEXT NOT NULL COLLATE NOCASE UNIQUE,
	email_verified_at   INTEGER,
	password_hash       TEXT NOT NULL DEFAULT '',
	password_changed_at INTEGER,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	disabled            INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE totp_factors (
	id             TEXT PRIMARY KEY,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	sealed_secret  BLOB NOT NULL,
	created_at     INTEGER NOT NULL,
	confirmed_at   INTEGER,
	last_used_step INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- At most one pending and one active factor per user.
CREATE UNIQUE INDEX totp_factors_pending ON totp_factors (user_id) WHERE confirmed_at IS NULL;
CREATE UNIQUE INDEX totp_factors_active ON totp_factors (user_id) WHERE confirmed_at IS NOT NULL;

CREATE TABLE recovery_codes (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER,
	PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

CREATE TABLE sessions (
	id                  TEXT PRIMARY KEY,
	token_hash          BLOB NOT NULL UNIQUE,
	user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at          INTEGER NOT NULL,
	last_seen_at        INTEGER NOT NULL,
	idle_expires_at     INTEGER NOT NULL,
	absolute_expires_at INTEGER NOT NULL,
	aal                 INTEGER NOT NULL,
	device_id           TEXT NOT NULL DEFAULT '',
	ip                  TEXT NOT NULL DEFAULT '',
	user_agent          TEXT NOT NULL DEFAULT '',
	revoked_at          INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id, last_seen_at);
CREATE INDEX sessions_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expiry ON sessions (absolute_expires_at);

CREATE TABLE one_time_tokens (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	hash         BLOB NOT NULL,
	user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
	flow_id      TEXT,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 0,
	used_at      INTEGER,
	-- set when a newer token superseded this one or too many wrong guesses
	revoked_at   INTEGER
);
CREATE INDEX one_time_tokens_hash ON one_time_tokens (kind, hash);
CREATE INDEX one_time_tokens_flow ON one_time_tokens (kind, flow_id) WHERE flow_id IS NOT NULL;
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, kind, created_at);
CREATE INDEX one_time_tokens_expiry ON one_time_tokens (expires_at);

CREATE TABLE login_flows (
	id                TEXT PRIMARY KEY,
	user_id           TEXT REFERENCES users (id) ON DELETE CASCADE,
	identifier        TEXT NOT NULL,
	evaluation_id     TEXT NOT NULL DEFAULT '',
	decision          TEXT NOT NULL DEFAULT '',
	methods           TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	state             TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,
	password_verified INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX login_flows_expiry ON login_flows (expires_at);

CREATE TABLE login_attempts (
	id         INTEGER PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	factor     TEXT NOT NULL,
	success    INTEGER NOT NULL,
	ip         TEXT NOT NULL DEFAULT '',
	device_id  TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	at         INTEGER NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (user_id, at);
CREATE INDEX login_attempts_factor ON login_attempts (user_id, factor, success, at);
CREATE INDEX login_attempts_ip ON login_attempts (user_id, ip, at);
CREATE INDEX login_attempts_device ON login_attempts (user_id, device_id, at);
CREATE INDEX login_attempts_at ON login_attempts (at);
