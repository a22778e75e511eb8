package userimport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/foreignhash"
	"github.com/riskauth/riskauth/authn/userimport"
)

var fb = &foreignhash.FirebaseParams{SignerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
	SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}

func TestParseLine(t *testing.T) {
	t.Parallel()
	good := []struct {
		name, line, scheme string
		weak               bool
	}{
		{"bcrypt and totp", `{"external_id":"a|1","email":" A@Example.com ","email_verified":true,"created_at":"2021-03-04T05:06:07+02:00","password_hash":"$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe","totp_secret":"jbsw y3dp ehpk 3pxp"}`, "bcrypt", false},
		{"keycloak", `{"external_id":"k","email":"k@example.com","keycloak":{"algorithm":"pbkdf2-sha256","iterations":27500,"salt":"c2FsdA==","value":"SwB5AbdlSJq+rUnZJvch0GWkKcE="}}`, "pbkdf2", false},
		{"firebase", `{"external_id":"f","email":"f@example.com","firebase":{"salt":"42xEC+ixf3L2lw==","hash":"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="}}`, "firebase_scrypt", false},
		{"salted", `{"external_id":"s","email":"s@example.com","salted_sha":{"algorithm":"sha512","salt":"00","hash":"` + strings.Repeat("ab", 64) + `"}}`, "salted_sha", true},
		{"passwordless", `{"external_id":"p","email":"p@example.com","disabled":true}`, "", false},
		{"our argon2id", `{"external_id":"o","email":"o@example.com","password_hash":"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObGRdescudvJCs"}`, "argon2id", false},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			r, err := userimport.ParseLine([]byte(c.line), userimport.Options{Firebase: fb})
			require.NoError(t, err)
			assert.Equal(t, c.scheme, r.Scheme)
			assert.Equal(t, c.weak, r.Weak)
		})
	}
	r, err := userimport.ParseLine([]byte(good[0].line), userimport.Options{})
	require.NoError(t, err)
	assert.Equal(t, "A@Example.com", r.Email, "trimmed; authn normalises")
	assert.Equal(t, "JBSWY3DPEHPK3PXP", r.TOTPSecret)
	assert.Equal(t, time.Date(2021, 3, 4, 3, 6, 7, 0, time.UTC), r.CreatedAt)
	assert.True(t, r.Verified)

	bad := map[string]string{
		"not json":            `nope`,
		"two values":          `{"external_id":"a","email":"a@x"} {}`,
		"unknown field":       `{"external_id":"a","email":"a@x","password":"clear"}`,
		"no external id":      `{"email":"a@x"}`,
		"no email":            `{"external_id":"a"}`,
		"two hashes":          `{"external_id":"a","email":"a@x","password_hash":"$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe","keycloak":{}}`,
		"unknown hash":        `{"external_id":"a","email":"a@x","password_hash":"md5:abc"}`,
		"firebase alone":      `{"external_id":"a","email":"a@x","firebase":{"salt":"AA==","hash":"AA=="}}`,
		"bad totp":            `{"external_id":"a","email":"a@x","totp_secret":"not base32!"}`,
		"ancient":             `{"external_id":"a","email":"a@x","created_at":"1970-01-01T00:00:00Z"}`,
		"salted not hex":      `{"external_id":"a","email":"a@x","salted_sha":{"algorithm":"sha256","salt":"zz","hash":"00"}}`,
		"wrong type":          `{"external_id":5,"email":"a@x"}`,
		"not utf-8":           "{\"external_id\":\"a\xff\",\"email\":\"a@x\"}",
		"external id 256":     `{"external_id":"` + strings.Repeat("x", 256) + `","email":"a@x"}`,
		"sign-in no time":     `{"external_id":"a","email":"a@x","sign_ins":[{"ip":"192.0.2.1"}]}`,
		"sign-in bad ip":      `{"external_id":"a","email":"a@x","sign_ins":[{"at":"2026-11-01T08:00:00Z","ip":"300.1.1.1"}]}`,
		"sign-in control":     `{"external_id":"a","email":"a@x","sign_ins":[{"at":"2026-11-01T08:00:00Z","ip":"192.0.2.1","user_agent":"a\u0000b"}]}`,
		"sign-ins 101":        `{"external_id":"a","email":"a@x","sign_ins":[` + strings.TrimSuffix(strings.Repeat(`{"at":"2026-11-01T08:00:00Z","ip":"192.0.2.1"},`, 101), ",") + `]}`,
		"profile not strings": `{"external_id":"a","email":"a@x","profile":{"locale":5}}`,
	}
	for name, line := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := userimport.ParseLine([]byte(line), userimport.Options{})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "bvIG6Nmid91Mu9Rc", "never a hash in a reason")
		})
	}
	_, err = userimport.ParseLine([]byte(`{"external_id":"a","email":"a@x","x":"`+strings.Repeat("y", userimport.MaxLineLen)+`"}`), userimport.Options{})
	assert.ErrorContains(t, err, "longer than")
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"external_id":"a|1","email":"a@example.com","email_verified":true,"created_at":"2021-03-04T05:06:07Z","password_hash":"$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe","totp_secret":"JBSWY3DPEHPK3PXP"}`))
	f.Add([]byte(`{"external_id":"k","email":"k@example.com","keycloak":{"algorithm":"pbkdf2-sha256","iterations":27500,"salt":"c2FsdA==","value":"SwB5AbdlSJq+rUnZJvch0GWkKcE="}}`))
	f.Add([]byte(`{"external_id":"f","email":"f@example.com","firebase":{"salt":"42xEC+ixf3L2lw==","hash":"AAAA"}}`))
	f.Add([]byte(`{"external_id":"s","email":"s@example.com","salted_sha":{"algorithm":"sha256","salt":"00","hash":"00"}}`))
	f.Add([]byte(`{"external_id":"p","email":"p@example.com","profile":{"locale":"de"},"attributes":{"tier":"gold"},"sign_ins":[{"at":"2026-11-01T08:00:00Z","ip":"192.0.2.1","device_id":"d"}]}`))
	f.Add([]byte(`nope`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := userimport.ParseLine(line, userimport.Options{Firebase: fb})
		if err != nil {
			return
		}
		if r.ExternalID == "" || r.Email == "" {
			t.Fatalf("accepted without an id or address: %q", line)
		}
		if r.PasswordHash != "" && r.Scheme == "" {
			t.Fatalf("a hash without a scheme: %q", line)
		}
		if len(r.SignIns) > userimport.MaxSignIns {
			t.Fatalf("%d past sign-ins accepted", len(r.SignIns))
		}
		for _, si := range r.SignIns {
			if !si.IP.IsValid() || si.At.IsZero() {
				t.Fatalf("a past sign-in without address or time: %q", line)
			}
		}
	})
}
