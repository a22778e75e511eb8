package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/riskauth/riskauth/signals/device/ja4"
)

// TLSConfig makes riskauthd terminate TLS on addr itself (issue 24): for
// a deployment without an edge in front, and so that the engine gets the
// browser's TLS fingerprint (JA4, computed from each ClientHello) for the
// sign-in flows, as an edge would report it. Both files or neither.
type TLSConfig struct {
	// Cert is a PEM certificate chain (RISKAUTH_TLS_CERT).
	Cert string `yaml:"cert"`
	// Key is its PEM private key (RISKAUTH_TLS_KEY).
	Key string `yaml:"key"`
}

// On reports whether TLS is configured.
func (t TLSConfig) On() bool { return t.Cert != "" || t.Key != "" }

func (c *Config) applyTLSEnv(env func(string) string) {
	setEnv(env, "RISKAUTH_TLS_CERT", &c.TLS.Cert)
	setEnv(env, "RISKAUTH_TLS_KEY", &c.TLS.Key)
}

// validateTLS checks that both files are named and form a key pair (read
// at start, so that a wrong file fails the start, not the first client).
func (c *Config) validateTLS() []error {
	if !c.TLS.On() {
		return nil
	}
	if c.TLS.Cert == "" || c.TLS.Key == "" {
		return []error{errors.New("tls: set both cert (RISKAUTH_TLS_CERT) and key (RISKAUTH_TLS_KEY), or neither")}
	}
	if _, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key); err != nil {
		return []error{fmt.Errorf("tls: cert %s, key %s: %w", c.TLS.Cert, c.TLS.Key, err)}
	}
	return nil
}

// Listen opens addr: plain TCP, or TLS with the configured key pair when
// TLS is on. Over TLS every connection carries its ClientHello's JA4
// (signals/device/ja4), which the HTTP layer adds to the sign-in flows'
// risk events. TLS 1.2 at least (ASVS 12.1.1); HTTP/1.1 only, as the
// server speaks no HTTP/2.
func (c *Config) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", c.Addr, err)
	}
	if !c.TLS.On() {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	cfg := ja4.Config(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"}})
	return tls.NewListener(ja4.Listener(ln), cfg), nil
}
