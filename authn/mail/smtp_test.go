package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/stretchr/testify/require"
)

// A real SMTP server (emersion/go-smtp) on a loopback port records what
// it receives.

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type testBackend struct {
	user, pass string
	mu         sync.Mutex
	got        []received
}

func (b *testBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &testSession{b: b, conn: c}, nil
}

func (b *testBackend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

type testSession struct {
	b    *testBackend
	conn *smtp.Conn
	cur  received
}

func (s *testSession) AuthMechanisms() []string {
	if s.b.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.b.user || password != s.b.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.cur.user = username
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.b.mu.Lock()
	s.b.got = append(s.b.got, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *testSession) Reset() {
	user := s.cur.user
	s.cur = received{user: user}
}

func (s *testSession) Logout() error { return nil }

// startSMTP serves be on 127.0.0.1; serverTLS enables STARTTLS, and with
// implicit the listener speaks TLS from the first byte.
func startSMTP(t *testing.T, be *testBackend, serverTLS *tls.Config, implicit bool) int {
	t.Helper()
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // PLAIN over plaintext loopback, for the tls=none test
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	if !implicit {
		s.TLSConfig = serverTLS
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if implicit {
		l = tls.NewListener(l, serverTLS)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// config trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool}
}

// parsed is a received message taken apart.
type parsed struct {
	header mail.Header
	text   string
	html   string
}

func parseReceived(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := parsed{header: m.Header}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(p) // quoted-printable is decoded by multipart
		require.NoError(t, err)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			body, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(body), "\r\n", ""))
			require.NoError(t, err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			out.text = strings.ReplaceAll(string(body), "\r\n", "\n")
		case "text/html":
			out.html = string(body)
		}
	}
	return out
}

const (
	smtpUser = "mailer"
	smtpPass = "s3cr3t!pw:with@odd/chars"
)

func smtpURL(port int, tlsMode string) string {
	u := url.URL{
		Scheme:   "smtp",
		User:     url.UserPassword(smtpUser, smtpPass),
		Host:     fmt.Sprintf("127.0.0.1:%d", port),
		RawQuery: url.Values{"tls": {tlsMode}, "from": {"Example <no-reply@example.com>"}, "timeout": {"5s"}}.Encode(),
	}
	return u.String()
}

func loginCodeMessage(t *testing.T) Message {
	t.Helper()
	m, err := newRenderer(t).LoginCode("alice@example.org", LoginCodeData{Code: "428193", Token: "tok-magic-secret", ExpiresIn: 10 * time.Minute})
	require.NoError(t, err)
	m.Tag = "flow-42"
	return m
}

func TestSMTPDelivery(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name     string
		mode     string
		implicit bool
		wantTLS  bool
	}{
		{name: "plaintext loopback", mode: "none"},
		{name: "starttls", mode: "starttls", wantTLS: true},
		{name: "implicit tls", mode: "tls", implicit: true, wantTLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be := &testBackend{user: smtpUser, pass: smtpPass}
			port := startSMTP(t, be, serverTLS, tt.implicit)
			cfg, err := ParseSMTPURL(smtpURL(port, tt.mode))
			require.NoError(t, err)
			cfg.TLSConfig = clientTLS
			var logs bytes.Buffer
			sentAt := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
			s, err := NewSMTP(cfg, clock.NewManual(sentAt), slog.New(slog.NewJSONHandler(&logs, nil)))
			require.NoError(t, err)

			msg := loginCodeMessage(t)
			require.NoError(t, s.Send(context.Background(), msg))

			got := be.messages()
			require.Len(t, got, 1)
			r := got[0]
			require.Equal(t, tt.wantTLS, r.tls)
			require.Equal(t, smtpUser, r.user)
			require.Equal(t, "no-reply@example.com", r.from)
			require.Equal(t, []string{"alice@example.org"}, r.to)

			p := parseReceived(t, r.data)
			require.Equal(t, `"Example" <no-reply@example.com>`, p.header.Get("From"))
			require.Equal(t, "<alice@example.org>", p.header.Get("To"))
			require.Equal(t, msg.Subject, p.header.Get("Subject"))
			date, err := p.header.Date()
			require.NoError(t, err)
			require.True(t, sentAt.Equal(date), "Date comes from the injected clock")
			require.Regexp(t, `^<[0-9a-f]{32}@example\.com>$`, p.header.Get("Message-Id"))
			require.Equal(t, "login_code", p.header.Get("X-Riskauth-Kind"))
			require.Equal(t, "flow-42", p.header.Get("X-Riskauth-Tag"))
			require.Equal(t, "auto-generated", p.header.Get("Auto-Submitted"))
			require.Empty(t, p.header.Get("Bcc"))
			require.Equal(t, msg.Text, p.text)
			require.Contains(t, p.text, "428193")
			require.Contains(t, p.html, "428193")
			require.Contains(t, p.html, "https://login.example.com/login/magic?token=tok-magic-secret")

			// The log says a login_code went to a pseudonymous recipient,
			// and nothing secret or personal.
			require.Contains(t, logs.String(), `"msg":"mail sent"`)
			require.Contains(t, logs.String(), `"kind":"login_code"`)
			require.Contains(t, logs.String(), RedactRecipient("alice@example.org"))
			for _, secret := range []string{"428193", "tok-magic-secret", smtpPass, "alice@example.org", msg.Subject} {
				require.NotContains(t, logs.String(), secret)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name      string
		mode      string
		serverTLS *tls.Config
		clientTLS *tls.Config
		pass      string
		errText   string
	}{
		{name: "wrong password", mode: "none", pass: "other", errText: "535"},
		{name: "starttls required but not offered", mode: "starttls", errText: "STARTTLS"},
		{name: "untrusted certificate", mode: "starttls", serverTLS: serverTLS, errText: "certificate"},
		{name: "wrong password over starttls", mode: "starttls", serverTLS: serverTLS, clientTLS: clientTLS, pass: "other", errText: "535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pass := smtpPass
			if tt.pass != "" {
				pass = tt.pass // the server expects another password
			}
			be := &testBackend{user: smtpUser, pass: pass}
			port := startSMTP(t, be, tt.serverTLS, false)
			cfg, err := ParseSMTPURL(smtpURL(port, tt.mode))
			require.NoError(t, err)
			cfg.TLSConfig = tt.clientTLS
			var logs bytes.Buffer
			s, err := NewSMTP(cfg, nil, slog.New(slog.NewJSONHandler(&logs, nil)))
			require.NoError(t, err)

			err = s.Send(context.Background(), loginCodeMessage(t))
			require.Error(t, err)
			require.ErrorContains(t, err, tt.errText)
			require.ErrorContains(t, err, "send login_code via 127.0.0.1")
			require.NotContains(t, err.Error(), smtpPass, "the password never appears in errors")
			require.NotContains(t, logs.String(), smtpPass)
			require.NotContains(t, logs.String(), "428193")
			require.Contains(t, logs.String(), `"msg":"mail send failed"`)
			require.Empty(t, be.messages())
		})
	}
}

func TestSMTPNoAuthRelay(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	port := startSMTP(t, be, nil, false)
	cfg, err := ParseSMTPURL(fmt.Sprintf("smtp://127.0.0.1:%d?tls=none&from=no-reply@example.com", port))
	require.NoError(t, err)
	s, err := NewSMTP(cfg, nil, nil)
	require.NoError(t, err)
	msg := loginCodeMessage(t)
	msg.HTML = ""
	require.NoError(t, s.Send(context.Background(), msg))
	got := be.messages()
	require.Len(t, got, 1)
	m, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain"), "text only when there is no HTML")

	err = s.Send(context.Background(), Message{To: "x"})
	require.ErrorIs(t, err, ErrInvalidMessage)
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-very-secret"
	tests := []struct {
		name    string
		raw     string
		want    SMTPConfig
		errText string
	}{
		{name: "defaults", raw: "smtp://mail.example.com?from=no-reply@example.com",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, TLS: TLSStartTLS, From: "no-reply@example.com"}},
		{name: "full", raw: "smtp://user%40example.com:" + pw + "@mail.example.com:2525?tls=tls&from=Example+%3Cno-reply%40example.com%3E&auth=login&helo=app.example.com&timeout=5s",
			want: SMTPConfig{Host: "mail.example.com", Port: 2525, Username: "user@example.com", Password: pw, Auth: "LOGIN", TLS: TLSImplicit,
				From: "Example <no-reply@example.com>", HELO: "app.example.com", Timeout: 5 * time.Second}},
		{name: "user implies plain", raw: "smtp://u:" + pw + "@mail.example.com?from=a@example.com",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, Username: "u", Password: pw, Auth: "PLAIN", TLS: TLSStartTLS, From: "a@example.com"}},
		{name: "implicit tls default port", raw: "smtp://mail.example.com?tls=tls&from=a@example.com",
			want: SMTPConfig{Host: "mail.example.com", Port: 465, TLS: TLSImplicit, From: "a@example.com"}},
		{name: "none default port", raw: "smtp://relay.internal?tls=none&from=a@example.com",
			want: SMTPConfig{Host: "relay.internal", Port: 25, TLS: TLSNone, From: "a@example.com"}},
		{name: "ipv6 loopback with credentials in clear", raw: "smtp://u:" + pw + "@[::1]:1025?tls=none&from=a@example.com",
			want: SMTPConfig{Host: "::1", Port: 1025, Username: "u", Password: pw, Auth: "PLAIN", TLS: TLSNone, From: "a@example.com"}},

		{name: "credentials in clear to remote", raw: "smtp://u:" + pw + "@mail.example.com?tls=none&from=a@example.com", errText: "refusing to send credentials without TLS"},
		{name: "scheme", raw: "smtps://mail.example.com?from=a@example.com", errText: `scheme must be "smtp", got "smtps"`},
		{name: "opaque", raw: "smtp:mail.example.com?from=a@example.com", errText: "not smtp:host"},
		{name: "no host", raw: "smtp://?from=a@example.com", errText: "no host"},
		{name: "path", raw: "smtp://mail.example.com/x?from=a@example.com", errText: "unexpected path"},
		{name: "fragment", raw: "smtp://mail.example.com?from=a@example.com#x", errText: "unexpected fragment"},
		{name: "no from", raw: "smtp://mail.example.com", errText: "missing from="},
		{name: "bad from", raw: "smtp://mail.example.com?from=nobody", errText: "from: not an address"},
		{name: "bad tls", raw: "smtp://mail.example.com?from=a@example.com&tls=ssl", errText: `tls="ssl": want starttls, tls or none`},
		{name: "unknown param", raw: "smtp://mail.example.com?from=a@example.com&tsl=none", errText: `unknown parameter "tsl"`},
		{name: "repeated param", raw: "smtp://mail.example.com?from=a@example.com&tls=tls&tls=none", errText: `"tls" given 2 times`},
		{name: "bad auth", raw: "smtp://u:p@mail.example.com?from=a@example.com&auth=ntlm", errText: `auth="ntlm"`},
		{name: "auth without user", raw: "smtp://mail.example.com?from=a@example.com&auth=plain", errText: "auth= given without a user"},
		{name: "empty user", raw: "smtp://:" + pw + "@mail.example.com?from=a@example.com", errText: "empty user name"},
		{name: "port zero", raw: "smtp://mail.example.com:0?from=a@example.com", errText: "port must be 1 to 65535"},
		{name: "port huge", raw: "smtp://mail.example.com:70000?from=a@example.com", errText: "port must be 1 to 65535"},
		{name: "bad timeout", raw: "smtp://mail.example.com?from=a@example.com&timeout=soon", errText: `timeout="soon"`},
		{name: "negative timeout", raw: "smtp://mail.example.com?from=a@example.com&timeout=-1s", errText: "positive duration"},
		// Malformed URLs whose parse errors would quote the password.
		{name: "bad escape in password", raw: "smtp://u:" + pw + "%zz@mail.example.com?from=a@example.com", errText: "invalid percent-escape"},
		{name: "bad port after password", raw: "smtp://u:" + pw + "@mail.example.com:x" + pw + "?from=a@example.com", errText: "invalid port"},
		{name: "space in host", raw: "smtp://u:" + pw + "@mail example.com?from=a@example.com", errText: "invalid character in host"},
		{name: "control char", raw: "smtp://u:" + pw + "\x01@mail.example.com?from=a@example.com", errText: "control character"},
		{name: "bad query escape", raw: "smtp://u:" + pw + "@mail.example.com?from=%zz" + pw, errText: "query: invalid percent-escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSMTPURL(tt.raw)
			if tt.errText != "" {
				require.ErrorContains(t, err, tt.errText)
				require.NotContains(t, err.Error(), pw, "the password never appears in errors")
				require.NotContains(t, err.Error(), "hunter2")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			_, err = NewSMTP(got, nil, nil)
			require.NoError(t, err)
		})
	}
}

