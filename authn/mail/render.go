package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/riskauth/riskauth/internal/leaf/catalogue"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Paths are the public paths the links in mail point to, joined to the
// public origin. Zero fields take the defaults shown.
type Paths struct {
	// VerifyEmail receives ?token= ("/verify-email").
	VerifyEmail string
	// MagicLink receives ?token= ("/login/magic").
	MagicLink string
	// PasswordReset receives ?token= ("/password/reset"); without a token
	// it is where a reset starts.
	PasswordReset string
	// SignIn is the sign-in page ("/login").
	SignIn string
	// Security is the account security page ("/account/security").
	Security string
	// DataExport receives ?token= ("/account/export"): the hosted page
	// whose button downloads the user's data export (the API's
	// /v1/account/export/download takes the same token).
	DataExport string
	// EmailChange receives ?token= of the email change links (confirm,
	// approve, undo: "/account/email").
	EmailChange string
}

func (p *Paths) fill() {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&p.VerifyEmail, "/verify-email")
	def(&p.MagicLink, "/login/magic")
	def(&p.PasswordReset, "/password/reset")
	def(&p.SignIn, "/login")
	def(&p.Security, "/account/security")
	def(&p.DataExport, "/account/export")
	def(&p.EmailChange, "/account/email")
}

// RendererConfig configures a Renderer.
type RendererConfig struct {
	// PublicOrigin is where users reach the service, "https://host[:port]"
	// with no path. It is configuration, never taken from a request.
	// http:// is accepted only for loopback hosts (development).
	PublicOrigin string
	// ServiceName is the product name used in subjects and bodies.
	ServiceName string
	// SupportAddress, optional, is shown in security notifications.
	SupportAddress string
	// Paths are the link targets.
	Paths Paths
}

// Renderer turns typed data into Messages using the embedded templates.
// It is safe for concurrent use.
type Renderer struct {
	origin  *url.URL
	cfg     RendererConfig
	subject map[Kind]*texttemplate.Template
	text    map[Kind]*texttemplate.Template
	html    map[Kind]*htmltemplate.Template
	cat     *catalogue.Catalogue
}

// NewRenderer checks cfg and parses every template, so a broken template
// fails at startup rather than on the first password reset.
func NewRenderer(cfg RendererConfig) (*Renderer, error) {
	origin, err := parseOrigin(cfg.PublicOrigin)
	if err != nil {
		return nil, fmt.Errorf("mail renderer: %w", err)
	}
	if strings.TrimSpace(cfg.ServiceName) == "" || strings.ContainsAny(cfg.ServiceName, "\r\n") {
		return nil, errors.New("mail renderer: service name must be a non-empty single line")
	}
	cfg.Paths.fill()
	for _, p := range []string{cfg.Paths.VerifyEmail, cfg.Paths.MagicLink, cfg.Paths.PasswordReset, cfg.Paths.SignIn, cfg.Paths.Security, cfg.Paths.EmailChange, cfg.Paths.DataExport} {
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "?#\\ ") {
			return nil, fmt.Errorf("mail renderer: path %q must be absolute, without query or fragment", p)
		}
	}
	cat, err := catalogue.Mail()
	if err != nil {
		return nil, fmt.Errorf("mail renderer: %w", err)
	}
	r := &Renderer{
		cat:     cat,
		origin:  origin,
		cfg:     cfg,
		subject: map[Kind]*texttemplate.Template{},
		text:    map[Kind]*texttemplate.Template{},
		html:    map[Kind]*htmltemplate.Template{},
	}
	layout, err := htmltemplate.New("layout.html.tmpl").Option("missingkey=error").
		ParseFS(templateFS, "templates/layout.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("mail renderer: %w", err)
	}
	for _, k := range Kinds() {
		txt, err := texttemplate.New(string(k)+".txt.tmpl").Option("missingkey=error").
			ParseFS(templateFS, "templates/"+string(k)+".txt.tmpl", "templates/footer.txt.tmpl")
		if err != nil {
			return nil, fmt.Errorf("mail renderer: %s: %w", k, err)
		}
		if txt.Lookup("subject") == nil || txt.Lookup("body") == nil {
			return nil, fmt.Errorf("mail renderer: %s: text template must define \"subject\" and \"body\"", k)
		}
		// Each kind fills its own copy of the layout's "content" block.
		html, err := htmltemplate.Must(layout.Clone()).ParseFS(templateFS, "templates/"+string(k)+".html.tmpl")
		if err != nil {
			return nil, fmt.Errorf("mail renderer: %s: %w", k, err)
		}
		r.subject[k], r.text[k], r.html[k] = txt.Lookup("subject"), txt.Lookup("body"), html
	}
	return r, nil
}

