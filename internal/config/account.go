package config

import (
	"fmt"
	"strings"

	"github.com/riskauth/riskauth/authn/mail"
)

// MailPathsConfig are the paths, on the public origin, that the links in
// mail point to (authn.mail_paths). The defaults are riskauthd's own
// pages; a deployment whose apps serve their own pages (calling the JSON
// API) points the links there. Security is the account page the security
// notifications send users to: riskauthd's default /account/security is a
// static page of advice, an app's own account page is better.
type MailPathsConfig struct {
	VerifyEmail   string `yaml:"verify_email"`   // default /verify-email (receives ?token=)
	MagicLink     string `yaml:"magic_link"`     // default /login/magic (receives ?token=)
	PasswordReset string `yaml:"password_reset"` // default /password/reset (receives ?token=)
	SignIn        string `yaml:"sign_in"`        // default /login
	Security      string `yaml:"security"`       // default /account/security
	EmailChange   string `yaml:"email_change"`   // default /account/email (receives ?token=)
	DataExport    string `yaml:"data_export"`    // default /account/export (receives ?token=)
}

// Paths returns the renderer's form; empty fields take mail's defaults.
func (m MailPathsConfig) Paths() mail.Paths {
	return mail.Paths{VerifyEmail: m.VerifyEmail, MagicLink: m.MagicLink, PasswordReset: m.PasswordReset,
		SignIn: m.SignIn, Security: m.Security, EmailChange: m.EmailChange, DataExport: m.DataExport}
}

// validateAccount reports the problems of the self-service settings:
// the mail paths and the account declarations (authn.account).
func (a *AuthnConfig) validateAccount() []error {
	var errs []error
	for _, p := range []struct{ key, v string }{
		{"verify_email", a.MailPaths.VerifyEmail}, {"magic_link", a.MailPaths.MagicLink},
		{"password_reset", a.MailPaths.PasswordReset}, {"sign_in", a.MailPaths.SignIn}, {"security", a.MailPaths.Security},
		{"email_change", a.MailPaths.EmailChange}, {"data_export", a.MailPaths.DataExport},
	} {
		if p.v != "" && (!strings.HasPrefix(p.v, "/") || strings.HasPrefix(p.v, "//") || strings.ContainsAny(p.v, "?#\\ ")) {
			errs = append(errs, fmt.Errorf("authn.mail_paths.%s %q: want an absolute path without query or fragment", p.key, p.v))
		}
	}
	if err := a.Account.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("authn.account: %w", err))
	}
	return errs
}
