package store

import (
	"strings"

	"github.com/riskauth/riskauth/authn"
)

// importPlan decides each user's outcome from what the database already
// holds (external ids imported before, with their account, and addresses
// taken, lower-cased), and from the earlier users of the same batch.
func importPlan(us []authn.ImportedUser, imported map[string]string, taken map[string]bool) []authn.ImportOutcome {
	out := make([]authn.ImportOutcome, len(us))
	seenExt := map[string]bool{}
	for i, u := range us {
		email := strings.ToLower(u.User.Email)
		switch {
		case imported[u.ExternalID] != "":
			out[i] = authn.ImportOutcome{Status: authn.ImportExisting, UserID: imported[u.ExternalID]}
		case taken[email] || seenExt[u.ExternalID]:
			out[i] = authn.ImportOutcome{Status: authn.ImportConflict}
		default:
			out[i] = authn.ImportOutcome{Status: authn.ImportCreated, UserID: u.User.ID}
			taken[email] = true
		}
		seenExt[u.ExternalID] = true
	}
	return out
}
