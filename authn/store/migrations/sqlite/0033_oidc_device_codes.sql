-- OpenID Connect device authorization grant (RFC 8628, authn/oidc): the
-- device code and the user code are stored as SHA-256 hashes only.
-- state: pending, approved, denied, consumed (the tokens were issued).
CREATE TABLE oidc_device_codes (
	device_code_hash BLOB PRIMARY KEY,
	user_code_hash   BLOB NOT NULL UNIQUE,
	client_id        TEXT NOT NULL,
	scopes           TEXT NOT NULL,
	expires_at       INTEGER NOT NULL,
	last_poll_at     INTEGER,
	state            TEXT NOT NULL,
	user_id          TEXT,
	session_id       TEXT,
	auth_time        INTEGER,
	amr              TEXT
);
CREATE INDEX oidc_device_codes_expiry ON oidc_device_codes (expires_at);
