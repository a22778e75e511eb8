package mail

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer(RendererConfig{
		PublicOrigin:   "https://login.example.com",
		ServiceName:    "Example",
		SupportAddress: "security@example.com",
	})
	require.NoError(t, err)
	return r
}

var eventTime = time.Date(2026, 11, 28, 14, 5, 0, 0, time.FixedZone("CET", 3600))

// renderAll renders one message of every kind with fixed data.
func renderAll(t *testing.T, r *Renderer) map[Kind]Message {
	t.Helper()
	rc := RequestContext{When: eventTime, IP: "203.0.113.7", Location: "Lyon, France", Device: "Firefox on Linux"}
	out := map[Kind]Message{}
	var err error
	out[KindVerifyEmail], err = r.VerifyEmail("alice@example.org", LinkData{Token: "tok-verify", ExpiresIn: 24 * time.Hour})
	require.NoError(t, err)
	out[KindAccountExists], err = r.AccountExists("alice@example.org", "")
	require.NoError(t, err)
	out[KindLoginCode], err = r.LoginCode("alice@example.org", LoginCodeData{Code: "428193", Token: "tok-magic", ExpiresIn: 10 * time.Minute, Context: rc})
	require.NoError(t, err)
	out[KindPasswordReset], err = r.PasswordReset("alice@example.org", LinkData{Token: "tok-reset", ExpiresIn: 30 * time.Minute}, rc)
	require.NoError(t, err)
	for _, k := range []Kind{KindPasswordChanged, KindNewDeviceSignIn, KindStepUpFailed} {
		out[k], err = r.SecurityEvent(k, "alice@example.org", rc)
		require.NoError(t, err)
	}
	out[KindMFAChanged], err = r.MFAChanged("alice@example.org", MFAChangeData{Change: MFAAdded, Factor: "authenticator app"}, rc)
	require.NoError(t, err)
	out[KindDataExport], err = r.DataExport("alice@example.org", LinkData{Token: "tok-export", ExpiresIn: time.Hour}, rc)
	require.NoError(t, err)
	out[KindAccountDeletion], err = r.AccountDeletion("alice@example.org", eventTime.Add(7*24*time.Hour), rc)
	require.NoError(t, err)
	out[KindEmailChange], err = r.EmailChange("alice@example.org", EmailChangeData{Token: "tok-change", ExpiresIn: 24 * time.Hour,
		NewAddress: "alice@new.example", Confirm: true, Context: rc})
	require.NoError(t, err)
	out[KindEmailChanged], err = r.EmailChanged("alice@example.org", EmailChangeData{Token: "tok-undo", ExpiresIn: 72 * time.Hour,
		NewAddress: "alice@new.example", Context: rc})
	require.NoError(t, err)
	return out
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	msgs := renderAll(t, newRenderer(t))
	require.Len(t, msgs, len(Kinds()))
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			m := msgs[k]
			require.Equal(t, k, m.Kind)
			require.NoError(t, m.Validate())
			for _, body := range []string{m.Subject, m.Text, m.HTML} {
				require.NotContains(t, body, "<no value>")
				require.NotContains(t, body, "{{")
			}
			require.Contains(t, m.HTML, "<!DOCTYPE html>")
			require.Contains(t, m.Text, "Example · https://login.example.com")

			golden(t, filepath.Join("testdata", string(k)+".golden"), "Subject: "+m.Subject+"\n\n"+m.Text)
		})
	}
}

