package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mkToken(tb testing.TB, s Store, kind authn.TokenKind, userID, flowID, secret string, created time.Time, maxAttempts int) authn.OneTimeToken {
	tb.Helper()
	tok := authn.OneTimeToken{ID: newID(tb), Kind: kind, Hash: hash(secret), UserID: userID, FlowID: flowID,
		CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute), MaxAttempts: maxAttempts}
	require.NoError(tb, s.IssueToken(tb.Context(), tok))
	return tok
}

func testTokens(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "tok@example.com")
	v := mkUser(t, s, "tok-other@example.com")

	t.Run("consume once", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "reset-1", t0, 0)
		_, err := s.ConsumeToken(ctx, authn.TokenMagicLink, tok.Hash, t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "wrong kind")
		got, err := s.ConsumeToken(ctx, authn.TokenPasswordReset, tok.Hash, t0.Add(time.Minute))
		require.NoError(t, err)
		want := tok
		want.UsedAt = t0.Add(time.Minute)
		assert.Equal(t, want, got)
		_, err = s.ConsumeToken(ctx, authn.TokenPasswordReset, tok.Hash, t0.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "second use")
	})
	t.Run("live token is a peek", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "reset-peek", t0, 0)
		_, err := s.LiveToken(ctx, authn.TokenMagicLink, tok.Hash, t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "wrong kind")
		_, err = s.LiveToken(ctx, authn.TokenPasswordReset, tok.Hash, tok.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "expired")
		for range 2 {
			got, err := s.LiveToken(ctx, authn.TokenPasswordReset, tok.Hash, t0)
			require.NoError(t, err)
			assert.Equal(t, tok, got, "peeking does not consume")
		}
		_, err = s.ConsumeToken(ctx, authn.TokenPasswordReset, tok.Hash, t0)
		require.NoError(t, err)
		_, err = s.LiveToken(ctx, authn.TokenPasswordReset, tok.Hash, t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "used")
	})
	t.Run("expiry", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenEmailVerification, u.ID, "", "verify-1", t0, 0)
		_, err := s.ConsumeToken(ctx, authn.TokenEmailVerification, tok.Hash, tok.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid)
		got, err := s.ConsumeToken(ctx, authn.TokenEmailVerification, tok.Hash, tok.ExpiresAt.Add(-time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
	})
	t.Run("a new token invalidates the old", func(t *testing.T) {
		old := mkToken(t, s, authn.TokenMagicLink, u.ID, "", "magic-old", t0, 0)
		otherKind := mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "reset-kept", t0, 0)
		otherUser := mkToken(t, s, authn.TokenMagicLink, v.ID, "", "magic-v", t0, 0)
		fresh := mkToken(t, s, authn.TokenMagicLink, u.ID, "", "magic-new", t0.Add(time.Minute), 0)
		_, err := s.ConsumeToken(ctx, authn.TokenMagicLink, old.Hash, t0.Add(2*time.Minute))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid)
		for _, tok := range []authn.OneTimeToken{fresh, otherKind, otherUser} {
			_, err := s.ConsumeToken(ctx, tok.Kind, tok.Hash, t0.Add(2*time.Minute))
			assert.NoError(t, err, tok.Kind)
		}
	})
	t.Run("concurrent consumers, one winner", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenMagicLink, v.ID, "", "magic-race", t0, 0)
		wins := race(t, concurrency, authn.ErrTokenInvalid, func(int) error {
			_, err := s.ConsumeToken(ctx, authn.TokenMagicLink, tok.Hash, t0)
			return err
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("verify code", func(t *testing.T) {
		const flow = "flow-code-1"
		tok := mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "123456", t0, 3)
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, "another-flow", hash("123456"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "bound to its flow")
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("000000"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "wrong code 1")
		got, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("123456"), t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
		assert.Equal(t, 1, got.Attempts)
		assert.Equal(t, t0.Add(time.Second), got.UsedAt)
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("123456"), t0.Add(time.Second))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "used")
	})
	t.Run("verify code attempt limit", func(t *testing.T) {
		const flow = "flow-code-2"
		mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "654321", t0, 3)
		for i, want := range []error{authn.ErrTokenInvalid, authn.ErrTokenInvalid, authn.ErrTooManyAttempts} {
			_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash(fmt.Sprint(i)), t0)
			assert.ErrorIs(t, err, want, "wrong guess %d", i+1)
		}
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("654321"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "right code after the limit")
	})
	t.Run("verify code expiry and reissue", func(t *testing.T) {
		const flow = "flow-code-3"
		first := mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "111111", t0, 5)
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("111111"), first.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "expired")
		mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "222222", t0.Add(time.Minute), 5)
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("111111"), t0.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "superseded")
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("222222"), t0.Add(time.Minute))
		assert.NoError(t, err)
	})
	t.Run("verify code, concurrent right guesses, one winner", func(t *testing.T) {
		const flow = "flow-code-race"
		mkToken(t, s, authn.TokenEmailCode, v.ID, flow, "424242", t0, 5)
		wins := race(t, concurrency, authn.ErrTokenInvalid, func(int) error {
			_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("424242"), t0)
			return err
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("verify code, concurrent wrong guesses, limit holds", func(t *testing.T) {
		const flow = "flow-code-guess"
		mkToken(t, s, authn.TokenEmailCode, v.ID, flow, "999999", t0, 5)
		var tooMany atomic.Int64
		wins := race(t, concurrency, authn.ErrTokenInvalid, func(i int) error {
			_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash(fmt.Sprint(i)), t0)
			if errors.Is(err, authn.ErrTooManyAttempts) {
				tooMany.Add(1)
				return authn.ErrTokenInvalid
			}
			return err
		})
		assert.Zero(t, wins)
		assert.Equal(t, int64(1), tooMany.Load(), "exactly the fifth wrong guess kills the code")
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("999999"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid)
	})
	t.Run("count since", func(t *testing.T) {
		w := mkUser(t, s, "throttle@example.com")
		for i := range 4 {
			mkToken(t, s, authn.TokenPasswordReset, w.ID, "", fmt.Sprint("r", i), t0.Add(time.Duration(i)*time.Minute), 0)
		}
		mkToken(t, s, authn.TokenMagicLink, w.ID, "", "m", t0, 0)
		n, err := s.CountTokensSince(ctx, w.ID, authn.TokenPasswordReset, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 3, n, "superseded tokens still count")
	})
}
