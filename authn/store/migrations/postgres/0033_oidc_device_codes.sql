-- OpenID Connect device authorization grant (RFC 8628, authn/oidc): the
-- device code and the user code are stored as SHA-256 hashes only.
-- state: pending, approved, denied, consumed (the tokens were issued).
CREATE TABLE oidc_device_codes (
	device_code_hash bytea PRIMARY KEY,
	user_code_hash   bytea NOT NULL UNIQUE,
	client_id        text NOT NULL,
	scopes           text NOT NULL,
	expires_at       timestamptz NOT NULL,
	last_poll_at     timestamptz,
	state            text NOT NULL,
	user_id          text,
	session_id       text,
	auth_time        timestamptz,
	amr              text
);
CREATE INDEX oidc_device_codes_expiry ON oidc_device_codes (expires_at);
