-- OpenID Connect provider state (authn/oidc): authorization requests with
-- their codes, and issued tokens. Codes and refresh tokens are stored as
-- SHA-256 hashes only.
CREATE TABLE oidc_auth_requests (
	id              TEXT PRIMARY KEY,
	client_id       TEXT NOT NULL,
	data            BLOB NOT NULL,
	expires_at      INTEGER NOT NULL,
	code_hash       BLOB UNIQUE,
	code_expires_at INTEGER,
	code_used_at    INTEGER
);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

-- Access tokens (by jti) and refresh tokens (by hash). family is the
-- authorization request the grant began with: a replayed code or a reused
-- refresh token revokes every token of it. A deleted account takes its
-- tokens with it.
CREATE TABLE oidc_tokens (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	hash       BLOB UNIQUE,
	family     TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	data       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	revoked_at INTEGER
);
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_user ON oidc_tokens (user_id);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);
