package store

import (
	"strings"

	"github.com/riskauth/riskauth/authn"
)

// The passkey statements shared by both dialects' files
// (sqlite_passkeys.go, postgres_passkeys.go).

const passkeyCols = `id, user_id, name, public_key, aaguid, sign_count, transports, backup_eligible, backup_state,
	attestation_format, created_at, last_used_at, clone_warnings`

// Interface guards: both stores keep passkeys and their ceremonies.
var (
	_ authn.PasskeyBackend = (*SQLite)(nil)
	_ authn.PasskeyBackend = (*Postgres)(nil)
)

func joinTransports(ts []string) string { return strings.Join(ts, ",") }

func splitTransports(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
