-- OpenID Connect clients registered through the admin API (authn/oidc
-- registry): the client's spec as JSON (secrets only as SHA-256), with a
-- version for If-Match. Configured clients are not stored here.
CREATE TABLE oidc_clients (
	id         TEXT PRIMARY KEY,
	data       BLOB NOT NULL,
	version    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- The jti of every private_key_jwt client assertion seen, until the
-- assertion expires: a second use is a replay, refused on every instance.
CREATE TABLE oidc_client_assertions (
	client_id  TEXT NOT NULL,
	jti        TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_client_assertions_expiry ON oidc_client_assertions (expires_at);
