package password

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Code is a stable, machine-readable reason a password was refused; the
// HTTP layer returns it as the error code.
type Code string

// Rejection codes.
const (
	CodeTooShort     Code = "password_too_short"
	CodeTooLong      Code = "password_too_long"
	CodeBreached     Code = "password_breached"
	CodeContext      Code = "password_context"
	CodeInvalidChars Code = "password_invalid_chars"
	CodeRepetitive   Code = "password_repetitive"
)

// PolicyError is a password rejected by Checker.Check. Limit carries the
// length bound for CodeTooShort and CodeTooLong (so the client can say "at
// least 15 characters") and is zero otherwise.
type PolicyError struct {
	// Code is the stable reason.
	Code Code
	// Limit is the violated length bound, for the length codes.
	Limit int
	// Word names the kind of context word found, for CodeContext: one of
	// the Word constants. It is never the word itself, and never the
	// password.
	Word Word
}

// Word is a kind of context-specific word a password must not contain.
type Word string

// The kinds of context words, in the order they are checked.
const (
	WordServiceName Word = "service_name"
	WordEmail       Word = "email"
	WordEmailDomain Word = "email_domain"
	WordName        Word = "name"
)

// contextMessages say which rule a password broke, per kind of word.
var contextMessages = map[Word]string{
	WordServiceName: "password must not contain the service name",
	WordEmail:       "password must not contain your email address or a part of its name",
	WordEmailDomain: "password must not contain the domain of your email address",
	WordName:        "password must not contain your name",
}

// Error implements error without echoing the password.
func (e *PolicyError) Error() string {
	switch e.Code {
	case CodeTooShort:
		return fmt.Sprintf("password must be at least %d characters", e.Limit)
	case CodeTooLong:
		return fmt.Sprintf("password must be at most %d characters", e.Limit)
	case CodeBreached:
		return "password appears in a known data breach"
	case CodeContext:
		if m, ok := contextMessages[e.Word]; ok {
			return m
		}
		return "password must not contain the email address, your name or the service name"
	case CodeRepetitive:
		return "password must not be mostly repeated or sequential characters (such as aaaa, 1234 or qwerty)"
	case CodeInvalidChars:
		return "password contains invalid characters"
	}
	return "password rejected: " + string(e.Code)
}

