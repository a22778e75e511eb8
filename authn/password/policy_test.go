package password

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeBreached reports the listed passwords as breached and records what
// it was asked.
type fakeBreached struct {
	list  map[string]bool
	err   error
	asked []string
}

func (f *fakeBreached) Breached(_ context.Context, pw string) (bool, error) {
	f.asked = append(f.asked, pw)
	return f.list[pw], f.err
}

func TestNewChecker(t *testing.T) {
	t.Parallel()
	ok := &fakeBreached{}
	tests := []struct {
		name    string
		policy  Policy
		bc      BreachChecker
		want    Policy
		errText string
	}{
		{name: "defaults", bc: ok, want: Policy{MinLength: 15, MinLengthWithMFA: 8, MaxLength: 256}},
		{name: "custom", bc: ok, policy: Policy{MinLength: 20, MinLengthWithMFA: 10, MaxLength: 64, ServiceName: "Acme"},
			want: Policy{MinLength: 20, MinLengthWithMFA: 10, MaxLength: 64, ServiceName: "Acme"}},
		{name: "mfa below 8", bc: ok, policy: Policy{MinLengthWithMFA: 6}, errText: "min length with MFA 6 below 8"},
		{name: "single factor below mfa", bc: ok, policy: Policy{MinLength: 9, MinLengthWithMFA: 12}, errText: "min length 9 below min length with MFA 12"},
		{name: "max below 64", bc: ok, policy: Policy{MaxLength: 63}, errText: "max length 63 below 64"},
		{name: "max below min", bc: ok, policy: Policy{MinLength: 100, MaxLength: 64}, errText: "max length 64 below min length 100"},
		{name: "nil breach checker", errText: "nil breach checker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewChecker(tt.policy, tt.bc)
			if tt.errText != "" {
				require.ErrorContains(t, err, tt.errText)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Policy())
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	const long15 = "fifteen chars!!"
	tests := []struct {
		name      string
		pw        string
		in        PolicyInput
		breached  []string
		want      error
		wantLimit int
	}{
		{name: "15 code points single factor", pw: long15},
		{name: "14 code points single factor", pw: long15[:14], want: ErrTooShort, wantLimit: 15},
		{name: "8 with MFA", pw: "8 chars!", in: PolicyInput{HasMFA: true}},
		{name: "7 with MFA", pw: "7 chars", in: PolicyInput{HasMFA: true}, want: ErrTooShort, wantLimit: 8},
		{name: "no composition rules", pw: "all lower case words only"},
		{name: "spaces allowed and counted", pw: "  spaced   out  "},
		{name: "unicode counted in code points", pw: "жизнь прекрасна"},
		{name: "emoji", pw: "🔑🐙🌵🚲🎻🧀🌋🦉📎🍄🛶🧭🪁🥨🦔"},
		{name: "emoji zwj sequence (Cf allowed)", pw: "👩\u200d💻👨\u200d🚒🧑\u200d🌾👩\u200d🔬🧑\u200d🍳"},
		{name: "nfd counted after nfc", pw: strings.Repeat("e\u0301", 6) + "xyzqrwpv", want: ErrTooShort, wantLimit: 15},
		{name: "256 code points", pw: varied(256)},
		{name: "257 code points rejected not truncated", pw: varied(257), want: ErrTooLong, wantLimit: 256},
		{name: "257 nfd composing to 256 ok", pw: varied(255) + "e\u0301"},
		{name: "megabyte", pw: strings.Repeat("x", 1<<20), want: ErrTooLong, wantLimit: 256},
		{name: "NUL", pw: long15 + "\x00", want: ErrInvalidChars},
		{name: "newline", pw: long15 + "\n", want: ErrInvalidChars},
		{name: "tab", pw: "tab\tseparated words", want: ErrInvalidChars},
		{name: "DEL", pw: long15 + "\x7f", want: ErrInvalidChars},
		{name: "C1 control", pw: long15 + "\u0085", want: ErrInvalidChars},
		{name: "invalid utf8", pw: long15 + "\xff", want: ErrInvalidChars},
		{name: "email", pw: "Alice.Liddell@Example.com", in: PolicyInput{Email: "alice.liddell@example.com"}, want: ErrContext},
		{name: "email local part", pw: "ALICE.LIDDELL.1865", in: PolicyInput{Email: "alice.liddell.1865@example.com"}, want: ErrContext},
		{name: "email local part without tag", pw: "wonderland-alice", in: PolicyInput{Email: "wonderland-alice+shop@example.com"}, want: ErrContext},
		{name: "service name", pw: "riskauth-service", in: PolicyInput{HasMFA: true}, want: ErrContext},
		{name: "breached", pw: "password12345678", breached: []string{"password12345678"}, want: ErrBreached},
		{name: "breached raw form of nfd input", pw: "cafe\u0301 cre\u0300me bru\u0302le\u0301e", breached: []string{"cafe\u0301 cre\u0300me bru\u0302le\u0301e"}, want: ErrBreached},
		{name: "breached nfc form of nfd input", pw: "cafe\u0301 cre\u0300me bru\u0302le\u0301e", breached: []string{"caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"}, want: ErrBreached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bc := &fakeBreached{list: map[string]bool{}}
			for _, b := range tt.breached {
				bc.list[b] = true
			}
			c, err := NewChecker(Policy{ServiceName: "RiskAuth-Service"}, bc)
			require.NoError(t, err)
			err = c.Check(context.Background(), tt.pw, tt.in)
			if tt.want == nil {
				require.NoError(t, err)
				require.NotEmpty(t, bc.asked, "accepted passwords were breach-checked")
				return
			}
			require.ErrorIs(t, err, tt.want)
			var pe *PolicyError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tt.wantLimit, pe.Limit)
			require.NotContains(t, err.Error(), tt.pw, "errors never echo the password")
			if !errors.Is(err, ErrBreached) {
				require.Empty(t, bc.asked, "rejected by a cheap rule before the breach check")
			}
		})
	}
}

