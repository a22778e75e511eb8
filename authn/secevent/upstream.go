package secevent

// Upstream identity providers' types (issue 22, authn/signin_upstream.go):
// an account at another provider began or stopped signing in to a
// riskauth account. Account changes (OCSF Account Change, 99 Other).
// Details: "provider", "issuer", "identity_id" and "via" (for a link:
// registration, proof, or the owner's request for an unlink).
const (
	// IdentityLinked: the upstream identity now signs in to the account.
	IdentityLinked Type = "identity_linked"
	// IdentityUnlinked: it no longer does.
	IdentityUnlinked Type = "identity_unlinked"
)
