package backtest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/rules/backtest/fixture"
)

// fixtureLines are real encoder output: every decision the fixture's
// engine run made, each followed by its finding when it alerts.
var fixtureLines = sync.OnceValues(func() ([][]byte, error) {
	ds, err := fixture.Decisions(context.Background(), "testdata/baseline.yaml")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := fixture.Write(&b, ds, fixture.WriteOptions{Findings: true}); err != nil {
		return nil, err
	}
	return bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")), nil
})

func testSchema(t testing.TB) *rules.Schema {
	t.Helper()
	s, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	require.NoError(t, err)
	return s
}

// check compares the parser with ocsf.ParseDecision + FeaturesFromMap on
// one input: whenever those accept it, the parser must give the same
// record and features. (Where they reject it the parser may be more
// lenient, for example with a null feature value.)
func check(t testing.TB, p *parser, data []byte) {
	t.Helper()
	ref, refErr := ocsf.ParseDecision(data)
	got, err := p.parse(data)
	if refErr != nil {
		return
	}
	if err != nil {
		t.Fatalf("ParseDecision accepts %q, the parser says %v", data, err)
	}
	want := *ref
	want.Features = nil
	if !reflect.DeepEqual(want, got.DecisionRecord) {
		t.Fatalf("record differs for %q:\nwant %+v\n got %+v", data, want, got.DecisionRecord)
	}
	if ref.Features == nil {
		if got.features != nil || got.featuresErr != nil {
			t.Fatalf("no snapshot in %q, the parser has %v %v", data, got.features, got.featuresErr)
		}
		return
	}
	f, ferr := p.schema.FeaturesFromMap(ref.Features)
	if ferr != nil {
		return
	}
	if got.featuresErr != nil {
		t.Fatalf("FeaturesFromMap accepts %q, the parser says %v", data, got.featuresErr)
	}
	if !reflect.DeepEqual(f, got.features) {
		t.Fatalf("features differ for %q:\nwant %+v\n got %+v", data, f, got.features)
	}
}

