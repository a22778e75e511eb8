package passkey_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
)

const origin = "https://login.example.com"

var t0 = time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)

func newCeremonies(t *testing.T) *passkey.Ceremonies {
	t.Helper()
	c, err := passkey.New(passkey.Config{RPID: "example.com", RPName: "Example", Origins: []string{origin}})
	require.NoError(t, err)
	return c
}

// register runs a registration of a fresh account with a, returning the
// account with its new passkey.
func register(t *testing.T, c *passkey.Ceremonies, a *passkeytest.Authenticator) passkey.User {
	t.Helper()
	u := passkey.User{Handle: []byte("handle-0123456789"), Name: "ada@example.com"}
	opts, st, err := c.BeginRegistration(u, t0)
	require.NoError(t, err)
	resp, err := a.Create(opts)
	require.NoError(t, err)
	cred, err := c.FinishRegistration(u, st, resp, t0.Add(time.Second))
	require.NoError(t, err)
	u.Credentials = append(u.Credentials, cred)
	return u
}

func lookupOf(u passkey.User) passkey.Lookup {
	return func(id, handle []byte) (passkey.User, error) {
		for _, c := range u.Credentials {
			if string(c.ID) == string(id) {
				return u, nil
			}
		}
		return passkey.User{}, passkey.ErrUnknownCredential
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]passkey.Config{
		"no rp id":     {Origins: []string{origin}},
		"bad rp id":    {RPID: "https://example.com", Origins: []string{origin}},
		"no origin":    {RPID: "example.com"},
		"origin path":  {RPID: "example.com", Origins: []string{origin + "/login"}},
		"long ttl":     {RPID: "example.com", Origins: []string{origin}, ChallengeTTL: time.Hour},
		"negative ttl": {RPID: "example.com", Origins: []string{origin}, ChallengeTTL: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, cfg.Validate())
		})
	}
	require.NoError(t, passkey.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}.Validate())
}

func TestRegisterAndSignIn(t *testing.T) {
	t.Parallel()
	for _, synced := range []bool{false, true} {
		t.Run(map[bool]string{false: "device-bound", true: "synced"}[synced], func(t *testing.T) {
			t.Parallel()
			c := newCeremonies(t)
			a := passkeytest.New(origin)
			a.Synced = synced
			u := register(t, c, a)
			cred := u.Credentials[0]
			assert.Equal(t, synced, cred.BackupEligible)
			assert.Equal(t, synced, cred.BackupState)
			assert.Equal(t, []string{"internal"}, cred.Transports)

			// Discoverable: the assertion names the account.
			opts, st, err := c.BeginLogin(nil, passkey.MediationConditional, t0)
			require.NoError(t, err)
			assert.Contains(t, string(opts), `"mediation":"conditional"`)
			assert.Contains(t, string(opts), `"userVerification":"required"`)
			resp, err := a.Get(opts)
			require.NoError(t, err)
			as, err := c.FinishLogin(st, resp, t0.Add(time.Second), lookupOf(u))
			require.NoError(t, err)
			assert.Equal(t, u.Handle, as.UserHandle)
			assert.True(t, as.UserVerified)
			assert.False(t, as.SignCountRegressed)
			assert.Equal(t, synced, as.Credential.BackupState)
			if !synced {
				assert.Equal(t, uint32(2), as.Credential.SignCount)
			}

			// Step-up: only the account's passkeys are allowed.
			u.Credentials[0] = as.Credential
			opts, st, err = c.BeginLogin(&u, passkey.MediationModal, t0)
			require.NoError(t, err)
			assert.Contains(t, string(opts), "allowCredentials")
			resp, err = a.Get(opts)
			require.NoError(t, err)
			_, err = c.FinishLogin(st, resp, t0.Add(time.Second), lookupOf(u))
			require.NoError(t, err)
		})
	}
}

