package ocsf_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
)

// lifecycleTypes are the account lifecycle types of issue 20, with the
// Account Change activity each must render as.
var lifecycleTypes = map[secevent.Type]int{
	secevent.UserCreated: 1, secevent.UserEnabled: 2, secevent.UserDisabled: 5, secevent.UserDeleted: 6,
	secevent.UserUnlocked: 12, secevent.MFAReset: 11, secevent.UserVerified: 99, secevent.UserUpdated: 99,
	secevent.VerificationSent: 99, secevent.PasswordResetSent: 99,
}

// TestLifecycleEvents: every lifecycle type renders as an Account Change
// with its activity, valid against docs/schemas/account-change.schema.json,
// keyed by user, with the administrator's who and why in the details; a
// tombstone without an address too. And the schema can fail: a type
// rendered under another type's activity is refused.
func TestLifecycleEvents(t *testing.T) {
	schemas := compileSchemas(t)
	enc := newEncoder()
	n := 0
	for typ, activity := range lifecycleTypes {
		require.True(t, typ.IsLifecycle(), typ)
		for _, ev := range []*secevent.Event{
			{Type: typ, UserID: "u-42", Email: "alice@example.com", IP: netip.MustParseAddr("10.1.2.3"), UserAgent: "riskctl/1", Time: decidedAt,
				Details: map[string]string{"admin": "helpdesk-1", "reason": "ticket 4711", "action": "x"}},
			{Type: typ, UserID: "u-42"},
		} {
			msg, err := enc.Security(nil, ev, "msg-"+string(typ))
			require.NoError(t, err)
			require.NoError(t, validate(t, schemas["account-change"], msg), "%s", msg)
			var m map[string]any
			require.NoError(t, json.Unmarshal(msg, &m))
			assert.EqualValues(t, 3001, m["class_uid"], typ)
			assert.EqualValues(t, activity, m["activity_id"], typ)
			assert.Equal(t, "u-42", ocsf.SecurityKey(ev), "keyed by user")
			if ev.Details != nil {
				d := m["unmapped"].(map[string]any)["riskauth"].(map[string]any)["details"].(map[string]any)
				assert.Equal(t, "helpdesk-1", d["admin"])
				assert.Equal(t, "ticket 4711", d["reason"])
			}
			// Swap the event type for one of another activity: refused.
			other := secevent.UserCreated
			if typ == secevent.UserCreated {
				other = secevent.UserDeleted
			}
			bad := strings.Replace(string(msg), `"event_type":"`+string(typ)+`"`, `"event_type":"`+string(other)+`"`, 1)
			require.NotEqual(t, string(msg), bad)
			assert.Error(t, validate(t, schemas["account-change"], []byte(bad)), "%s as %s", typ, other)
			n++
		}
	}
	assert.Equal(t, 20, n)
}