func TestRenderContent(t *testing.T) {
	t.Parallel()
	msgs := renderAll(t, newRenderer(t))
	tests := []struct {
		kind     Kind
		contains []string
		subject  string
	}{
		{kind: KindVerifyEmail, contains: []string{"https://login.example.com/verify-email?token=tok-verify", "24 hours"}},
		{kind: KindAccountExists, contains: []string{"https://login.example.com/login", "https://login.example.com/password/reset"}},
		{kind: KindLoginCode, contains: []string{"428193", "https://login.example.com/login/magic?token=tok-magic", "10 minutes", "Lyon, France"}},
		{kind: KindPasswordReset, contains: []string{"https://login.example.com/password/reset?token=tok-reset", "30 minutes"}},
		{kind: KindPasswordChanged, contains: []string{"Saturday 28 November 2026, 13:05 UTC", "https://login.example.com/account/security"}},
		{kind: KindNewDeviceSignIn, contains: []string{"Firefox on Linux", "203.0.113.7"}},
		{kind: KindMFAChanged, contains: []string{"authenticator app", "was added"}},
		{kind: KindStepUpFailed, contains: []string{"correct password", "did not complete"}},
		{kind: KindEmailChange, contains: []string{"https://login.example.com/account/email?token=tok-change", "alice@new.example", "approval"}},
		{kind: KindEmailChanged, contains: []string{"https://login.example.com/account/email?token=tok-undo", "alice@new.example", "3 days"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			m := msgs[tt.kind]
			for _, s := range tt.contains {
				require.Contains(t, m.Text, s)
				require.Contains(t, m.HTML, s)
			}
		})
	}
	require.NotContains(t, msgs[KindLoginCode].Subject, "428193", "codes stay out of subjects (lock screens)")
}

func TestRenderEscapesAndCleansContext(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	rc := RequestContext{
		When:   eventTime,
		Device: "<script>alert(1)</script>\r\nBcc: evil@example.net\u202e" + strings.Repeat("x", 200),
	}
	m, err := r.SecurityEvent(KindNewDeviceSignIn, "alice@example.org", rc)
	require.NoError(t, err)
	require.NotContains(t, m.HTML, "<script>")
	require.Contains(t, m.HTML, "&lt;script&gt;")
	require.NotContains(t, m.Text, "\u202e")
	require.NotContains(t, m.Text, "\r")
	require.Contains(t, m.Text, "Device: <script>alert(1)</script> Bcc: evil@example.net")
	require.Contains(t, m.Text, "…")
	require.NotContains(t, m.Text, strings.Repeat("x", 100))
}

func TestRenderAllMFAChanges(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, c := range []MFAChange{MFAAdded, MFARemoved, MFARecoveryRenewed, MFARecoveryCodeUsed, MFAAllFactorsRemoved} {
		m, err := r.MFAChanged("a@example.org", MFAChangeData{Change: c, Factor: "passkey"}, RequestContext{When: eventTime})
		require.NoError(t, err, c)
		require.Regexp(t, `(?s)Hello,\n\n\S.* on Saturday`, m.Text, c)
	}
	_, err := r.MFAChanged("a@example.org", MFAChangeData{Change: "exploded", Factor: "x"}, RequestContext{When: eventTime})
	require.ErrorContains(t, err, "unknown change")
}

