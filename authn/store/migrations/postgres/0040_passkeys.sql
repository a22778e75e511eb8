-- Passkeys (WebAuthn credentials, authn/passkey): the public key and
-- the authenticator's counter and backup flags. A deleted account takes
-- its passkeys with it.
CREATE TABLE passkeys (
	id                 BYTEA PRIMARY KEY,
	user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name               TEXT NOT NULL,
	public_key         BYTEA NOT NULL,
	aaguid             BYTEA,
	sign_count         BIGINT NOT NULL DEFAULT 0,
	transports         TEXT NOT NULL DEFAULT '',
	backup_eligible    BOOLEAN NOT NULL DEFAULT FALSE,
	backup_state       BOOLEAN NOT NULL DEFAULT FALSE,
	attestation_format TEXT NOT NULL DEFAULT '',
	created_at         TIMESTAMPTZ NOT NULL,
	last_used_at       TIMESTAMPTZ,
	clone_warnings     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- Ceremony states between begin and finish: single use (taken by a
-- DELETE ... RETURNING), swept at expiry.
CREATE TABLE passkey_challenges (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	flow_id    TEXT NOT NULL DEFAULT '',
	data       BYTEA NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);

-- The offer to create a passkey after sign-in is made once per account.
CREATE TABLE passkey_offers (
	user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	offered_at TIMESTAMPTZ NOT NULL
);
