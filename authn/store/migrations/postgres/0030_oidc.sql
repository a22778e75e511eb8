-- OpenID Connect provider state (authn/oidc): authorization requests with
-- their codes, and issued tokens. Codes and refresh tokens are stored as
-- SHA-256 hashes only.
CREATE TABLE oidc_auth_requests (
	id              text PRIMARY KEY,
	client_id       text NOT NULL,
	data            bytea NOT NULL,
	expires_at      timestamptz NOT NULL,
	code_hash       bytea UNIQUE,
	code_expires_at timestamptz,
	code_used_at    timestamptz
);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

-- Access tokens (by jti) and refresh tokens (by hash). family is the
-- authorization request the grant began with: a replayed code or a reused
-- refresh token revokes every token of it. A deleted account takes its
-- tokens with it.
CREATE TABLE oidc_tokens (
	id         text PRIMARY KEY,
	kind       text NOT NULL,
	hash       bytea UNIQUE,
	family     text NOT NULL,
	client_id  text NOT NULL,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	data       bytea NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	revoked_at timestamptz
);
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_user ON oidc_tokens (user_id);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);