// TestRenderMFAChangeSignedOut: a change that ended other sessions says
// so, in both bodies; one that ended none says nothing about sessions.
func TestRenderMFAChangeSignedOut(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	tests := []struct {
		signedOut int
		want      string
	}{
		{0, ""},
		{1, "1 other session was signed out"},
		{3, "3 other sessions were signed out"},
	}
	for _, tc := range tests {
		m, err := r.MFAChanged("a@example.org", MFAChangeData{Change: MFARemoved, Factor: "authenticator app", SignedOut: tc.signedOut},
			RequestContext{When: eventTime})
		require.NoError(t, err)
		if tc.want == "" {
			require.NotContains(t, m.Text, "signed out")
			require.NotContains(t, m.HTML, "signed out")
			continue
		}
		require.Contains(t, m.Text, tc.want)
		require.Contains(t, m.HTML, tc.want)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	_, err := r.VerifyEmail("a@example.org", LinkData{})
	require.ErrorContains(t, err, "token and expiry are required")
	_, err = r.LoginCode("a@example.org", LoginCodeData{Token: "t", ExpiresIn: time.Minute})
	require.ErrorContains(t, err, "code and expiry are required")
	_, err = r.PasswordReset("a@example.org", LinkData{Token: "t"}, RequestContext{})
	require.ErrorContains(t, err, "token and expiry are required")
	_, err = r.SecurityEvent(KindVerifyEmail, "a@example.org", RequestContext{When: eventTime})
	require.ErrorContains(t, err, "not a security event")
	_, err = r.SecurityEvent(KindPasswordChanged, "a@example.org", RequestContext{})
	require.ErrorContains(t, err, "event time is required")
	_, err = r.AccountExists("Alice <a@example.org>", "")
	require.ErrorIs(t, err, ErrInvalidMessage)
}

func TestLoginCodeWithoutLink(t *testing.T) {
	t.Parallel()
	m, err := newRenderer(t).LoginCode("a@example.org", LoginCodeData{Code: "000123", ExpiresIn: 5 * time.Minute})
	require.NoError(t, err)
	require.Contains(t, m.Text, "The code expires in 5 minutes and works once.")
	require.NotContains(t, m.Text, "/login/magic")
	require.NotContains(t, m.Text, "Requested")
}

func TestNewRendererConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     RendererConfig
		errText string
	}{
		{name: "https", cfg: RendererConfig{PublicOrigin: "https://login.example.com:8443", ServiceName: "X"}},
		{name: "trailing slash", cfg: RendererConfig{PublicOrigin: "https://login.example.com/", ServiceName: "X"}},
		{name: "http loopback", cfg: RendererConfig{PublicOrigin: "http://127.0.0.1:8080", ServiceName: "X"}},
		{name: "http localhost", cfg: RendererConfig{PublicOrigin: "http://localhost:8080", ServiceName: "X"}},
		{name: "http remote", cfg: RendererConfig{PublicOrigin: "http://login.example.com", ServiceName: "X"}, errText: "http is allowed only for loopback"},
		{name: "path", cfg: RendererConfig{PublicOrigin: "https://example.com/auth", ServiceName: "X"}, errText: "must not have a path"},
		{name: "query", cfg: RendererConfig{PublicOrigin: "https://example.com?x=1", ServiceName: "X"}, errText: "must not have a path, query"},
		{name: "userinfo", cfg: RendererConfig{PublicOrigin: "https://u:p@example.com", ServiceName: "X"}, errText: "want scheme://host"},
		{name: "no scheme", cfg: RendererConfig{PublicOrigin: "example.com", ServiceName: "X"}, errText: "want scheme://host"},
		{name: "javascript", cfg: RendererConfig{PublicOrigin: "javascript://example.com", ServiceName: "X"}, errText: "scheme must be https"},
		{name: "no service", cfg: RendererConfig{PublicOrigin: "https://example.com"}, errText: "service name"},
		{name: "multi-line service", cfg: RendererConfig{PublicOrigin: "https://example.com", ServiceName: "A\nBcc: x"}, errText: "service name"},
		{name: "relative path", cfg: RendererConfig{PublicOrigin: "https://example.com", ServiceName: "X", Paths: Paths{SignIn: "login"}}, errText: `path "login" must be absolute`},
		{name: "protocol-relative path", cfg: RendererConfig{PublicOrigin: "https://example.com", ServiceName: "X", Paths: Paths{SignIn: "//evil.example"}}, errText: "must be absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewRenderer(tt.cfg)
			if tt.errText == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.errText)
		})
	}
}

func TestCustomPaths(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer(RendererConfig{PublicOrigin: "https://id.example.com", ServiceName: "X", Paths: Paths{VerifyEmail: "/v"}})
	require.NoError(t, err)
	m, err := r.VerifyEmail("a@example.org", LinkData{Token: "a+b/c=", ExpiresIn: time.Hour})
	require.NoError(t, err)
	require.Contains(t, m.Text, "https://id.example.com/v?token=a%2Bb%2Fc%3D")
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	en := newRenderer(t).common("")
	tests := map[time.Duration]string{
		30 * time.Second: "30 seconds", time.Minute: "1 minute", 90 * time.Minute: "90 minutes",
		2 * time.Hour: "2 hours", 24 * time.Hour: "24 hours", 72 * time.Hour: "3 days",
	}
	for d, want := range tests {
		require.Equal(t, want, en.Duration(d))
	}
}
