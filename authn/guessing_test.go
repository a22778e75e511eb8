package authn_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
)

// rotating is the n-th address of an attacker who never uses one twice
// and sends no device description, so no per-source delay ever applies.
func rotating(n int) authn.Client {
	return authn.Client{IP: netip.MustParseAddr(fmt.Sprintf("198.18.%d.%d", n/250, 1+n%250)), UserAgent: browserUA}
}

// guess is one one-shot sign-in attempt and what it told the attacker.
type guess struct {
	res   *authn.LoginResult
	err   error
	calls map[string]int
	hashN uint64
}

func (f *fixture) guess(t *testing.T, email, pw string, c authn.Client) guess {
	t.Helper()
	f.calls.Reset()
	h := f.hashes(t)
	res, err := f.svc.Login(t.Context(), authn.LoginRequest{Identifier: email, Password: pw, Client: c})
	return guess{res: res, err: err, calls: f.calls.Calls(), hashN: f.hashes(t) - h}
}

// informative reports whether an answer tells a wrong password from a
// right one: a plain refusal is only ever given to a wrong one.
func (g guess) informative() bool { return authn.CodeOf(g.err) == authn.CodeLoginFailed }

// TestGuessingPastThreshold: an account under a distributed guessing
// attack (200 wrong passwords from 200 addresses) answers the right
// password exactly as a wrong one: the same status and methods, the same
// store work and argon2id cost, no mail for either; the flow begun with
// the wrong one can never complete, and the owner still signs in with
// the code mailed to them.
func TestGuessingPastThreshold(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "sam@example.com"
	f.register(t, email)
	f.login(t, email, home) // the owner's device is known
	threshold := authn.DefaultConfig().Lockout.AccountStepUpAfter
	for i := range 200 {
		f.clock.Advance(3 * time.Second)
		g := f.guess(t, email, fmt.Sprintf("wrong guess number %d", i), rotating(i))
		if i < threshold {
			requireCode(t, g.err, authn.CodeLoginFailed)
			continue
		}
		require.NoError(t, g.err, "past the threshold a wrong password is held like a right one")
		require.Equal(t, authn.LoginSecondFactor, g.res.Status)
	}
	mailsBefore := len(f.mails(t, email, mail.KindLoginCode))
	wrong := f.guess(t, email, "yet another wrong guess", rotating(201))
	right := f.guess(t, email, goodPassword, rotating(202))

	for _, g := range []guess{wrong, right} {
		require.NoError(t, g.err)
		assert.Equal(t, authn.LoginSecondFactor, g.res.Status)
		assert.Equal(t, []authn.Method{authn.MethodEmailCode}, g.res.Methods)
		assert.Nil(t, g.res.Session)
	}
	assert.Equal(t, wrong.calls, right.calls, "the same store calls")
	assert.Equal(t, uint64(1), wrong.hashN)
	assert.Equal(t, wrong.hashN, right.hashN, "the same argon2id work")

	// The attacker asks for the code in both flows: the same answer, a
	// mail only for the right password (to the owner, who is warned).
	f.calls.Reset()
	wr, err := f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: wrong.res.FlowID, Client: rotating(203)})
	require.NoError(t, err)
	wrongCalls := f.calls.Calls()
	f.calls.Reset()
	rr, err := f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: right.res.FlowID, Client: rotating(204)})
	require.NoError(t, err)
	assert.Equal(t, wrongCalls, f.calls.Calls(), "the same store calls for the code request")
	assert.Equal(t, wr.Status, rr.Status)
	assert.Equal(t, mailsBefore+1, len(f.mails(t, email, mail.KindLoginCode)), "no mail for the wrong password")
	// Even the code the owner received does not open the wrong flow.
	_, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: wrong.res.FlowID, Code: f.lastCode(t, email), Client: rotating(205)})
	requireCode(t, err, authn.CodeInvalidCode)

	// The owner on the known device: a password and the mailed code.
	res := f.login(t, email, home)
	require.Equal(t, authn.LoginSecondFactor, res.Status)
	_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: home})
	require.NoError(t, err)
	done, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, email), Client: home})
	require.NoError(t, err)
	assert.Equal(t, authn.LoginAuthenticated, done.Status)
}

// TestGuessesPerDay measures, on a virtual clock, how many guesses an
// attacker gets whose answer tells a right password from a wrong one:
// Lockout.AccountStepUpAfter (5) per Lockout.AccountWindow (24 h) for an
// account whose owner does not sign in meanwhile, however the guesses are
// paced and from however many addresses. Unknown identifiers behave the
// same, so the switch tells nothing about who has an account.
func TestGuessesPerDay(t *testing.T) {
	t.Parallel()
	const days = 3
	tests := []struct {
		name string
		// when reports whether the attacker guesses at minute m of the run.
		when func(m int) bool
		want int
	}{
		// Every 10 minutes: every guess past the fifth keeps the window
		// full, so the first five are all there ever is.
		{"greedy, every 10 minutes", func(m int) bool { return m%10 == 0 }, 5},
		// Five in a burst each day, when the last burst has aged out.
		{"paced, five a day", func(m int) bool { return m%(24*60+1) < 5 }, 5 * days},
		// Six a day: the sixth guess finds the account held and keeps it
		// held into the next day, so probing past the threshold costs
		// the attacker the following days' guesses.
		{"paced, six a day", func(m int) bool { return m%(24*60+1) < 6 }, 5},
	}
	for _, tc := range tests {
		for _, who := range []string{"known", "unknown"} {
			t.Run(tc.name+", "+who, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, fixtureOpts{})
				email := "tess@example.com"
				if who == "known" {
					f.register(t, email)
				} else {
					email = "nobody-here@example.com"
				}
				informative, n := 0, 0
				for m := range days * 24 * 60 {
					if tc.when(m) {
						if f.guess(t, email, fmt.Sprintf("guess %d is wrong", n), rotating(n)).informative() {
							informative++
						}
						n++
					}
					f.clock.Advance(time.Minute)
				}
				assert.Equal(t, tc.want, informative, "%d guesses in %d days", n, days)
			})
		}
	}
}