// TestFailures is every way a response must be refused by the ceremony
// itself (replay across ceremonies and expiry included; the single use of
// one ceremony's state is the store's, tested in authn).
func TestFailures(t *testing.T) {
	t.Parallel()
	c := newCeremonies(t)
	honest := passkeytest.New(origin)
	u := register(t, c, honest)

	cases := []struct {
		name string
		// answer answers the new ceremony's options; the default is
		// honest's answer.
		answer func(t *testing.T, opts []byte) []byte
		at     time.Time
		want   error
	}{
		{name: "wrong origin", answer: func(t *testing.T, opts []byte) []byte {
			honest.Origin = "https://evil.example.net"
			defer func() { honest.Origin = origin }()
			r, err := honest.Get(opts)
			require.NoError(t, err)
			return r
		}, want: passkey.ErrInvalid},
		{name: "wrong rp id", answer: func(t *testing.T, opts []byte) []byte {
			honest.RPID = "evil.example.net"
			defer func() { honest.RPID = "" }()
			r, err := honest.Get(opts)
			require.NoError(t, err)
			return r
		}, want: passkey.ErrInvalid},
		{name: "no user verification", answer: func(t *testing.T, opts []byte) []byte {
			honest.NoUV = true
			defer func() { honest.NoUV = false }()
			r, err := honest.Get(opts)
			require.NoError(t, err)
			return r
		}, want: passkey.ErrInvalid},
		{name: "replayed challenge", answer: func(t *testing.T, _ []byte) []byte {
			// An assertion made for an earlier ceremony, presented to a
			// new one: its signed challenge is not this ceremony's.
			old, _, err := c.BeginLogin(nil, passkey.MediationModal, t0)
			require.NoError(t, err)
			r, err := honest.Get(old)
			require.NoError(t, err)
			return r
		}, want: passkey.ErrInvalid},
		{name: "expired challenge", at: t0.Add(c.TTL()), want: passkey.ErrExpired},
		{name: "forged signature", answer: func(t *testing.T, opts []byte) []byte {
			other := passkeytest.New(origin)
			register(t, c, other)
			// other's key, honest's credential id and handle.
			cr := other.Credentials()[0]
			cr.ID, cr.UserHandle = honest.Credentials()[0].ID, honest.Credentials()[0].UserHandle
			r, err := other.Get(opts)
			require.NoError(t, err)
			return r
		}, want: passkey.ErrInvalid},
		{name: "unknown credential", answer: func(t *testing.T, opts []byte) []byte {
			stranger := passkeytest.New(origin)
			register(t, c, stranger)
			r, err := stranger.Get(opts)
			require.NoError(t, err)
			return r
		}, want: passkey.ErrUnknownCredential},
		{name: "garbage", answer: func(*testing.T, []byte) []byte { return []byte(`{"id":"x"}`) }, want: passkey.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts, st, err := c.BeginLogin(nil, passkey.MediationModal, t0)
			require.NoError(t, err)
			var resp []byte
			if tc.answer != nil {
				resp = tc.answer(t, opts)
			} else {
				resp, err = honest.Get(opts)
				require.NoError(t, err)
			}
			at := tc.at
			if at.IsZero() {
				at = t0.Add(time.Second)
			}
			_, err = c.FinishLogin(st, resp, at, lookupOf(u))
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "got %v, want %v", err, tc.want)
		})
	}
}

// TestSignCountRegression: a counter that goes backwards still verifies
// (the signature is right) but is reported, and the stored counter is
// not lowered.
func TestSignCountRegression(t *testing.T) {
	t.Parallel()
	c := newCeremonies(t)
	a := passkeytest.New(origin)
	u := register(t, c, a)
	a.SetCounter(41)
	opts, st, err := c.BeginLogin(nil, passkey.MediationModal, t0)
	require.NoError(t, err)
	resp, err := a.Get(opts)
	require.NoError(t, err)
	as, err := c.FinishLogin(st, resp, t0, lookupOf(u))
	require.NoError(t, err)
	require.False(t, as.SignCountRegressed)
	require.Equal(t, uint32(42), as.Credential.SignCount)
	u.Credentials[0] = as.Credential

	a.SetCounter(9) // a clone that fell behind
	opts, st, err = c.BeginLogin(nil, passkey.MediationModal, t0)
	require.NoError(t, err)
	resp, err = a.Get(opts)
	require.NoError(t, err)
	as, err = c.FinishLogin(st, resp, t0, lookupOf(u))
	require.NoError(t, err)
	assert.True(t, as.SignCountRegressed)
	assert.Equal(t, uint32(42), as.Credential.SignCount, "the stored counter is not lowered")
}

func TestRegistrationFailures(t *testing.T) {
	t.Parallel()
	c := newCeremonies(t)
	u := passkey.User{Handle: []byte("handle-0123456789"), Name: "ada@example.com"}
	for _, tc := range []struct {
		name string
		auth *passkeytest.Authenticator
		at   time.Duration
		want error
	}{
		{"wrong origin", &passkeytest.Authenticator{Origin: "https://evil.example.net"}, 0, passkey.ErrInvalid},
		{"wrong rp id", &passkeytest.Authenticator{Origin: origin, RPID: "evil.example.net"}, 0, passkey.ErrInvalid},
		{"no user verification", &passkeytest.Authenticator{Origin: origin, NoUV: true}, 0, passkey.ErrInvalid},
		{"expired", passkeytest.New(origin), passkey.DefaultChallengeTTL, passkey.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, st, err := c.BeginRegistration(u, t0)
			require.NoError(t, err)
			resp, err := tc.auth.Create(opts)
			require.NoError(t, err)
			_, err = c.FinishRegistration(u, st, resp, t0.Add(tc.at))
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// FuzzFinishLogin feeds arbitrary bytes as the browser's answer: they
// are refused, never accepted and never a panic.
func FuzzFinishLogin(f *testing.F) {
	c, err := passkey.New(passkey.Config{RPID: "example.com", Origins: []string{origin}})
	if err != nil {
		f.Fatal(err)
	}
	a := passkeytest.New(origin)
	u := passkey.User{Handle: []byte("h"), Name: "n"}
	// Seeds are genuine answers to other ceremonies than the ones the
	// fuzzed input is checked against: they must not verify either.
	opts, _, _ := c.BeginRegistration(u, t0)
	resp, _ := a.Create(opts)
	f.Add(resp)
	opts, _, _ = c.BeginLogin(nil, passkey.MediationModal, t0)
	resp, _ = a.Get(opts)
	f.Add(resp)
	_, regSt, _ := c.BeginRegistration(u, t0)
	_, st, _ := c.BeginLogin(nil, passkey.MediationModal, t0)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		lookup := func(id, h []byte) (passkey.User, error) { return u, nil }
		if _, err := c.FinishLogin(st, b, t0, lookup); err == nil {
			t.Fatal("an arbitrary answer verified")
		}
		if _, err := c.FinishRegistration(u, regSt, b, t0); err == nil {
			t.Fatal("an arbitrary registration verified")
		}
	})
}