func parseOrigin(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil {
		return nil, fmt.Errorf("public origin %q: want scheme://host[:port]", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("public origin %q: must not have a path, query or fragment", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("public origin %q: http is allowed only for loopback hosts", s)
		}
	default:
		return nil, fmt.Errorf("public origin %q: scheme must be https", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// link joins a configured path to the origin, with the token (if any) as
// a query parameter. The landing page should answer with
// Referrer-Policy: no-referrer and ask for a click before consuming the
// token, so that mail scanners that fetch links do not use it up.
func (r *Renderer) link(path, token string) string {
	u := *r.origin
	u.Path = path
	if token != "" {
		u.RawQuery = url.Values{"token": {token}}.Encode()
	}
	return u.String()
}

// common is the data every template sees, with the reader's language:
// {{.T "id"}} is a catalogue message ({{.Service}} filled in),
// {{.Duration d}} and {{.Time t}} are written in that language.
type common struct {
	Service string
	Origin  string
	Support string
	// Lang is the mail's language tag (the HTML's lang).
	Lang string
	l    *catalogue.Localizer
}

// T is the catalogue's message id with args (name, value pairs) and the
// service's name as {{.Service}}.
func (c common) T(id string, args ...any) string {
	return c.l.T(id, append(args, "Service", c.Service)...)
}

// Plural is the catalogue's message id with plural forms for n
// ({{.Count}}), args as for T.
func (c common) Plural(id string, n int, args ...any) string {
	return c.l.Plural(id, n, append(args, "Service", c.Service)...)
}

// Rich is the catalogue's message id for an HTML text node (between
// tags, never in an attribute): escaped as a whole, apostrophes left as
// typed (harmless there, and what the English templates had), and the
// argument named strong (if any) set in <strong>, wherever the
// language puts it. args as for T.
func (c common) Rich(id, strong, value string, args ...any) htmltemplate.HTML {
	const mark = "\ue000"
	if strong != "" {
		args = append(args, strong, mark)
	}
	s := strings.ReplaceAll(htmltemplate.HTMLEscapeString(c.T(id, args...)), "&#39;", "'")
	if strong != "" {
		s = strings.Replace(s, mark, "<strong>"+htmltemplate.HTMLEscapeString(value)+"</strong>", 1)
	}
	return htmltemplate.HTML(s) //nolint:gosec // escaped above
}

// Duration is d as people say it, in the mail's language.
func (c common) Duration(d time.Duration) string { return c.l.Duration(d) }

// Time is t in UTC, in the mail's language.
func (c common) Time(t time.Time) string { return c.l.Time(t) }

// common is what every template sees, in the language best matching
// lang (a tag or an Accept-Language value).
func (r *Renderer) common(lang string) common {
	l := r.cat.Localizer(lang)
	return common{Service: r.cfg.ServiceName, Origin: r.origin.String(), Support: r.cfg.SupportAddress, Lang: l.Lang, l: l}
}

func (r *Renderer) render(kind Kind, to string, data any) (Message, error) {
	var subj, text, html bytes.Buffer
	if err := r.subject[kind].Execute(&subj, data); err != nil {
		return Message{}, fmt.Errorf("render %s subject: %w", kind, err)
	}
	if err := r.text[kind].Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := r.html[kind].ExecuteTemplate(&html, "layout", data); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", kind, err)
	}
	msg := Message{
		To:      to,
		Subject: strings.Join(strings.Fields(subj.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
		Kind:    kind,
	}
	if err := msg.Validate(); err != nil {
		return Message{}, fmt.Errorf("render %s: %w", kind, err)
	}
	return msg, nil
}

// LinkData is for mails that carry one single-use link.
type LinkData struct {
	// Token is the opaque token the link carries.
	Token string
	// ExpiresIn is how long the link works.
	ExpiresIn time.Duration
	// Lang is the reader's language preferences (a tag or an
	// Accept-Language value), for the mails without a RequestContext.
	Lang string
}

// VerifyEmail renders the address-verification mail.
func (r *Renderer) VerifyEmail(to string, d LinkData) (Message, error) {
	if d.Token == "" || d.ExpiresIn <= 0 {
		return Message{}, errors.New("render verify_email: token and expiry are required")
	}
	return r.render(KindVerifyEmail, to, struct {
		common
		Link      string
		ExpiresIn time.Duration
	}{r.common(d.Lang), r.link(r.cfg.Paths.VerifyEmail, d.Token), d.ExpiresIn})
}

// AccountExists renders the mail sent when someone registers an address
// that already has an account. Registration answers the same way for new
// and existing addresses (no account enumeration, ASVS V6.3.x); this mail
// tells the real owner and offers sign-in and reset instead.
// lang is the reader's language preferences.
func (r *Renderer) AccountExists(to, lang string) (Message, error) {
	return r.render(KindAccountExists, to, struct {
		common
		SignInLink string
		ResetLink  string
	}{r.common(lang), r.link(r.cfg.Paths.SignIn, ""), r.link(r.cfg.Paths.PasswordReset, "")})
}

// LoginCodeData is the email one-time code and its magic link.
type LoginCodeData struct {
	// Code is the numeric code to type.
	Code string
	// Token is the magic-link token; empty sends the code alone.
	Token string
	// ExpiresIn is how long both work.
	ExpiresIn time.Duration
	// Context describes the request (place, device), optional.
	Context RequestContext
}

// LoginCode renders the sign-in code / magic-link mail. The code is never
// in the subject, which lock screens and notification previews show.
func (r *Renderer) LoginCode(to string, d LoginCodeData) (Message, error) {
	if d.Code == "" || d.ExpiresIn <= 0 {
		return Message{}, errors.New("render login_code: code and expiry are required")
	}
	link := ""
	if d.Token != "" {
		link = r.link(r.cfg.Paths.MagicLink, d.Token)
	}
	return r.render(KindLoginCode, to, struct {
		common
		Code      string
		Link      string
		ExpiresIn time.Duration
		Context   RequestContext
	}{r.common(d.Context.Lang), d.Code, link, d.ExpiresIn, d.Context.clean()})
}

// PasswordReset renders the password-reset mail.
func (r *Renderer) PasswordReset(to string, d LinkData, rc RequestContext) (Message, error) {
	if d.Token == "" || d.ExpiresIn <= 0 {
		return Message{}, errors.New("render password_reset: token and expiry are required")
	}
	return r.render(KindPasswordReset, to, struct {
		common
		Link      string
		ExpiresIn time.Duration
		Context   RequestContext
	}{r.common(rc.Lang), r.link(r.cfg.Paths.PasswordReset, d.Token), d.ExpiresIn, rc.clean()})
}

// DataExport renders the mail with the link to the user's data export.
func (r *Renderer) DataExport(to string, d LinkData, rc RequestContext) (Message, error) {
	if d.Token == "" || d.ExpiresIn <= 0 {
		return Message{}, errors.New("render data_export: token and expiry are required")
	}
	return r.render(KindDataExport, to, struct {
		common
		Link      string
		ExpiresIn time.Duration
		Context   RequestContext
	}{r.common(rc.Lang), r.link(r.cfg.Paths.DataExport, d.Token), d.ExpiresIn, rc.clean()})
}

// AccountDeletion renders the confirmation of an erasure request: the
// account is erased at due unless the user signs in before.
func (r *Renderer) AccountDeletion(to string, due time.Time, rc RequestContext) (Message, error) {
	if due.IsZero() || rc.When.IsZero() {
		return Message{}, errors.New("render account_deletion: due and event times are required")
	}
	sd := r.securityData(rc, "")
	return r.render(KindAccountDeletion, to, struct {
		securityData
		Due time.Time
	}{sd, due})
}

// RequestContext describes where an event came from, for security
// notifications. Fields are optional, shown as given after cleaning: they
// may come from attacker-controlled input (a User-Agent), so control and
// bidirectional-override characters are removed and each field is cut to
// 80 characters.
type RequestContext struct {
	// When the event happened.
	When time.Time
	// IP is the client address.
	IP string
	// Location is a place name from geolocation ("Lyon, France").
	Location string
	// Device is a short device description ("Firefox on Linux").
	Device string
	// Lang is the reader's language preferences, best first: the
	// profile's locale, else the request's Accept-Language (a tag or an
	// Accept-Language value; "" is English).
	Lang string
}

func (c RequestContext) clean() RequestContext {
	return RequestContext{When: c.When, IP: cleanField(c.IP), Location: cleanField(c.Location), Device: cleanField(c.Device), Lang: c.Lang}
}

const maxFieldRunes = 80

func cleanField(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u200b', r == '\ufeff':
			continue
		}
		if n >= maxFieldRunes {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// SecurityEvent renders the notification kinds that only report an event:
// KindPasswordChanged, KindNewDeviceSignIn and KindStepUpFailed (a correct
// password followed by a failed second factor: someone may know the
// password).
func (r *Renderer) SecurityEvent(kind Kind, to string, rc RequestContext) (Message, error) {
	switch kind {
	case KindPasswordChanged, KindNewDeviceSignIn, KindStepUpFailed:
	default:
		return Message{}, fmt.Errorf("render security event: kind %q is not a security event", kind)
	}
	if rc.When.IsZero() {
		return Message{}, fmt.Errorf("render %s: event time is required", kind)
	}
	return r.render(kind, to, r.securityData(rc, ""))
}

// MFAChange says what changed about a user's second factors.
type MFAChange string

// MFA changes, each with its own sentence in the template.
const (
	MFAAdded             MFAChange = "added"
	MFARemoved           MFAChange = "removed"
	MFARecoveryRenewed   MFAChange = "recovery_codes_renewed"
	MFARecoveryCodeUsed  MFAChange = "recovery_code_used"
	MFAAllFactorsRemoved MFAChange = "all_removed"
	// IdentityLinked and IdentityUnlinked: an account at another
	// identity provider (Factor names it) now signs in to this one, or
	// no longer does (authn/signin_upstream.go).
	IdentityLinked   MFAChange = "identity_linked"
	IdentityUnlinked MFAChange = "identity_unlinked"
)

// MFAChangeData describes a change to a user's second factors.
type MFAChangeData struct {
	Change MFAChange
	// Factor names the factor ("authenticator app", "passkey").
	Factor string
	// SignedOut is how many other sessions the change ended; the mail
	// says so when there were any.
	SignedOut int
}

// factorNames are the catalogue ids of the factor names callers pass
// (in English), so that a German notice names them in German; other
// names (an identity provider's) are shown as given.
var factorNames = map[string]string{
	"authenticator app": "factor_authenticator_app",
	"passkey":           "factor_passkey",
	"recovery code":     "factor_recovery_code",
	"recovery codes":    "factor_recovery_codes",
}

// MFAChanged renders the notification of a change to second factors.
func (r *Renderer) MFAChanged(to string, d MFAChangeData, rc RequestContext) (Message, error) {
	switch d.Change {
	case MFAAdded, MFARemoved, MFARecoveryRenewed, MFARecoveryCodeUsed, MFAAllFactorsRemoved, IdentityLinked, IdentityUnlinked:
	default:
		return Message{}, fmt.Errorf("render mfa_changed: unknown change %q", d.Change)
	}
	if rc.When.IsZero() {
		return Message{}, errors.New("render mfa_changed: event time is required")
	}
	if d.SignedOut < 0 {
		return Message{}, errors.New("render mfa_changed: negative count of sessions signed out")
	}
	sd := r.securityData(rc, d.Change)
	sd.Factor = cleanField(d.Factor)
	if id, ok := factorNames[sd.Factor]; ok {
		sd.Factor = sd.T(id)
	}
	sd.SignedOut = d.SignedOut
	return r.render(KindMFAChanged, to, sd)
}

type securityData struct {
	common
	Context      RequestContext
	Change       MFAChange
	Factor       string
	SignedOut    int
	SecurityLink string
	ResetLink    string
	SignInLink   string
}

func (r *Renderer) securityData(rc RequestContext, change MFAChange) securityData {
	return securityData{
		common:       r.common(rc.Lang),
		Context:      rc.clean(),
		Change:       change,
		SecurityLink: r.link(r.cfg.Paths.Security, ""),
		ResetLink:    r.link(r.cfg.Paths.PasswordReset, ""),
		SignInLink:   r.link(r.cfg.Paths.SignIn, ""),
	}
}
