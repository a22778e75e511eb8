package secevent

// The OpenID Connect provider's types (issue 22, authn/oidc): what a user
// let a third-party application receive, and when that ended. They are
// account changes (OCSF Account Change, 99 Other), on the alerts topic
// and the audit trail like every type. Details: "client_id" and, for a
// grant, "scopes" (space-separated).
const (
	// OIDCConsentGranted: the user let a client receive the scopes named.
	OIDCConsentGranted Type = "oidc_consent_granted"
	// OIDCConsentRevoked: the user withdrew a client's consent; the
	// client's tokens for the user were revoked with it.
	OIDCConsentRevoked Type = "oidc_consent_revoked"
	// OIDCBackchannelLogout: a client was told that a session it got
	// tokens from ended (details client_id, outcome: delivered or
	// failed, attempts).
	OIDCBackchannelLogout Type = "oidc_backchannel_logout"
	// OIDCRefreshReuse: a rotated refresh token was presented again (or
	// one token was refreshed twice at once): whoever holds the grant may
	// have stolen it, so its whole family was revoked. A finding for the
	// SOC (details client_id, reason, revoked).
	OIDCRefreshReuse Type = "oidc_refresh_reuse"

	// The client registry (admin API, /v1/admin/clients): an
	// administrator registered, changed or deleted a client, or gave it a
	// new secret. Details: "admin", "reason", "action", "client_id", and
	// for a change "fields" (comma-separated). No UserID: they change no
	// account. Deleting a client revoked its tokens and consents.
	OIDCClientCreated       Type = "oidc_client_created"
	OIDCClientUpdated       Type = "oidc_client_updated"
	OIDCClientDeleted       Type = "oidc_client_deleted"
	OIDCClientSecretRotated Type = "oidc_client_secret_rotated"
)
