package config_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/internal/config"
)

func TestParseNamedKeys(t *testing.T) {
	t.Parallel()
	k1 := bytes.Repeat([]byte{0xfb}, 32) // encodes with '+' / '-' and '/' / '_'
	std := base64.StdEncoding.EncodeToString(k1)
	url := base64.RawURLEncoding.EncodeToString(k1)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name    string
		spec    string
		want    []config.NamedKey
		errText string
	}{
		{name: "one", spec: "k1:" + std, want: []config.NamedKey{{ID: "k1", Key: k1}}},
		{name: "two with spaces, order kept", spec: " k2:" + std + " , k1:" + url + " ", want: []config.NamedKey{{ID: "k2", Key: k1}, {ID: "k1", Key: k1}}},
		{name: "unpadded std", spec: "k1:" + strings.TrimRight(std, "="), want: []config.NamedKey{{ID: "k1", Key: k1}}},
		{name: "empty", spec: " ", errText: "empty"},
		{name: "no colon", spec: std, errText: "entry 1: want <id>:<base64 key>"},
		{name: "empty id", spec: ":" + std, errText: "entry 1: key id must be 1 to 32"},
		{name: "empty key", spec: "k1:", errText: `entry 1 (key "k1"): empty key`},
		{name: "duplicate", spec: "k1:" + std + ",k1:" + std, errText: `entry 2: duplicate key id "k1"`},
		{name: "trailing comma", spec: "k1:" + std + ",", errText: "entry 2: want"},
		{name: "not base64", spec: "k1:" + std[:10] + "!" + std[11:], errText: `entry 1 (key "k1"): key has a character outside the base64 alphabet at offset 10`},
		{name: "misplaced padding", spec: "k1:" + std[:10] + "=" + std[11:], errText: `entry 1 (key "k1"): key is not valid base64`},
		{name: "newline in key", spec: "k1:" + std[:20] + "\n" + std[20:], errText: `entry 1 (key "k1"): key has a character outside the base64 alphabet at offset 20`},
		{name: "16 bytes", spec: "k1:" + short, errText: `entry 1 (key "k1"): 16 bytes, want 32`},
		{name: "swapped order", spec: std + ":k1", errText: "entry 1: key id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseNamedKeys(tt.spec, seal.KeySize)
			if tt.errText != "" {
				require.ErrorContains(t, err, tt.errText)
				require.NotContains(t, err.Error(), std[:16], "errors never show key material")
				require.NotContains(t, err.Error(), url[:16], "errors never show key material")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			m := map[string][]byte{}
			for _, k := range got {
				m[k.ID] = k.Key
			}
			_, err = seal.New(m, got[0].ID)
			require.NoError(t, err, "every parsed list is a valid sealer key set")
		})
	}
}

func FuzzParseNamedKeys(f *testing.F) {
	std := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	f.Add("k1:" + std)
	f.Add("k1:" + std + ",k2:" + std)
	f.Add(":,:,")
	f.Add("k1:" + std[:20] + "\n" + std[20:])
	f.Fuzz(func(t *testing.T, spec string) {
		keys, err := config.ParseNamedKeys(spec, 32)
		if err != nil {
			require.NotContains(t, err.Error(), std, "errors never show key material")
			return
		}
		require.NotEmpty(t, keys)
		m := map[string][]byte{}
		for _, k := range keys {
			require.Len(t, k.Key, 32)
			m[k.ID] = k.Key
		}
		_, err = seal.New(m, keys[0].ID)
		require.NoError(t, err, "ids the parser accepts are ids the sealer accepts")
	})
}