func TestCheckBreachCheckerFails(t *testing.T) {
	t.Parallel()
	cause := errors.New("range API unreachable")
	c, err := NewChecker(Policy{}, &fakeBreached{err: cause})
	require.NoError(t, err)
	err = c.Check(context.Background(), "a perfectly fine passphrase", PolicyInput{})
	require.ErrorIs(t, err, ErrBreachCheck)
	require.ErrorIs(t, err, cause)
	var pe *PolicyError
	require.False(t, errors.As(err, &pe), "an unavailable checker is not a rejection")
}

func TestPolicyErrorCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *PolicyError
		code string
		text string
	}{
		{err: &PolicyError{Code: CodeTooShort, Limit: 15}, code: "password_too_short", text: "at least 15"},
		{err: &PolicyError{Code: CodeTooLong, Limit: 256}, code: "password_too_long", text: "at most 256"},
		{err: ErrBreached, code: "password_breached", text: "breach"},
		{err: ErrContext, code: "password_context", text: "email"},
		{err: ErrInvalidChars, code: "password_invalid_chars", text: "invalid characters"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.code, string(tt.err.Code))
			require.Contains(t, tt.err.Error(), tt.text)
			require.ErrorIs(t, tt.err, &PolicyError{Code: tt.err.Code})
		})
	}
	require.NotErrorIs(t, ErrTooShort, ErrTooLong)
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "fifteen chars!!", "e\u0301\u0301\u0301", "\x00", "\xff", "👩\u200d💻", "ᾏ"} {
		f.Add(s, "alice@example.com", false)
	}
	c, err := NewChecker(Policy{ServiceName: "riskauth"}, BreachCheckerFunc(func(context.Context, string) (bool, error) { return false, nil }))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, pw, email string, mfa bool) {
		err := c.Check(context.Background(), pw, PolicyInput{Email: email, HasMFA: mfa})
		if err == nil {
			// Whatever is accepted is valid, control-free and within the
			// bounds after normalisation.
			n := []rune(Normalize(pw))
			require.GreaterOrEqual(t, len(n), DefaultMinLengthWithMFA)
			require.LessOrEqual(t, len(n), DefaultMaxLength)
			return
		}
		var pe *PolicyError
		require.ErrorAs(t, err, &pe)
	})
}

