-- OpenID Connect clients registered through the admin API (authn/oidc
-- registry): the client's spec as JSON (secrets only as SHA-256), with a
-- version for If-Match. Configured clients are not stored here.
CREATE TABLE oidc_clients (
	id         text PRIMARY KEY,
	data       bytea NOT NULL,
	version    bigint  NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

-- The jti of every private_key_jwt client assertion seen, until the
-- assertion expires: a second use is a replay, refused on every instance.
CREATE TABLE oidc_client_assertions (
	client_id  text NOT NULL,
	jti        text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_client_assertions_expiry ON oidc_client_assertions (expires_at);
