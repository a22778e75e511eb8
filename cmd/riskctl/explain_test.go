package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// TestExplainStdin reads the input from stdin ("-" or no argument), and
// accepts the OCSF encoder's own current output (its golden file), so a
// change to the decision event that breaks explain shows up here.
func TestExplainStdin(t *testing.T) {
	t.Parallel()
	ocsfGolden, err := os.ReadFile("../../engine/alert/ocsf/testdata/authentication.golden.json")
	require.NoError(t, err)
	event, err := os.ReadFile("testdata/explain/event.json")
	require.NoError(t, err)
	tests := []struct {
		name  string
		args  []string
		input []byte
		code  int
		want  string
	}{
		{"event from stdin", []string{"-config", "", "-"}, event, 0, "decision: step_up"},
		{"decision without argument", []string{"-config", ""}, ocsfGolden, 0, "recorded decision: step_up"},
		{"empty", []string{"-config", ""}, nil, 2, "want one JSON object"},
		{"two values", []string{"-config", ""}, []byte(`{"event":"login"} {"event":"login"}`), 2, "one event or decision at a time"},
		{"unknown key", []string{"-config", ""}, []byte(`{"event":"login","usr_id":"x"}`), 2, `unknown field "usr_id"`},
		{"bad ip", []string{"-config", ""}, []byte(`{"event":"login","ip":"300.1.1.1"}`), 2, "event: ip:"},
		{"not a decision", []string{"-config", ""}, []byte(`{"class_uid":2004}`), 2, "recorded decision:"},
		{"nested too deeply", []string{"-config", ""}, []byte(`{"event":"login","attributes":` + strings.Repeat("[", 30000) + `}`), 2,
			"input: JSON nested too deeply: more than 32 levels of arrays and objects"},
		{"bad format", []string{"-format", "yaml"}, event, 2, "usage:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := explainCmd(tc.args, bytes.NewReader(tc.input), &out, &errOut)
			assert.Equal(t, tc.code, code, errOut.String())
			assert.Contains(t, out.String()+errOut.String(), tc.want)
		})
	}
}

// FuzzExplainInput feeds untrusted bytes to explain's input decoder: it
// must never panic, and an accepted event must be one the engine accepts.
func FuzzExplainInput(f *testing.F) {
	for _, p := range []string{"testdata/explain/event.json", "testdata/explain/decision.json"} {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"event":"login","ip":"::ffff:192.0.2.1","device":{"languages":["en"]}}`))
	f.Add([]byte(`{"class_uid":3002,"metadata":{"uid":"x"},"unmapped":{"riskauth":{"decision":"block","features":{"velocity":{"x":1}}}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"event":"login","x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`))
	f.Add([]byte(strings.Repeat(`{"a":[`, 1000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := decodeExplainInput(data)
		if deep := jsondepth.Exceeds(bytes.TrimSpace(data), jsondepth.Limit); deep != errors.Is(err, jsondepth.ErrTooDeep) {
			t.Fatalf("nested %d deep: %v", jsondepth.Depth(data), err)
		}
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error message")
			}
			return
		}
		switch {
		case in.Event != nil:
			if err := in.Event.Validate(); err != nil {
				t.Fatalf("accepted an invalid event: %v", err)
			}
		case in.Record != nil:
			if in.Record.Features == nil {
				t.Fatal("accepted a decision without features")
			}
		default:
			t.Fatal("accepted input of neither kind")
		}
	})
}
