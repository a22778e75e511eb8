package password

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testParams keep argon2id cheap in tests; only the benchmarks and
// TestDefaultParamsRoundTrip use the real cost.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	// 16-byte salt and 32-byte hash, valid unpadded base64.
	validSalt = "c29tZXNhbHRzb21lc2FsdA"
	validHash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
)

func TestParsePHC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Params
		wantErr error
		errText string
	}{
		{name: "default params", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validHash,
			want: Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{name: "max bounds", in: "$argon2id$v=19$m=262144,t=16,p=16$" + validSalt + "$" + validHash,
			want: Params{Memory: MaxMemory, Time: MaxTime, Threads: MaxThreads, SaltLen: 16, KeyLen: 32}},
		{name: "empty", in: "", wantErr: ErrInvalidPHC, errText: "does not start with '$'"},
		{name: "too long", in: "$argon2id$" + strings.Repeat("A", 300), wantErr: ErrInvalidPHC, errText: "longer than 256"},
		{name: "argon2i", in: "$argon2i$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrUnsupportedAlgorithm},
		{name: "bcrypt", in: "$2b$10$abcdefghijklmnopqrstuu5U5P9o9H8bWd1p1ky2Vx0t2XUFT7IWa", wantErr: ErrInvalidPHC},
		{name: "missing version", in: "$argon2id$m=19456,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC, errText: "4 '$'-separated fields"},
		{name: "version 16", in: "$argon2id$v=16$m=19456,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrUnsupportedVersion},
		{name: "version leading zero", in: "$argon2id$v=019$m=19456,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC, errText: "v has a leading zero"},
		{name: "params reordered", in: "$argon2id$v=19$t=2,m=19456,p=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC, errText: `parameter 1 is not "m"`},
		{name: "extra param", in: "$argon2id$v=19$m=19456,t=2,p=1,k=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC, errText: "4 parameters"},
		{name: "negative", in: "$argon2id$v=19$m=-1,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC, errText: "m is not a decimal"},
		{name: "plus sign", in: "$argon2id$v=19$m=+19456,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC},
		{name: "empty m", in: "$argon2id$v=19$m=,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrInvalidPHC, errText: "m is empty"},
		{name: "4 GiB memory", in: "$argon2id$v=19$m=4194304,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange, errText: "above 262144"},
		{name: "uint32 overflow", in: "$argon2id$v=19$m=99999999999,t=2,p=1$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange},
		{name: "t zero", in: "$argon2id$v=19$m=19456,t=0,p=1$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange, errText: "time 0"},
		{name: "t huge", in: "$argon2id$v=19$m=19456,t=1000,p=1$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange, errText: "t=1000"},
		{name: "p zero", in: "$argon2id$v=19$m=19456,t=2,p=0$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange, errText: "threads 0"},
		{name: "p 255", in: "$argon2id$v=19$m=19456,t=2,p=255$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange},
		{name: "m below 8 per lane", in: "$argon2id$v=19$m=16,t=2,p=4$" + validSalt + "$" + validHash, wantErr: ErrParamOutOfRange, errText: "8 KiB per thread"},
		{name: "salt too short", in: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + validHash, wantErr: ErrParamOutOfRange, errText: "salt is 4 bytes"},
		{name: "hash too short", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$aGFzaA", wantErr: ErrParamOutOfRange, errText: "hash is 4 bytes"},
		{name: "padded salt", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "==$" + validHash, wantErr: ErrInvalidPHC, errText: "salt has a character outside the base64 alphabet at offset 22"},
		{name: "url alphabet", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validHash[:len(validHash)-2] + "_w", wantErr: ErrInvalidPHC, errText: "hash has a character outside the base64 alphabet at offset 41"},
		{name: "non-canonical trailing bits", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validHash[:len(validHash)-1] + "h", wantErr: ErrInvalidPHC, errText: "hash is not unpadded standard base64"},
		{name: "CRLF inside salt", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt[:8] + "\r\n" + validSalt[8:] + "$" + validHash, wantErr: ErrInvalidPHC, errText: "salt has a character outside the base64 alphabet at offset 8"},
		{name: "trailing dollar", in: "$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validHash + "$", wantErr: ErrInvalidPHC, errText: "6 '$'-separated fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePHC(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.ErrorIs(t, err, ErrInvalidPHC, "every parse error wraps ErrInvalidPHC")
				require.Contains(t, err.Error(), tt.errText)
				require.NotContains(t, err.Error(), validSalt, "errors never quote the salt")
				require.NotContains(t, err.Error(), validHash[:20], "errors never quote the hash")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Params)
			require.Equal(t, tt.in, got.String(), "parse then encode is the identity")
		})
	}
}

func TestParamsValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultParams().Validate())
	require.NoError(t, testParams.Validate())
	bad := []Params{
		{},
		{Memory: MaxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 128},
	}
	for i, p := range bad {
		require.ErrorIs(t, p.Validate(), ErrParamOutOfRange, "case %d", i)
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validHash)
	f.Add("$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validHash)
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$" + validSalt + "$" + validHash)
	f.Add("$argon2i$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$$$$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParsePHC(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidPHC)
			return
		}
		// Anything accepted is within bounds, so verifying it is safe, and
		// has exactly one encoding.
		require.NoError(t, h.Params.Validate())
		require.LessOrEqual(t, h.Params.Memory, uint32(MaxMemory))
		require.Equal(t, s, h.String())
	})
}
