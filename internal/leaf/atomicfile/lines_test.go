package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDropLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200<<10) + " alice\n"
	tests := []struct {
		name, in, want string
		removed        int
	}{
		{"some", "a alice\nb bob\nc alice\n", "b bob\n", 2},
		{"none", "b bob\n", "b bob\n", 0},
		{"no final newline", "b bob\nalice", "b bob\n", 1},
		{"long line", "b bob\n" + long + "c carol\n", "b bob\nc carol\n", 1},
		{"empty", "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "f.jsonl")
			if err := os.WriteFile(p, []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := DropLines(p, func(l []byte) bool { return bytes.Contains(l, []byte("alice")) })
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tc.want || n != tc.removed {
				t.Fatalf("got %q (%d removed), want %q (%d)", got, n, tc.want, tc.removed)
			}
		})
	}
	if _, err := DropLines(filepath.Join(t.TempDir(), "missing"), func([]byte) bool { return true }); err == nil {
		t.Fatal("a missing file is an error")
	}
}
