package authn_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
)

// TestMailCapPerAddress: repeated registrations of one address from
// rotating networks used to mail its owner an account_exists notice each
// time (210 of them in the report). Every kind of mail to one address is
// capped per window (EmailSendLimit per EmailSendWindow), counted in the
// store so the cap holds across instances; the caller gets the same
// answer, and the service does the same work, whether the mail went out
// or was held back.
func TestMailCapPerAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "quinn@example.com"
	limit := authn.DefaultConfig().EmailSendLimit
	f.register(t, email)
	other := f.instance(t)

	type result struct {
		res   *authn.RegisterResult
		calls map[string]int
	}
	register := func(svc *service, i int) result {
		t.Helper()
		c := client(fmt.Sprintf("203.0.%d.%d", 100+i/200, 1+i%200), fmt.Sprintf("bot-%d", i))
		f.calls.Reset()
		res, err := svc.Register(ctx, authn.RegisterRequest{Email: email, Password: "some other passphrase", Client: c})
		require.NoError(t, err)
		require.NotEmpty(t, res.Binding)
		res.Binding = "" // random by construction
		return result{res, f.calls.Calls()}
	}
	var first, capped result
	for i := range 210 {
		// Half the requests reach the other instance.
		svc := f.svc
		if i%2 == 1 {
			svc = other
		}
		r := register(svc, i)
		switch i {
		case 0:
			first = r
		case 209:
			capped = r
		}
	}
	require.NoError(t, other.Flush(ctx))
	assert.Equal(t, limit, len(f.mails(t, email, mail.KindAccountExists)), "capped across both instances")
	assert.Equal(t, first.res, capped.res, "the same answer whether mailed or capped")
	assert.Equal(t, first.calls, capped.calls, "the same store work whether mailed or capped")

	t.Run("the window slides", func(t *testing.T) {
		f.clock.Advance(authn.DefaultConfig().EmailSendWindow + time.Second)
		register(f.svc, 1000)
		assert.Equal(t, limit+1, len(f.mails(t, email, mail.KindAccountExists)))
	})
	t.Run("every kind is capped on its own", func(t *testing.T) {
		// The verification mails of a new address are not held back by
		// another kind's cap, and are capped in turn.
		const fresh = "rosa@example.com"
		for i := range 8 {
			c := client(fmt.Sprintf("198.18.0.%d", 1+i), fmt.Sprintf("rosa-%d", i))
			_, err := f.svc.Register(context.Background(), authn.RegisterRequest{Email: fresh, Password: goodPassword, Client: c})
			require.NoError(t, err)
		}
		assert.Equal(t, 1, len(f.mails(t, fresh, mail.KindVerifyEmail)))
		assert.Equal(t, limit, len(f.mails(t, fresh, mail.KindAccountExists)), "7 registrations of a taken address")
	})
}
