-- riskauth authn schema, PostgreSQL. Times are timestamptz (UTC instants);
-- NULL means "not set". Ids are text (UUIDv7 or random, caller-generated).
-- Objects are created in the first schema of search_path.

CREATE TABLE users (
	id                  text PRIMARY KEY,
	email               text NOT NULL,
	email_verified_at   timestamptz,
	password_hash       text NOT NULL DEFAULT '',
	password_changed_at timestamptz,
	created_at          timestamptz NOT NULL,
	updated_at          timestamptz NOT NULL,
	disabled            boolean NOT NULL DEFAULT false
);
-- Case-insensitive uniqueness; lookups use the same expression.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE totp_factors (
	id             text PRIMARY KEY,
	user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	sealed_secret  bytea NOT NULL,
	created_at     timestamptz NOT NULL,
	confirmed_at   timestamptz,
	last_used_step bigint NOT NULL DEFAULT 0
);
-- At most one pending and one active factor per user.
CREATE UNIQUE INDEX totp_factors_pending ON totp_factors (user_id) WHERE confirmed_at IS NULL;
CREATE UNIQUE INDEX totp_factors_active ON totp_factors (user_id) WHERE confirmed_at IS NOT NULL;

CREATE TABLE recovery_codes (
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  bytea NOT NULL,
	created_at timestamptz NOT NULL,
	used_at    timestamptz,
	PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
	id                  text PRIMARY KEY,
	token_hash          bytea NOT NULL UNIQUE,
	user_id             text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at          timestamptz NOT NULL,
	last_seen_at        timestamptz NOT NULL,
	idle_expires_at     timestamptz NOT NULL,
	absolute_expires_at timestamptz NOT NULL,
	aal                 smallint NOT NULL,
	device_id           text NOT NULL DEFAULT '',
	ip                  text NOT NULL DEFAULT '',
	user_agent          text NOT NULL DEFAULT '',
	revoked_at          timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id, last_seen_at);
CREATE INDEX sessions_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expiry ON sessions (absolute_expires_at);

CREATE TABLE one_time_tokens (
	id           text PRIMARY KEY,
	kind         text NOT NULL,
	hash         bytea NOT NULL,
	user_id      text REFERENCES users (id) ON DELETE CASCADE,
	flow_id      text,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	max_attempts integer NOT NULL DEFAULT 0,
	used_at      timestamptz,
	-- set when a newer token superseded this one or too many wrong guesses
	revoked_at   timestamptz
);
CREATE INDEX one_time_tokens_hash ON one_time_tokens (kind, hash);
CREATE INDEX one_time_tokens_flow ON one_time_tokens (kind, flow_id) WHERE flow_id IS NOT NULL;
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, kind, created_at);
CREATE INDEX one_time_tokens_expiry ON one_time_tokens (expires_at);

CREATE TABLE login_flows (
	id                text PRIMARY KEY,
	user_id           text REFERENCES users (id) ON DELETE CASCADE,
	identifier        text NOT NULL,
	evaluation_id     text NOT NULL DEFAULT '',
	decision          text NOT NULL DEFAULT '',
	methods           text[] NOT NULL DEFAULT '{}',
	state             text NOT NULL,
	created_at        timestamptz NOT NULL,
	updated_at        timestamptz NOT NULL,
	expires_at        timestamptz NOT NULL,
	password_verified boolean NOT NULL DEFAULT false
);
CREATE INDEX login_flows_expiry ON login_flows (expires_at);

CREATE TABLE login_attempts (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	factor     text NOT NULL,
	success    boolean NOT NULL,
	ip         text NOT NULL DEFAULT '',
	device_id  text NOT NULL DEFAULT '',
	user_agent text NOT NULL DEFAULT '',
	at         timestamptz NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (user_id, at);
CREATE INDEX login_attempts_factor ON login_attempts (user_id, factor, success, at);
CREATE INDEX login_attempts_ip ON login_attempts (user_id, ip, at);
CREATE INDEX login_attempts_device ON login_attempts (user_id, device_id, at);
CREATE INDEX login_attempts_at ON login_attempts (at);