// TestParseMatches holds the parser to ParseDecision + FeaturesFromMap on
// every message the real encoder wrote for the fixture, and on edge cases
// of the JSON both read.
func TestParseMatches(t *testing.T) {
	t.Parallel()
	lines, err := fixtureLines()
	require.NoError(t, err)
	p := newParser(testSchema(t))
	decisions := 0
	for _, l := range lines {
		check(t, p, l)
		if rec, err := p.parse(l); err == nil {
			require.NoError(t, rec.featuresErr)
			require.NotNil(t, rec.features)
			decisions++
		} else {
			require.ErrorIs(t, err, ocsf.ErrNotDecision)
			require.Equal(t, 2004, p.class)
		}
	}
	require.Positive(t, decisions)
	cases := map[string]string{
		"minimal":             `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block"}}}`,
		"folded keys":         `{"CLASS_UID":3002,"Metadata":{"UID":"m"},"Unmapped":{"RiskAuth":{"Decision":"step_up","Features":{"geo":{"country":"FR"}}}}}`,
		"last key wins":       `{"class_uid":2004,"class_uid":3002,"metadata":{"uid":"a","uid":"b"},"unmapped":{"riskauth":{"decision":"block","features":{"geo":{"country":"FR","country":"DE"},"user":{"logins":"x"},"user":{"logins":3}}}}}`,
		"nulls":               `{"class_uid":3002,"time":null,"user":null,"metadata":{"uid":"m","correlation_uid":null},"unmapped":{"riskauth":{"decision":"block","reasons":[null,{"rule":"r"}],"features":null}}}`,
		"correlation id":      `{"class_uid":3002,"time":1795867200123,"metadata":{"uid":"m","correlation_uid":"c"},"unmapped":{"riskauth":{"decision":"passwordless","score":-12.5}}}`,
		"attr scalars":        `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"attr":{"a":1,"b":true,"c":null,"d":"x","e":1e21,"f":[1,"2"],"g":{"h":1}}}}}}`,
		"integral floats":     `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"user":{"logins":3.0},"velocity":{"ip_failures_10m":1e2}}}}}`,
		"invalid utf8":        "{\"class_uid\":3002,\"user\":{\"uid\":\"a\xffb\"},\"metadata\":{\"uid\":\"m\"},\"unmapped\":{\"riskauth\":{\"decision\":\"block\"}}}",
		"escapes":             `{"class_uid":3002,"user":{"uid":"\u00e9\ud83d\ude00\n\"x"},"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block"}}}`,
		"empty features":      `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{}}}}`,
		"familiarity":         `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"step_up","reasons":[{"rule":"unfamiliar","score":40,"evidence":[{"field":"familiarity.score","value":1.2}],"familiarity":[{"feature":"device_id","value":"d_1","seen":false,"user_weight":0,"global_count":1,"global_prob":1e-5,"user_prob":2.5e-6,"contribution":0.6},{"feature":"country","value":"US","seen":true,"contribution":-0.1}]}],"features":{"familiarity":{"available":true,"score":1.2,"cold_start":false,"logins":9.5,"prior":0.3,"top":"device_id"}}}}}`,
		"feature errors":      `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"zz":{},"geo":{"nope":1,"lat":"x"},"velocity":{"nope_1m":2}}}}}`,
		"time not integral":   `{"class_uid":3002,"time":1.5,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block"}}}`,
		"features not object": `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":[]}}}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) { check(t, newParser(testSchema(t)), []byte(in)) })
	}
	t.Run("feature errors are listed in FeaturesFromMap's order", func(t *testing.T) {
		rec, err := newParser(testSchema(t)).parse([]byte(cases["feature errors"]))
		require.NoError(t, err)
		require.EqualError(t, rec.featuresErr, `geo.lat: want a number, got string; unknown field geo.nope; unknown field velocity.nope_1m; unknown namespace "zz"`)
	})
}

// FuzzParse checks the parser against ParseDecision + FeaturesFromMap on
// arbitrary input (see check), starting from real encoder output.
func FuzzParse(f *testing.F) {
	lines, err := fixtureLines()
	require.NoError(f, err)
	for i, l := range lines {
		if i%7 == 0 {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"user":{"logins":3.0}}}}}`))
	f.Add(deepLine(jsondepth.Limit - 4))
	f.Add(deepLine(jsondepth.Limit - 3))
	f.Add([]byte(strings.Repeat(`{"a":[`, 1000)))
	s := testSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newParser(s)
		if _, err := p.parse(data); jsondepth.Exceeds(data, jsondepth.Limit) != errors.Is(err, jsondepth.ErrTooDeep) {
			t.Fatalf("nested %d deep: %v", jsondepth.Depth(data), err)
		}
		if !utf8.Valid(data) || bytes.Contains(bytes.ToLower(data), []byte(`\ud`)) {
			// Invalid UTF-8 and escaped surrogates: both read them, but
			// may replace bad sequences differently; only display text
			// is affected. Never a panic, though.
			_, _ = p.parse(data)
			return
		}
		check(t, p, data)
	})
}

// BenchmarkLine splits one event's cost: parsing with the features, and
// the rules.
func BenchmarkLine(b *testing.B) {
	lines, err := fixtureLines()
	require.NoError(b, err)
	s := testSchema(b)
	rs, err := rules.LoadFile("testdata/candidate.yaml", s)
	require.NoError(b, err)
	p := newParser(s)
	var line []byte
	var rec *parsed
	for _, l := range lines[len(lines)/2:] { // a sign-in with a history
		if rec, err = p.parse(l); err == nil && rec.features != nil {
			line = l
			break
		}
	}
	require.NotNil(b, line)
	b.SetBytes(int64(len(line)))
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			_, _ = p.parse(line)
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		for b.Loop() {
			_ = rs.Evaluate(rec.features, time.Time{})
		}
	})
}
