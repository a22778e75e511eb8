package wire

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/jsonw"
)

// The evaluate answer is rendered by hand rather than by encoding/json:
// encoding/json spent a third of an evaluate request's CPU time on it (the
// feature set alone is some 80 values, and its velocity part a map built
// and sorted per call). The output is the JSON encoding/json would produce
// for the reference value in decision_test.go (evaluateResponse), up to key
// order inside maps and HTML escaping (TestEncoderMatchesEncodingJSON
// checks it on real answers); non-finite numbers, which encoding/json
// refuses, are rendered as null. It is written straight from the engine's
// decision: building a response value first cost a quarter as much again,
// in copies, a map and five allocations.

// Encoder renders the evaluate answer (AppendDecision). Its plan for the
// feature set is the feature layout (risk.Layout), so a feature added to
// Features is rendered without a change here (and
// TestOpenAPISignalsMatchFeatures asks for it in the document). The layout reads each field through its offset: reflect's
// Value.Field and friends, per field and per request, took over a third
// of the encoder's time.
//
// Build it once with NewEncoder and share it: it is safe for concurrent
// use.
type Encoder struct {
	namespaces []nsPlan
	// velocity caches the velocity counters' rendered keys for the last
	// names slice seen: a schema's, shared by all its feature sets and
	// never changed (rules.Schema copies the names it is given), so the
	// same slice means the same names.
	velocity atomic.Pointer[velocityKeys]
}

type nsPlan struct {
	kind   risk.NamespaceKind
	key    string // `"name":`
	omit   bool   // omitempty (for the map)
	fields []fieldPlan
}

type fieldPlan struct {
	risk.Field
	key string // `,"name":`, without the comma for the first field
}

// velocityKeys are the rendered keys (`,"name":`) of a list of counter
// names.
type velocityKeys struct {
	names []string
	keys  []string
}

// NewEncoder builds an Encoder for the feature layout of this build.
func NewEncoder() *Encoder {
	fe := &Encoder{}
	for _, ns := range risk.Layout() {
		if ns.JSON == "-" {
			continue
		}
		p := nsPlan{kind: ns.Kind, key: strconv.Quote(ns.JSON) + ":", omit: ns.OmitEmpty}
		if ns.Kind == risk.NamespaceStruct {
			for _, f := range ns.Fields {
				if f.JSON != "-" {
					p.fields = append(p.fields, fieldPlan{Field: f, key: "," + strconv.Quote(f.JSON) + ":"})
				}
			}
		}
		fe.namespaces = append(fe.namespaces, p)
	}
	return fe
}

func (fe *Encoder) appendFeatures(b []byte, f *risk.Features) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	for i := range fe.namespaces {
		ns := &fe.namespaces[i]
		if ns.kind == risk.NamespaceAttr && ns.omit && len(f.Attr) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, ns.key...)
		switch ns.kind {
		case risk.NamespaceStruct:
			b = append(b, '{')
			firstField := true
			for j := range ns.fields {
				fp := &ns.fields[j]
				if fp.OmitEmpty && fp.IsZero(f) {
					continue
				}
				if firstField {
					b = append(b, fp.key[1:]...)
					firstField = false
				} else {
					b = append(b, fp.key...)
				}
				switch fp.Kind {
				case risk.KindBool:
					b = strconv.AppendBool(b, fp.Bool(f))
				case risk.KindInt:
					b = strconv.AppendInt(b, int64(fp.Int(f)), 10)
				case risk.KindFloat:
					b = jsonw.AppendFloat(b, fp.Float(f))
				case risk.KindString:
					b = jsonw.AppendString(b, fp.Str(f))
				}
			}
			b = append(b, '}')
		case risk.NamespaceVelocity:
			b = append(b, `{"available":`...)
			b = strconv.AppendBool(b, f.Velocity.Available)
			for i, key := range fe.velocityKeys(f.Velocity.Names()) {
				if i >= len(f.Velocity.Values) {
					break
				}
				b = append(b, key...)
				b = strconv.AppendInt(b, int64(f.Velocity.Values[i]), 10)
			}
			b = append(b, '}')
		case risk.NamespaceAttr:
			b = appendStringMap(b, f.Attr)
		}
	}
	return append(b, '}')
}