// Is matches any *PolicyError with the same Code, so errors.Is(err,
// ErrTooShort) works whatever the Limit.
func (e *PolicyError) Is(target error) bool {
	t, ok := target.(*PolicyError)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is; Check returns *PolicyError values with these
// codes.
var (
	ErrTooShort     = &PolicyError{Code: CodeTooShort}
	ErrTooLong      = &PolicyError{Code: CodeTooLong}
	ErrBreached     = &PolicyError{Code: CodeBreached}
	ErrContext      = &PolicyError{Code: CodeContext}
	ErrInvalidChars = &PolicyError{Code: CodeInvalidChars}
	ErrRepetitive   = &PolicyError{Code: CodeRepetitive}
)

// ErrBreachCheck wraps a failure of the BreachChecker. It is not a
// rejection: the password may be fine. Check fails closed (the caller sees
// an error, not success); a flow that prefers to fail open can branch on
// it.
var ErrBreachCheck = errors.New("breached-password check failed")

// BreachChecker tells whether a password is known from a breach corpus.
// signals/breached implements the richer breached.Checker; adapt it with
// BreachCheckerFunc.
type BreachChecker interface {
	Breached(ctx context.Context, pw string) (bool, error)
}

// BreachCheckerFunc adapts a function to BreachChecker. The wiring in cmd
// adapts signals/breached with:
//
//	password.BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
//		r, err := checker.Check(ctx, pw)
//		return r.Breached, err
//	})
//
// The adapter lives here as a function type rather than an import of
// signals/breached because that package depends on engine and rules (for
// its engine.Signal), which password hashing has no business compiling in.
type BreachCheckerFunc func(ctx context.Context, pw string) (bool, error)

// Breached calls f.
func (f BreachCheckerFunc) Breached(ctx context.Context, pw string) (bool, error) {
	return f(ctx, pw)
}

// Defaults of NIST SP 800-63B rev 4 §3.1.1.2.
const (
	// DefaultMinLength applies when the password may be the only factor
	// (NIST: SHALL be at least 15).
	DefaultMinLength = 15
	// DefaultMinLengthWithMFA applies when the password is used only with
	// a second factor (NIST: SHALL be at least 8).
	DefaultMinLengthWithMFA = 8
	// DefaultMaxLength is the longest accepted password in code points
	// (NIST: SHOULD permit at least 64).
	DefaultMaxLength = 256
	// minMaxLength is the floor for a configured MaxLength.
	minMaxLength = 64
)

// Policy is the configuration of a Checker, all lengths in Unicode code
// points after NFC normalisation. Zero fields take the defaults.
type Policy struct {
	// MinLength applies when the password may be the only factor.
	MinLength int
	// MinLengthWithMFA applies when the account has a second factor.
	MinLengthWithMFA int
	// MaxLength is the longest accepted password; longer ones are
	// rejected, never truncated. At least 64.
	MaxLength int
	// ServiceName is a context word the password must not contain (nor
	// any of its words of four letters or more).
	ServiceName string
}

// PolicyInput is what Check needs to know about the account.
type PolicyInput struct {
	// Email is the account's address; the password must not contain it,
	// its local part (or a word of it) or its domain's labels.
	Email string
	// Names are the user's names when known (display name, given and
	// family name); the password must not contain any of their words.
	Names []string
	// HasMFA is true when the password is never the only factor, which
	// allows the shorter MinLengthWithMFA.
	HasMFA bool
}

// Checker enforces a Policy. It is safe for concurrent use.
type Checker struct {
	policy   Policy
	breached BreachChecker
}

// NewChecker validates p and returns a Checker that asks breached about
// every password that passes the other rules. breached is required: NIST
// makes the blocklist check a SHALL.
func NewChecker(p Policy, breached BreachChecker) (*Checker, error) {
	if p.MinLength == 0 {
		p.MinLength = DefaultMinLength
	}
	if p.MinLengthWithMFA == 0 {
		p.MinLengthWithMFA = DefaultMinLengthWithMFA
	}
	if p.MaxLength == 0 {
		p.MaxLength = DefaultMaxLength
	}
	switch {
	case p.MinLengthWithMFA < DefaultMinLengthWithMFA:
		return nil, fmt.Errorf("password policy: min length with MFA %d below %d", p.MinLengthWithMFA, DefaultMinLengthWithMFA)
	case p.MinLength < p.MinLengthWithMFA:
		return nil, fmt.Errorf("password policy: min length %d below min length with MFA %d", p.MinLength, p.MinLengthWithMFA)
	case p.MaxLength < minMaxLength:
		return nil, fmt.Errorf("password policy: max length %d below %d", p.MaxLength, minMaxLength)
	case p.MaxLength < p.MinLength:
		return nil, fmt.Errorf("password policy: max length %d below min length %d", p.MaxLength, p.MinLength)
	case breached == nil:
		return nil, errors.New("password policy: nil breach checker")
	}
	return &Checker{policy: p, breached: breached}, nil
}

// Policy returns the effective policy, defaults filled in.
func (c *Checker) Policy() Policy { return c.policy }

// Check returns nil when pw may be set as in's password, a *PolicyError
// when it may not, or an error wrapping ErrBreachCheck when the breach
// check could not answer. Cheap rules run first and the breach check last,
// so a password that is too short never leaves the process. Context
// words and repetitive or sequential characters are refused as well
// (guessable.go). There are no composition rules ("one digit, one
// symbol"): NIST forbids them.
func (c *Checker) Check(ctx context.Context, pw string, in PolicyInput) error {
	// Any input longer than this in bytes is certainly over MaxLength
	// after NFC (composition merges at most four code points into one,
	// e.g. U+1F8F, each at most four bytes), so huge inputs are refused
	// before they are normalised.
	if len(pw) > 16*c.policy.MaxLength {
		return &PolicyError{Code: CodeTooLong, Limit: c.policy.MaxLength}
	}
	if !utf8.ValidString(pw) {
		return &PolicyError{Code: CodeInvalidChars}
	}
	for _, r := range pw {
		if unicode.IsControl(r) {
			return &PolicyError{Code: CodeInvalidChars}
		}
	}
	n := Normalize(pw)
	length := utf8.RuneCountInString(n)
	if length > c.policy.MaxLength {
		return &PolicyError{Code: CodeTooLong, Limit: c.policy.MaxLength}
	}
	minLen := c.policy.MinLength
	if in.HasMFA {
		minLen = c.policy.MinLengthWithMFA
	}
	if length < minLen {
		return &PolicyError{Code: CodeTooShort, Limit: minLen}
	}
	if w, ok := contextWord(n, c.policy.ServiceName, in); ok {
		return &PolicyError{Code: CodeContext, Word: w}
	}
	if repetitive(n, minLen) {
		return &PolicyError{Code: CodeRepetitive}
	}
	// Breach corpora hash the bytes as typed (Have I Been Pwned
	// semantics), so a password whose NFC form differs is checked both
	// ways.
	candidates := []string{n}
	if n != pw {
		candidates = append(candidates, pw)
	}
	for _, cand := range candidates {
		breached, err := c.breached.Breached(ctx, cand)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBreachCheck, err)
		}
		if breached {
			return &PolicyError{Code: CodeBreached}
		}
	}
	return nil
}
