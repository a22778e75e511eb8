package ja4_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/signals/device/ja4"
)

// hexIDs parses "1301,1302" into ids.
func hexIDs(t testing.TB, s string) []uint16 {
	t.Helper()
	if s == "" {
		return nil
	}
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(f, 16, 16)
		require.NoError(t, err)
		out = append(out, uint16(v))
	}
	return out
}

// The spec's worked example (FoxIO JA4, technical_details/JA4.md), in the
// client's original order (its JA4_ro), and a Chrome 143 ClientHello as
// a TLS echo service reported it (ja4 and ja4_ro).
const (
	specCiphers = "1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035"
	specExts    = "001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015"
	specSigs    = "0403,0804,0401,0503,0805,0501,0806,0601"
	chromeExts  = "002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b"
)

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(t *testing.T) ja4.Hello
		want string
	}{
		{"spec example", func(t *testing.T) ja4.Hello {
			return ja4.Hello{SupportedVersions: []uint16{0x0304, 0x0303}, CipherSuites: hexIDs(t, specCiphers),
				Extensions: hexIDs(t, specExts), SignatureAlgorithms: hexIDs(t, specSigs), ALPN: []string{"h2", "http/1.1"}}
		}, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"spec example with GREASE everywhere", func(t *testing.T) ja4.Hello {
			return ja4.Hello{SupportedVersions: []uint16{0x7a7a, 0x0304, 0x0303},
				CipherSuites:        append([]uint16{0x0a0a}, hexIDs(t, specCiphers)...),
				Extensions:          append(append([]uint16{0x1a1a}, hexIDs(t, specExts)...), 0xfafa),
				SignatureAlgorithms: hexIDs(t, specSigs), ALPN: []string{"h2"}}
		}, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"spec example without signature algorithms", func(t *testing.T) ja4.Hello {
			return ja4.Hello{SupportedVersions: []uint16{0x0304}, CipherSuites: hexIDs(t, specCiphers),
				Extensions: hexIDs(t, specExts), ALPN: []string{"h2"}}
		}, "t13d1516h2_8daaf6152771_6d807ffa2a79"},
		{"chrome 143", func(t *testing.T) ja4.Hello {
			return ja4.Hello{SupportedVersions: []uint16{0x3a3a, 0x0304, 0x0303},
				CipherSuites: hexIDs(t, "2a2a,"+specCiphers), Extensions: hexIDs(t, "5a5a,"+chromeExts+",6a6a"),
				SignatureAlgorithms: hexIDs(t, specSigs), ALPN: []string{"h2", "http/1.1"}}
		}, "t13d1516h2_8daaf6152771_d8a2da3f94cd"},
		{"no SNI, http/1.1, TLS 1.2 from the legacy version", func(t *testing.T) ja4.Hello {
			return ja4.Hello{Version: 0x0303, CipherSuites: hexIDs(t, "c02b,c02f"), Extensions: hexIDs(t, "000a,0010"),
				ALPN: []string{"http/1.1"}}
		}, "t12i0202h1_" + "<c02b,c02f>" + "_" + "<000a>"},
		{"no ALPN, nothing else", func(t *testing.T) ja4.Hello {
			return ja4.Hello{Version: 0x0301}
		}, "t10i000000_000000000000_000000000000"},
		{"binary ALPN value", func(t *testing.T) ja4.Hello {
			return ja4.Hello{Version: 0x0304, ALPN: []string{"\xabx\xcd"}}
		}, "t13i0000ad_000000000000_000000000000"},
		{"unknown version, QUIC", func(t *testing.T) ja4.Hello {
			return ja4.Hello{QUIC: true, SupportedVersions: []uint16{0x7f1c}}
		}, "q00i000000_000000000000_000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := expand(tc.want)
			require.Equal(t, want, ja4.Compute(tc.h(t)))
		})
	}
}

// expand replaces <list> in a wanted fingerprint with the list's
// truncated SHA-256, computed independently of the package.
func expand(s string) string {
	return regexp.MustCompile(`<([^>]*)>`).ReplaceAllStringFunc(s, func(m string) string {
		return sha12(m[1 : len(m)-1])
	})
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if ja4.IsGREASE(uint16(v)) {
			n++
			require.Equal(t, byte(0x0a), byte(v)&0x0f, "%#04x", v)
		}
	}
	require.Equal(t, 16, n)
	require.True(t, ja4.IsGREASE(0xfafa))
	require.False(t, ja4.IsGREASE(0x0a1a))
}

var shape = regexp.MustCompile(`^[tq](1[0-3]|s[1-3]|00)[di][0-9]{4}[0-9a-zA-Z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)

// FuzzCompute: whatever a client sends, the fingerprint has JA4's shape
// and fits the engine's 64-byte ja4 field.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{0x13, 0x01, 0x0a, 0x0a}, []byte{0, 0, 0, 0x10}, []byte{4, 3}, "h2", uint16(0x0304))
	f.Add([]byte{}, []byte{}, []byte{}, "", uint16(0))
	f.Fuzz(func(t *testing.T, ciphers, exts, sigs []byte, alpn string, version uint16) {
		ids := func(b []byte) []uint16 {
			var out []uint16
			for i := 0; i+1 < len(b); i += 2 {
				out = append(out, uint16(b[i])<<8|uint16(b[i+1]))
			}
			return out
		}
		h := ja4.Hello{SupportedVersions: []uint16{version}, CipherSuites: ids(ciphers), Extensions: ids(exts),
			SignatureAlgorithms: ids(sigs)}
		if alpn != "" {
			h.ALPN = []string{alpn}
		}
		fp := ja4.Compute(h)
		if !shape.MatchString(fp) || len(fp) > 64 {
			t.Fatalf("%q: not a JA4", fp)
		}
	})
}
