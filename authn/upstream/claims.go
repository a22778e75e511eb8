package upstream

import (
	"crypto/subtle"
	"encoding/json"
	"strings"
)

// claims are the ID token's claims the presets read.
type claims struct {
	Email             string   `json:"email"`
	EmailVerified     flexBool `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Nickname          string   `json:"nickname"`
	XMSEdov           flexBool `json:"xms_edov"`
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
}

// identity maps the claims by preset (see the Preset constants).
func (c claims) identity(p Preset) Identity {
	id := Identity{Email: strings.TrimSpace(c.Email)}
	switch p {
	case PresetMicrosoft:
		// Entra ID's email is whatever the tenant typed: verified only
		// when Microsoft says the tenant owns the domain.
		id.EmailVerified = bool(c.XMSEdov)
		id.Name = c.Name
	case PresetApple:
		id.EmailVerified = bool(c.EmailVerified)
	case PresetGitLab:
		id.EmailVerified = bool(c.EmailVerified)
		id.Name = first(c.Name, c.Nickname)
	default:
		id.EmailVerified = bool(c.EmailVerified)
		id.Name = first(c.Name, strings.TrimSpace(c.GivenName+" "+c.FamilyName), c.PreferredUsername)
	}
	if id.Email == "" {
		id.EmailVerified = false
	}
	return id
}

func first(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// flexBool is true for the JSON true and the string "true" (Apple sends
// booleans as strings); anything else, absent included, is false.
type flexBool bool

// UnmarshalJSON reads a boolean or a string; it never fails, so an odd
// claim is false rather than an error.
func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		*b = false
		return nil
	}
	switch x := v.(type) {
	case bool:
		*b = flexBool(x)
	case string:
		*b = flexBool(strings.EqualFold(x, "true"))
	default:
		*b = false
	}
	return nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
