package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	v4 := filepath.Join(dir, "asn-ipv4.csv")
	v6 := filepath.Join(dir, "asn-ipv6.csv")
	require.NoError(t, os.WriteFile(v4, []byte("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n8.8.8.0,8.8.8.255,15169,Google LLC\n10.0.0.0,10.255.255.255,64512,Private\n"), 0o644))
	require.NoError(t, os.WriteFile(v6, []byte("2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n"), 0o644))
	out := filepath.Join(dir, "asn.mmdb")
	require.NoError(t, run(out, 1781722800, []string{v4, v6}))

	r, err := maxminddb.Open(out)
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, "asn ipvAll", r.Metadata.DatabaseType)
	assert.Equal(t, int64(1781722800), r.Metadata.BuildTime().Unix())
	type rec struct {
		ASN uint32 `maxminddb:"autonomous_system_number"`
		Org string `maxminddb:"autonomous_system_organization"`
	}
	for ip, want := range map[string]rec{
		"1.0.0.7":              {13335, "Cloudflare, Inc."},
		"8.8.8.8":              {15169, "Google LLC"},
		"2001:4860:4860::8888": {15169, "Google LLC"},
		"9.9.9.9":              {},
		"10.1.2.3":             {}, // reserved networks are skipped
	} {
		var got rec
		require.NoError(t, r.Lookup(netip.MustParseAddr(ip)).Decode(&got))
		assert.Equal(t, want, got, ip)
	}

	// Malformed input names the line.
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("1.0.0.0,1.0.0.255,13335,x\nnot-an-ip,1.0.1.255,1,y\n"), 0o644))
	err = run(filepath.Join(dir, "bad.mmdb"), 0, []string{bad})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2")
}