// varied returns n code points without repetition or runs: letters picked
// by a fixed linear congruential sequence, so the case is reproducible.
func varied(n int) string {
	const letters = "qzjxkvbpgwyfmculdrhsnioate"
	var b strings.Builder
	x := uint32(7)
	for range n {
		x = x*1103515245 + 12345
		b.WriteByte(letters[(x>>16)%uint32(len(letters))])
	}
	return b.String()
}

// TestCheckGuessablePatterns: repetitive or sequential passwords and
// passwords built from the service name, the address or the user's name
// are refused (NIST SP 800-63B: repetitive or sequential characters,
// context-specific words), matched as substrings after case folding,
// NFKC and light leetspeak, not only as the whole password.
func TestCheckGuessablePatterns(t *testing.T) {
	t.Parallel()
	alice := PolicyInput{Email: "alice.liddell@wonderland.example"}
	bob := PolicyInput{Email: "longlocalpart-xyz@example.com", Names: []string{"Robert Tables"}}
	tests := []struct {
		name string
		pw   string
		in   PolicyInput
		want error
		// rule is a phrase the message must contain: it says which rule.
		rule string
	}{
		{name: "one character repeated", pw: "aaaaaaaaaaaaaaa", want: ErrRepetitive, rule: "repeated or sequential"},
		{name: "digits in sequence, wrapping", pw: "123456789012345", want: ErrRepetitive, rule: "repeated or sequential"},
		{name: "sixteen digits in sequence", pw: "1234567890123456", want: ErrRepetitive, rule: "repeated or sequential"},
		{name: "alphabet backwards", pw: "zyxwvutsrqponmlk", want: ErrRepetitive},
		{name: "keyboard row", pw: "qwertyuiopasdfgh", want: ErrRepetitive},
		{name: "short unit repeated", pw: "abcabcabcabcabcabc", want: ErrRepetitive},
		{name: "word repeated", pw: "hello hello hello", want: ErrRepetitive},
		{name: "blocks of repeats", pw: "aaaaabbbbbccccc", want: ErrRepetitive},
		{name: "spaces only", pw: "                ", want: ErrRepetitive},
		{name: "run then padding", pw: "zzzzzzzzzz12345", want: ErrRepetitive},
		{name: "service name plus digits", pw: "RiskAuth-Service2024", want: ErrContext, rule: "service name"},
		{name: "service name word plus digits", pw: "riskauth1234567890", want: ErrContext, rule: "service name"},
		{name: "service name in leetspeak", pw: "r1sk4uth is my favourite", want: ErrContext, rule: "service name"},
		{name: "service name in full width (NFKC)", pw: "ｒｉｓｋａｕｔｈ at the castle", want: ErrContext, rule: "service name"},
		{name: "local part plus a character", pw: "longlocalpart-xyz!", in: bob, want: ErrContext, rule: "email address"},
		{name: "local part inside", pw: "my name is LongLocalPart, hi", in: bob, want: ErrContext, rule: "email address"},
		{name: "local part token", pw: "through the looking glass, liddell", in: alice, want: ErrContext, rule: "email address"},
		{name: "whole address plus one", pw: "alice.liddell@wonderland.example!", in: alice, want: ErrContext, rule: "email address"},
		{name: "domain label", pw: "welcome to wonderland 1865", in: alice, want: ErrContext, rule: "domain"},
		{name: "the user's name", pw: "little bobby TABLES 1", in: bob, want: ErrContext, rule: "name"},
		{name: "a good passphrase", pw: "correct horse battery staple", in: alice},
		{name: "a good passphrase for bob", pw: "violet tractor umbrella 42", in: bob},
		{name: "short words are not context", pw: "alice in a world of ice", in: PolicyInput{Email: "ice@example.com"}},
		{name: "digits inside words are fine", pw: "4 seasons, 7 seas & 3 wishes", in: alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bc := &fakeBreached{list: map[string]bool{}}
			c, err := NewChecker(Policy{ServiceName: "RiskAuth-Service"}, bc)
			require.NoError(t, err)
			err = c.Check(context.Background(), tt.pw, tt.in)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.NotContains(t, strings.ToLower(err.Error()), strings.ToLower(tt.pw), "errors never echo the password")
			if tt.rule != "" {
				require.Contains(t, err.Error(), tt.rule, "the message says which rule failed")
			}
			require.Empty(t, bc.asked, "rejected before the breach check")
		})
	}
}
