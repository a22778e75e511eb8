package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/riskauth/riskauth/authn/secevent"
)

// WebhooksConfig configures the webhook deliveries of account events to
// other business systems (docs/webhooks.md). With no endpoint there are
// none.
type WebhooksConfig struct {
	Endpoints []WebhookEndpoint `yaml:"endpoints"`
	// MaxAttempts before an event goes to the endpoint's dead-letter file
	// (default 8); Backoff (1s) doubles per failure up to MaxBackoff (5m).
	MaxAttempts int `yaml:"max_attempts"`
}

// WebhookEndpoint is one receiver.
type WebhookEndpoint struct {
	// Name labels its metrics and its spool (a-z 0-9 _ -, ≤ 32).
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature (≥ 32 characters); prefer
	// RISKAUTH_WEBHOOK_SECRETS ("crm=<secret>;billing=<secret>").
	Secret string `yaml:"secret"`
	// Events are the event types it wants (user_created, user_deleted,
	// mfa_reset, ...); none: every type but the audit-only ones.
	Events []string `yaml:"events"`
}

var webhookNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// applyWebhooksEnv reads RISKAUTH_WEBHOOK_SECRETS: "name=secret;...",
// each replacing the named endpoint's secret. Errors never quote a
// secret.
func (c *Config) applyWebhooksEnv(v string) error {
	for i, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		name, secret, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		found := false
		for j := range c.Webhooks.Endpoints {
			if c.Webhooks.Endpoints[j].Name == name {
				c.Webhooks.Endpoints[j].Secret, found = strings.TrimSpace(secret), true
			}
		}
		if !ok || !found {
			return fmt.Errorf("RISKAUTH_WEBHOOK_SECRETS entry #%d: want name=secret for a configured endpoint", i+1)
		}
	}
	return nil
}

func (c *Config) validateWebhooks() []error {
	var errs []error
	names := map[string]bool{}
	for i, e := range c.Webhooks.Endpoints {
		if !webhookNameRe.MatchString(e.Name) || names[e.Name] {
			errs = append(errs, fmt.Errorf("webhooks.endpoints #%d: name %q missing, invalid or used twice", i+1, e.Name))
		}
		names[e.Name] = true
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("webhooks.endpoints #%d (%s): url must be an http or https URL", i+1, e.Name))
		} else if c.Env == "production" && u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("webhooks.endpoints #%d (%s): production delivers over https only", i+1, e.Name))
		}
		if len(e.Secret) < 32 {
			errs = append(errs, fmt.Errorf("webhooks.endpoints #%d (%s): secret shorter than 32 characters", i+1, e.Name))
		}
		for _, t := range e.Events {
			if secevent.Type(t).AuditOnly() || !knownEventType(secevent.Type(t)) {
				errs = append(errs, fmt.Errorf("webhooks.endpoints #%d (%s): event %q is not an account event", i+1, e.Name, t))
			}
		}
	}
	return errs
}

func knownEventType(t secevent.Type) bool {
	switch t {
	case secevent.MFAEnrolled, secevent.MFARecoveryRenewed, secevent.MFARemoved, secevent.PasswordChanged, secevent.PasswordReset,
		secevent.Lockout, secevent.StepUpFailed, secevent.NewDevice, secevent.SessionsRevoked, secevent.SessionHijackSuspected:
		return true
	}
	return t.IsLifecycle()
}
