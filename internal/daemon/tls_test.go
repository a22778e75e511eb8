package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/config"
)

// writeKeyPair writes a self-signed certificate for 127.0.0.1 and its key.
func writeKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile
}

// jaRules raises an alert with the event's JA4 on every evaluation that
// has one: how the test sees what the engine was given.
const jaRules = `version: 1
description: JA4 probe
thresholds: { step_up: 40, block: 80 }
rules:
  - id: ja4-seen
    description: the event carries a TLS fingerprint
    when: event.ja4 != ""
    score: 0
    alert: low
    evidence: [event.ja4]
`

var ja4Re = regexp.MustCompile(`t1[23]d[0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}`)

// TestTLSListenerJA4: with tls.cert and tls.key, riskauthd serves HTTPS
// itself and a browser's sign-in reaches the engine with the JA4 of its
// own ClientHello.
func TestTLSListenerJA4(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir)
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(jaRules), 0o600))
	env := map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_ADDR": "127.0.0.1:0", "RISKAUTH_RULES_FILE": rules,
		"RISKAUTH_TLS_CERT": certFile, "RISKAUTH_TLS_KEY": keyFile}
	cfg, err := config.Load("", func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Build(ctx, cfg, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	ln, err := cfg.Listen()
	require.NoError(t, err)
	go func() { _ = srv.API.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.API.App().ShutdownWithTimeout(2 * time.Second)
		cancel()
		srv.Close()
	})

	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}}} // self-signed
	req, err := http.NewRequest(http.MethodPost, "https://"+ln.Addr().String()+"/v1/login",
		strings.NewReader(`{"identifier":"nobody@example.com","password":"not the password 1"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NotNil(t, resp.TLS, "served over TLS")
	require.Less(t, resp.StatusCode, 500, "%s", body)

	_, err = http.Get("http://" + ln.Addr().String() + "/readyz")
	require.Error(t, err, "no plain HTTP on a TLS listener")

	require.NoError(t, srv.Sink.Close(context.Background()))
	alerts, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(alerts), "ja4-seen")
	require.Regexp(t, ja4Re, string(alerts), "the engine saw the ClientHello's JA4")
}

func TestTLSConfigRefused(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := writeKeyPair(t, dir)
	for name, env := range map[string]map[string]string{
		"cert without key":   {"RISKAUTH_TLS_CERT": certFile},
		"key is not the key": {"RISKAUTH_TLS_CERT": certFile, "RISKAUTH_TLS_KEY": certFile},
	} {
		t.Run(name, func(t *testing.T) {
			env["RISKAUTH_DATA_DIR"] = dir
			_, err := config.Load("", func(k string) string { return env[k] })
			require.ErrorContains(t, err, "tls")
		})
	}
}
