package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"
)

// Preset names how a provider's ID token says what authn needs. The
// protocol is the same for every preset; only the claims differ.
type Preset string

// The presets.
const (
	// PresetGeneric reads email, email_verified (a boolean, or the string
	// "true"), name and preferred_username.
	PresetGeneric Preset = "generic"
	// PresetGoogle is generic: Google sends email_verified as a boolean.
	PresetGoogle Preset = "google"
	// PresetGitLab is generic: GitLab sends email_verified as a boolean.
	PresetGitLab Preset = "gitlab"
	// PresetMicrosoft (Entra ID): email comes without email_verified and
	// is not verified by Microsoft (any tenant admin can set it), so it
	// counts as verified only with the optional claim xms_edov ("email
	// domain owner verified") true. Name is name.
	PresetMicrosoft Preset = "microsoft"
	// PresetApple: email_verified is the string "true" (or a boolean),
	// the ID token carries no name, and Apple answers the callback with a
	// form post (response_mode=form_post) when email is asked for.
	PresetApple Preset = "apple"
)

// DefaultDiscoveryTimeout bounds discovery (and the code exchange) when
// a provider names none.
const DefaultDiscoveryTimeout = 5 * time.Second

// DefaultRetryAfter is how long a provider whose discovery failed is
// answered as unavailable without trying again: a provider that is down
// costs one deadline per RetryAfter, not one per sign-in.
const DefaultRetryAfter = 30 * time.Second

// ProviderConfig is one upstream provider (authn.upstream in the YAML
// file, docs/oidc.md).
type ProviderConfig struct {
	// Name is the provider's handle in the routes
	// (/login/upstream/{name}) and in the identities: 1 to 32 characters
	// of [a-z0-9-].
	Name string `yaml:"name"`
	// DisplayName is the button's text ("Sign in with {DisplayName}");
	// default: the preset's name, or Name.
	DisplayName string `yaml:"display_name"`
	// Preset is google, microsoft, apple, gitlab or generic (default).
	Preset Preset `yaml:"preset"`
	// Issuer is the provider's issuer URL (https; http only on
	// loopback). Discovery reads Issuer/.well-known/openid-configuration.
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret are riskauth's registration at the
	// provider. The secret is better set in the environment:
	// RISKAUTH_UPSTREAM_<NAME>_CLIENT_SECRET (NAME upper-cased, - as _).
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// Scopes are asked for besides openid (default: email profile; for
	// apple: email name).
	Scopes []string `yaml:"scopes"`
	// Timeout bounds discovery and the code exchange (default 5s).
	Timeout time.Duration `yaml:"timeout"`
}

var nameRe = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Normalize checks c and fills its defaults.
func (c *ProviderConfig) Normalize() error {
	var errs []error
	if !nameRe.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name %q: 1 to 32 characters of a-z, 0-9 and -", c.Name))
	}
	if c.Preset == "" {
		c.Preset = PresetGeneric
	}
	if !slices.Contains([]Preset{PresetGeneric, PresetGoogle, PresetGitLab, PresetMicrosoft, PresetApple}, c.Preset) {
		errs = append(errs, fmt.Errorf("preset %q: one of generic, google, microsoft, apple, gitlab", c.Preset))
	}
	if err := checkIssuer(c.Issuer); err != nil {
		errs = append(errs, err)
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client_id is required"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client_secret is required (or its environment variable)"))
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultDiscoveryTimeout
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"email", "profile"}
		if c.Preset == PresetApple {
			c.Scopes = []string{"email", "name"}
		}
	}
	if c.DisplayName == "" {
		c.DisplayName = presetNames[c.Preset]
		if c.DisplayName == "" {
			c.DisplayName = c.Name
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("upstream provider %q: %w", c.Name, errors.Join(errs...))
	}
	return nil
}

var presetNames = map[Preset]string{PresetGoogle: "Google", PresetMicrosoft: "Microsoft", PresetApple: "Apple", PresetGitLab: "GitLab"}

func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("issuer %q: an absolute URL without query or fragment", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return nil
		}
	}
	return fmt.Errorf("issuer %q: https (http only on loopback)", s)
}
