package ja4_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/signals/device/ja4"
)

// testCert is a self-signed certificate for localhost.
func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serve accepts connections on a JA4 listener and sends each one's
// fingerprint, once its handshake is over (or failed), on the channel.
func serve(t *testing.T, cert tls.Certificate) (addr string, fps <-chan string) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := tls.NewListener(ja4.Listener(raw), ja4.Config(&tls.Config{Certificates: []tls.Certificate{cert},
		NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}))
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(time.Minute))
				_ = c.(*tls.Conn).Handshake()
				ch <- ja4.Of(c)
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return raw.Addr().String(), ch
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case fp := <-ch:
		return fp
	case <-time.After(time.Minute):
		t.Fatal("no handshake within a minute")
		return ""
	}
}

// TestListenerRealClient: crypto/tls's own client against the listener.
// Its exact extension list moves with Go releases; what it must show is
// the version, SNI, cipher list and ALPN it was configured with.
func TestListenerRealClient(t *testing.T) {
	addr, fps := serve(t, testCert(t))
	for _, tc := range []struct {
		name      string
		cfg       *tls.Config
		prefix    string
		cipherSet string
	}{
		{"TLS 1.2, two suites, SNI, http/1.1",
			&tls.Config{ServerName: "localhost", MaxVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"},
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
			"t12d02", "c02b,c02f"},
		{"TLS 1.3, no SNI, no ALPN",
			&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
			"t13i", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg.Clone()
			cfg.InsecureSkipVerify = true // a self-signed certificate: the ClientHello is what is measured
			c, err := tls.Dial("tcp", addr, cfg)
			require.NoError(t, err)
			defer c.Close()
			fp := recv(t, fps)
			require.Regexp(t, shape, fp)
			require.Equal(t, tc.prefix, fp[:len(tc.prefix)], fp)
			if cfg.NextProtos != nil {
				require.Equal(t, "h1", fp[8:10], fp)
			} else {
				require.Equal(t, "00", fp[8:10], fp)
			}
			if tc.cipherSet != "" {
				require.Equal(t, sha12(tc.cipherSet), fp[11:23], fp)
			}
		})
	}
}

// TestListenerSpecVector sends the spec's example ClientHello (its
// ciphers, extensions and signature algorithms in the original order,
// with GREASE added as Chromium does) as raw bytes over TCP: crypto/tls
// parses it and the listener must report the spec's JA4.
func TestListenerSpecVector(t *testing.T) {
	addr, fps := serve(t, testCert(t))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(specClientHello(t))
	require.NoError(t, err)
	// The server answers (a ServerHello, or an alert if it refused the
	// hello); hanging up then ends its handshake.
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	_, err = c.Read(make([]byte, 1))
	require.NoError(t, err)
	_ = c.Close()
	require.Equal(t, "t13d1516h2_8daaf6152771_e5627efa2ab1", recv(t, fps))
}

// u16 appends v big-endian.
func u16(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// vec16 appends body with a two-byte length.
func vec16(b, body []byte) []byte { return append(u16(b, len(body)), body...) }

// specClientHello builds the spec example's ClientHello record.
func specClientHello(t *testing.T) []byte {
	var ciphers []byte
	ciphers = u16(ciphers, 0x0a0a) // GREASE
	for _, c := range hexIDs(t, specCiphers) {
		ciphers = u16(ciphers, int(c))
	}
	var sigs []byte
	for _, s := range hexIDs(t, specSigs) {
		sigs = u16(sigs, int(s))
	}
	name := []byte("example.com")
	sni := vec16(nil, append(append([]byte{0}, u16(nil, len(name))...), name...))
	share := make([]byte, 32)
	_, _ = rand.Read(share)
	keyShare := vec16(nil, append(u16(u16(nil, 0x001d), 32), share...))
	alpn := vec16(nil, append([]byte{2, 'h', '2', 8}, "http/1.1"...))
	body := map[uint16][]byte{
		0x001b: {2, 0, 2},                                                 // compress_certificate: brotli
		0x0000: sni,                                                       // server_name
		0x0033: keyShare,                                                  // key_share: x25519
		0x0010: alpn,                                                      // ALPN: h2, http/1.1
		0x4469: {0, 3, 2, 'h', '2'},                                       // application_settings: h2
		0x0017: {},                                                        // extended_master_secret
		0x002d: {1, 1},                                                    // psk_key_exchange_modes: psk_dhe_ke
		0x000d: vec16(nil, sigs),                                          // signature_algorithms
		0x0005: {1, 0, 0, 0, 0},                                           // status_request: OCSP
		0x0023: {},                                                        // session_ticket
		0x0012: {},                                                        // signed_certificate_timestamp
		0x002b: {6, 0x2a, 0x2a, 3, 4, 3, 3},                               // supported_versions: GREASE, 1.3, 1.2
		0xff01: {0},                                                       // renegotiation_info
		0x000b: {1, 0},                                                    // ec_point_formats: uncompressed
		0x000a: vec16(nil, []byte{0x3a, 0x3a, 0, 0x1d, 0, 0x17, 0, 0x18}), // supported_groups
		0x0015: make([]byte, 16),                                          // padding
	}
	var exts []byte
	exts = u16(u16(exts, 0x1a1a), 0) // GREASE, empty
	for _, id := range hexIDs(t, specExts) {
		exts = vec16(u16(exts, int(id)), body[id])
	}
	exts = vec16(u16(exts, 0x4a4a), []byte{0}) // GREASE, one byte
	hello := u16(nil, 0x0303)
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	hello = append(append(hello, random...), 32)
	hello = append(hello, random...) // a legacy session id
	hello = vec16(hello, ciphers)
	hello = append(hello, 1, 0) // compression: null
	hello = vec16(hello, exts)
	hs := append([]byte{1, 0}, u16(nil, len(hello))...)
	hs = append(hs, hello...)
	rec := append([]byte{0x16, 3, 1}, u16(nil, len(hs))...)
	return append(rec, hs...)
}
