package authn

import (
	"context"
	"errors"
	"net/mail"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// maxEmailLen is RFC 5321's limit on a forward path.
const maxEmailLen = 254

// NormalizeEmail returns the canonical form accounts are stored and
// looked up under: trimmed, NFC, lower-cased (providers treat the local
// part case-insensitively in practice, and two accounts differing only in
// case would be a phishing aid), and exactly one bare address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	if s == "" || len(s) > maxEmailLen {
		return "", newErr(CodeInvalidEmail, "enter a valid email address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.IndexByte(s, '@') <= 0 {
		return "", newErr(CodeInvalidEmail, "enter a valid email address")
	}
	return s, nil
}

// lookup normalizes an identifier and finds its account, nil when there
// is none.
func (s *core) lookup(ctx context.Context, identifier string) (string, *User, error) {
	email, err := NormalizeEmail(identifier)
	if err != nil {
		return "", nil, err
	}
	sctx, span := startStep(ctx, spanIdentify)
	u, err := s.userByEmail(sctx, email)
	endStep(span, err)
	if err != nil {
		return "", nil, err
	}
	return email, u, nil
}

// userByEmail returns nil, nil for an unknown address.
func (s *core) userByEmail(ctx context.Context, email string) (*User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}
