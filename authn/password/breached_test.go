package password_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/signals/breached"
)

// TestBreachedAdapter wires the real embedded breach list the way cmd does
// (see BreachCheckerFunc): this external test package may import
// signals/breached without pulling it into the password package itself.
func TestBreachedAdapter(t *testing.T) {
	t.Parallel()
	list := breached.NewEmbedded(breached.EmbeddedOptions{})
	c, err := password.NewChecker(password.Policy{MinLength: 8},
		password.BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
			r, err := list.Check(ctx, pw)
			return r.Breached, err
		}))
	require.NoError(t, err)

	tests := []struct {
		pw   string
		want error
	}{
		{pw: "password1", want: password.ErrBreached},
		{pw: "iloveyou", want: password.ErrBreached},
		// A keyboard row: the pattern rule refuses it before the corpus
		// is asked.
		{pw: "Qwertyuiop", want: password.ErrRepetitive},
		{pw: "quokka-ferry-lantern-87"},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			t.Parallel()
			err := c.Check(context.Background(), tt.pw, password.PolicyInput{})
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}
