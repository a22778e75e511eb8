package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// A message nested past the limit is shown as not JSON, refused before
// encoding/json decodes it.
func TestFormatAlertDeepMessage(t *testing.T) {
	t.Parallel()
	out := formatAlert([]byte(`{"class_name":"Detection Finding","x":` + strings.Repeat("[", 30000)))
	assert.True(t, strings.HasPrefix(out, "(not JSON: JSON nested too deeply: more than 32 levels of arrays and objects) "), out)
	assert.Contains(t, formatAlert([]byte(`{"time":0,"severity":"High","x":`+strings.Repeat("[", 31)+strings.Repeat("]", 31)+`}`)), "HIGH")
}

// FuzzFormatAlert feeds arbitrary messages (a topic anyone may write to)
// to the tail's formatter: it never panics, and shows a message nested
// past the limit as not JSON.
func FuzzFormatAlert(f *testing.F) {
	for _, s := range []string{
		`{"time":1795968000000,"class_name":"Detection Finding","severity":"High","user":{"uid":"alice"},"finding_info":{"title":"t"}}`,
		`{"unmapped":{"riskauth":{"decision":"block","score":90,"reasons":[{"rule":"r"}]}}}`, `null`, `[]`, `x`,
		strings.Repeat("[", 40), strings.Repeat(`{"a":[`, 1000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := formatAlert(raw)
		if jsondepth.Exceeds(raw, jsondepth.Limit) && !strings.HasPrefix(out, "(not JSON: JSON nested too deeply") {
			t.Fatalf("nested %d deep, shown as %q", jsondepth.Depth(raw), out)
		}
	})
}