// velocityKeys returns the rendered keys of names, from the cache when
// names is the slice seen last.
func (fe *Encoder) velocityKeys(names []string) []string {
	if c := fe.velocity.Load(); c != nil && len(c.names) == len(names) &&
		(len(names) == 0 || &c.names[0] == &names[0]) {
		return c.keys
	}
	c := &velocityKeys{names: names, keys: make([]string, len(names))}
	for i, n := range names {
		c.keys[i] = "," + string(jsonw.AppendString(nil, n)) + ":"
	}
	fe.velocity.Store(c)
	return c.keys
}

// appendStringMap renders m with sorted keys, as encoding/json does.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var room [16]string // sorting small maps allocates nothing
	keys := room[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, k)
		b = append(b, ':')
		b = jsonw.AppendString(b, m[k])
	}
	return append(b, '}')
}

// AppendDecision appends d, rendered as the 200 body of POST
// /v1/risk/evaluate, to b and returns the extended buffer: the JSON
// encoding/json would write for newEvaluateResponse(d) in decision_test.go
// (up to key order inside maps and HTML escaping;
// TestEncoderMatchesEncodingJSON), without building that value first.
// With a buffer of enough capacity it allocates nothing.
func (fe *Encoder) AppendDecision(b []byte, d *engine.Decision) []byte {
	b = append(b, `{"evaluation_id":`...)
	b = jsonw.AppendString(b, d.EvaluationID)
	b = append(b, `,"decision":`...)
	b = jsonw.AppendString(b, d.Action.String())
	b = append(b, `,"score":`...)
	b = jsonw.AppendFloat(b, finite(d.Score))
	b = append(b, `,"reasons":`...)
	b = appendReasons(b, d.Reasons)
	if len(d.Shadow) > 0 || d.ShadowAction != d.Action {
		if s := d.ShadowAction.String(); s != "" {
			b = append(b, `,"shadow_decision":`...)
			b = jsonw.AppendString(b, s)
		}
		if len(d.Shadow) > 0 {
			b = append(b, `,"shadow_reasons":`...)
			b = appendReasons(b, d.Shadow)
		}
	}
	b = append(b, `,"alert":`...)
	b = jsonw.AppendString(b, d.Alert.String())
	b = append(b, `,"floored":`...)
	b = strconv.AppendBool(b, d.Floored)
	b = append(b, `,"signals":`...)
	b = fe.appendFeatures(b, d.Features)
	b = append(b, `,"signal_status":{`...)
	for i, st := range d.Signals { // sorted by name
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, st.Name)
		b = append(b, `:{"available":`...)
		b = strconv.AppendBool(b, st.Available)
		b = append(b, `,"ms":`...)
		b = jsonw.AppendFloat(b, finite(st.Millis))
		if st.Error != "" {
			b = append(b, `,"error":`...)
			b = jsonw.AppendString(b, st.Error)
		}
		b = append(b, '}')
	}
	b = append(b, `},"ruleset_version":`...)
	b = jsonw.AppendString(b, d.RuleSetVersion)
	b = append(b, `,"time":"`...)
	b = d.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// appendReasons renders reasons; none is [], never null.
func appendReasons(b []byte, rs []engine.Reason) []byte {
	b = append(b, '[')
	for i := range rs {
		r := &rs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = jsonw.AppendString(b, r.Rule)
		b = append(b, `,"description":`...)
		b = jsonw.AppendString(b, r.Description)
		b = append(b, `,"score":`...)
		b = jsonw.AppendFloat(b, finite(r.Score))
		if r.Action != "" {
			b = append(b, `,"action":`...)
			b = jsonw.AppendString(b, r.Action)
		}
		if r.Alert != "" {
			b = append(b, `,"alert":`...)
			b = jsonw.AppendString(b, r.Alert)
		}
		if len(r.Evidence) > 0 {
			b = append(b, `,"evidence":[`...)
			for j, e := range r.Evidence {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"field":`...)
				b = jsonw.AppendString(b, e.Field)
				b = append(b, `,"value":`...)
				b = appendAny(b, e.Value)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendAny renders an evidence value: the common kinds directly, anything
// else through encoding/json; null when it cannot be encoded (a
// non-finite float).
func appendAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return jsonw.AppendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return jsonw.AppendFloat(b, x)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

// finite maps NaN and infinities, which JSON cannot carry, to 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
