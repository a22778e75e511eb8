package foreignhash_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/foreignhash"
)

// Vectors from each system's own documentation or tests (the source is
// named on each); the PBKDF2 and scrypt ones were also recomputed with
// Python's hashlib, an implementation independent of Go's.
var vectors = []struct {
	name, source string
	stored       string
	password     string
	scheme       foreignhash.Scheme
}{
	{"bcrypt 2a", "Openwall crypt_blowfish wrapper.c", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", foreignhash.Bcrypt},
	{"bcrypt 2a password", "Openwall sample hashes (john)", "$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe", "password", foreignhash.Bcrypt},
	{"bcrypt 2b", "the 2a vector under the 2b prefix (same algorithm)", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", foreignhash.Bcrypt},
	{"bcrypt 2y", "the 2a vector under PHP's 2y prefix", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", foreignhash.Bcrypt},
	{"django pbkdf2_sha256", "Django 1.5 tests/auth_tests/test_hashers.py", "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "lètmein", foreignhash.DjangoPBKDF2},
	{"django pbkdf2_sha1", "passlib test_handlers_django.py", "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=", "not a password", foreignhash.DjangoPBKDF2},
	{"passlib pbkdf2-sha256", "passlib pbkdf2_sha256.hash output, recomputed", "$pbkdf2-sha256$29000$Vcq5N2YMwZgzxliLEeKcEw$s0clgmR70WK1yOIMGxi2LqUfiJ01U5nMhIk3xupdNWM", "1234", foreignhash.PBKDF2},
	{"scrypt", "passlib scrypt documentation", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", "password", foreignhash.Scrypt},
	{"argon2i", "argon2 reference README (phc-winner-argon2)", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "password", foreignhash.Argon2},
}

func TestVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			h, err := foreignhash.Parse(v.stored)
			require.NoError(t, err, v.source)
			assert.Equal(t, v.scheme, h.Scheme())
			assert.True(t, h.Verify(v.password), "the right password (%s)", v.source)
			assert.False(t, h.Verify(v.password+"x"), "a wrong one")
			assert.False(t, h.Verify(""), "none")
			assert.False(t, h.Weak())
			assert.True(t, foreignhash.Is(v.stored))
		})
	}
}

// Firebase's own example (github.com/firebase/scrypt README): the
// project's parameters, the exported salt and hash of "user1password".
func TestFirebase(t *testing.T) {
	t.Parallel()
	p := foreignhash.FirebaseParams{
		SignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		SaltSeparator: "Bw==", Rounds: 8, MemCost: 14,
	}
	stored, err := foreignhash.Firebase(p, "42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
	require.NoError(t, err)
	h, err := foreignhash.Parse(stored)
	require.NoError(t, err)
	assert.Equal(t, foreignhash.FirebaseScrypt, h.Scheme())
	assert.True(t, h.Verify("user1password"))
	assert.False(t, h.Verify("user2password"))
	_, err = foreignhash.Firebase(foreignhash.FirebaseParams{SignerKey: "!", SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}, "42xEC+ixf3L2lw==", "AAAA")
	assert.Error(t, err)
	_, err = foreignhash.Firebase(foreignhash.FirebaseParams{SignerKey: p.SignerKey, SaltSeparator: "Bw==", Rounds: 8, MemCost: 30}, "42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
	assert.ErrorContains(t, err, "too large", "a hostile memory cost is refused at import")
}

// Keycloak stores PBKDF2 credentials as secretData {"value", "salt"} and
// credentialData {"hashIterations", "algorithm"}; the vector is RFC 6070's
// (password, salt, 4096 rounds, SHA-1, 20 bytes) in that shape.
func TestKeycloak(t *testing.T) {
	t.Parallel()
	stored, err := foreignhash.Keycloak("pbkdf2", 4096, "c2FsdA==", "SwB5AbdlSJq+rUnZJvch0GWkKcE=")
	require.NoError(t, err)
	h, err := foreignhash.Parse(stored)
	require.NoError(t, err)
	assert.True(t, h.Verify("password"))
	assert.False(t, h.Verify("Password"))
	for _, c := range []struct{ alg, salt, value string }{
		{"md5", "c2FsdA==", "SwB5AbdlSJq+rUnZJvch0GWkKcE="},
		{"pbkdf2", "!!", "SwB5AbdlSJq+rUnZJvch0GWkKcE="},
		{"pbkdf2-sha256", "c2FsdA==", "c2hvcnQ="},
	} {
		_, err := foreignhash.Keycloak(c.alg, 27500, c.salt, c.value)
		assert.Error(t, err, c.alg)
	}
}

func TestSaltedSHA2(t *testing.T) {
	t.Parallel()
	// sha256("salt" ‖ "password") and sha256("password" ‖ "salt"),
	// computed with coreutils sha256sum.
	for _, c := range []struct {
		first bool
		hex   string
	}{
		{true, "13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322"},
		{false, "7a37b85c8918eac19a9089c0fa5a2ab4dce3f90528dcdeec108b23ddf3607b99"},
	} {
		stored, err := foreignhash.SaltedSHA2("sha256", []byte("salt"), unhex(t, c.hex), c.first)
		require.NoError(t, err)
		h, err := foreignhash.Parse(stored)
		require.NoError(t, err)
		assert.True(t, h.Verify("password"), stored)
		assert.False(t, h.Verify("passwore"))
		assert.True(t, h.Weak(), "flagged weak")
	}
	_, err := foreignhash.SaltedSHA2("sha256", []byte("salt"), []byte("short"), true)
	assert.Error(t, err)
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]string{
		"bcrypt cost 31":      "$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"bcrypt short":        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
		"bcrypt alphabet":     "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!",
		"django rounds":       "pbkdf2_sha256$999999999$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django fields":       "pbkdf2_sha256$10000$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django empty salt":   "pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"passlib not b64":     "$pbkdf2-sha256$29000$Vcq5N2YMwZgzxliLEeKcEw$s0clgmR70WK1yOIMGxi2Lq!fiJ01U5nMhIk3xupdNWM",
		"scrypt memory":       "$scrypt$ln=22,r=64,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"scrypt missing p":    "$scrypt$ln=16,r=8$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"argon2 memory":       "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"argon2 version 16":   "$argon2i$v=16$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"argon2 duplicate m":  "$argon2i$v=19$m=65536,m=8,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"salted wrong length": "$salted-sha256$pos=prefix$c2FsdA$c2hvcnQ",
		"salted position":     "$salted-sha256$pos=middle$c2FsdA$E2Ab2k6njlWge5iGbSvmvgdE44ZvE8AMgRyrYIoo8yI",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := foreignhash.Parse(s)
			require.Error(t, err)
			assert.NotErrorIs(t, err, foreignhash.ErrUnknown, "recognised, then refused")
			assert.NotContains(t, err.Error(), s[len(s)-10:], "the error never quotes the hash")
		})
	}
	for _, s := range []string{"", "plaintext", "$argon3$x", "md5$abc$def", strings.Repeat("$", 9000)} {
		_, err := foreignhash.Parse(s)
		assert.Error(t, err, s)
		assert.False(t, foreignhash.Is(s) && len(s) < 100, s)
	}
}
