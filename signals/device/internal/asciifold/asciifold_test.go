package asciifold

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		s, p             string
		prefix, contains bool
	}{
		{"Mozilla/5.0", "mozilla", true, true},
		{"curl/8.0", "curl/", true, true},
		{"x HeadlessChrome", "headless", false, true},
		{"Win", "windows", false, false},
		{"", "", true, true},
		{"ÄBC", "äbc", false, false}, // ASCII only: multi-byte letters are not folded
	} {
		t.Run(tc.s+"/"+tc.p, func(t *testing.T) {
			if got := HasPrefix(tc.s, tc.p); got != tc.prefix {
				t.Errorf("HasPrefix = %v, want %v", got, tc.prefix)
			}
			if got := Contains([]byte(tc.s), tc.p); got != tc.contains {
				t.Errorf("Contains = %v, want %v", got, tc.contains)
			}
		})
	}
}