func TestSMTPConfigNeverPrintsPassword(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-very-secret"
	cfg, err := ParseSMTPURL("smtp://u:" + pw + "@mail.example.com?from=a@example.com")
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "smtp", cfg, "password", cfg.Password)
	outputs := []string{cfg.String(), logs.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outputs = append(outputs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, cfg.Password))
	}
	for _, s := range outputs {
		require.NotContains(t, s, pw)
		require.NotContains(t, s, "68756e74657232") // hex of "hunter2"
	}
	require.Contains(t, cfg.String(), "smtp://u:[REDACTED]@mail.example.com:587?tls=starttls")
	b, err := cfg.Password.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "[REDACTED]", string(b))
}

func TestNewSMTPConfig(t *testing.T) {
	t.Parallel()
	_, err := NewSMTP(SMTPConfig{Port: 25, TLS: TLSNone, From: "a@example.com"}, nil, nil)
	require.ErrorContains(t, err, "host and port")
	_, err = NewSMTP(SMTPConfig{Host: "h", Port: 25, TLS: "ssl", From: "a@example.com"}, nil, nil)
	require.ErrorContains(t, err, "unknown TLS mode")
	_, err = NewSMTP(SMTPConfig{Host: "h", Port: 25, TLS: TLSNone, From: "nobody"}, nil, nil)
	require.ErrorContains(t, err, "from")
}

func FuzzParseSMTPURL(f *testing.F) {
	const marker = "Zq7PWmarker"
	f.Add("smtp://u:", "@mail.example.com?from=a@example.com")
	f.Add("smtp://u:", "%zz@h?from=a@example.com")
	f.Add("smtp://u:", "@h:x?from=a@example.com&tls=none")
	f.Add("", "")
	f.Add("smtp://", "@[::1]:25?tls=none&from=a@b.c")
	f.Fuzz(func(t *testing.T, before, after string) {
		raw := before + marker + after
		cfg, err := ParseSMTPURL(raw)
		if strings.Count(raw, marker) != 1 {
			return
		}
		inPassword := false
		if u, perr := url.Parse(raw); perr == nil && u.User != nil {
			p, _ := u.User.Password()
			inPassword = strings.Contains(p, marker)
		} else if perr != nil {
			inPassword = true // unknown: the parse error must not quote anything
		}
		if !inPassword {
			return
		}
		if err != nil {
			require.NotContains(t, err.Error(), marker)
			return
		}
		require.NotContains(t, cfg.String(), marker)
		require.NotContains(t, fmt.Sprintf("%+v %#v", cfg, cfg), marker)
	})
}
