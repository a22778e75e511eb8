package httpapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/jsonw"
	"github.com/riskauth/riskauth/rules"
)

// The evaluate answer is rendered by hand rather than by encoding/json:
// encoding/json spent a third of an evaluate request's CPU time on it (the
// feature set alone is some 80 values, and its velocity part a map built
// and sorted per call). The output is the JSON encoding/json would produce
// for the reference value in encode_test.go (evaluateResponse), up to key
// order inside maps and HTML escaping (TestEncoderMatchesEncodingJSON
// checks it on real answers); non-finite
// numbers, which encoding/json refuses, are rendered as null. It is
// written straight from the engine's decision: building a response value
// first cost a quarter as much again, in copies, a map and five
// allocations.

// bufPool recycles response buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// featureEncoder renders rules.Features. Its plan is derived once from the
// struct's json tags, so a feature added to rules is rendered without a
// change here (and TestOpenAPISignalsMatchFeatures asks for it in the
// document).
//
// The plan holds each field's offset from the start of rules.Features and
// reads the field through it: reflect.Value.Field and friends, per field
// and per request, took over a third of the encoder's time. The offsets
// and kinds come from reflect (the same type, checked field by field), so
// every read is of a field of exactly the planned kind.
type featureEncoder struct {
	namespaces []nsPlan
	// velocity caches the velocity counters' rendered keys for the last
	// names slice seen: a schema's, shared by all its feature sets and
	// never changed (rules.Schema copies the names it is given), so the
	// same slice means the same names.
	velocity atomic.Pointer[velocityKeys]
}

type nsKind int

const (
	nsStruct nsKind = iota
	nsVelocity
	nsAttr
)

type nsPlan struct {
	kind   nsKind
	key    string // `"name":`
	omit   bool   // omitempty (for the map)
	fields []fieldPlan
}

type fieldPlan struct {
	offset uintptr // from the start of rules.Features
	key    string  // `,"name":`, without the comma for the first field
	kind   reflect.Kind
	omit   bool
}

// velocityKeys are the rendered keys (`,"name":`) of a list of counter
// names.
type velocityKeys struct {
	names []string
	keys  []string
}

func jsonTag(f reflect.StructField) (name string, omitempty bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(","+opts+",", ",omitempty,")
}

func newFeatureEncoder() *featureEncoder {
	fe := &featureEncoder{}
	ft := reflect.TypeFor[rules.Features]()
	for i := range ft.NumField() {
		f := ft.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		name, omit := jsonTag(f)
		ns := nsPlan{key: strconv.Quote(name) + ":", omit: omit}
		switch {
		case f.Type == reflect.TypeFor[rules.VelocityFeatures]():
			ns.kind = nsVelocity
		case f.Name == "Attr" && f.Type == reflect.TypeFor[map[string]string]():
			ns.kind = nsAttr
		case f.Type.Kind() == reflect.Struct:
			for j := range f.Type.NumField() {
				sf := f.Type.Field(j)
				if !sf.IsExported() || sf.Tag.Get("json") == "-" {
					continue
				}
				n, o := jsonTag(sf)
				// The kinds appendFeatures reads, through pointers to the
				// basic type of each kind (the same memory layout).
				switch sf.Type.Kind() {
				case reflect.Bool, reflect.Int, reflect.Float64, reflect.String:
				default:
					panic("httpapi: feature " + name + "." + n + " has a kind the encoder does not render: " + sf.Type.Kind().String())
				}
				ns.fields = append(ns.fields, fieldPlan{offset: f.Offset + sf.Offset, key: "," + strconv.Quote(n) + ":", kind: sf.Type.Kind(), omit: o})
			}
		default:
			panic("httpapi: feature namespace " + name + " has a kind the encoder does not render")
		}
		fe.namespaces = append(fe.namespaces, ns)
	}
	return fe
}

func (fe *featureEncoder) appendFeatures(b []byte, f *rules.Features) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	base := unsafe.Pointer(f)
	first := true
	for i := range fe.namespaces {
		ns := &fe.namespaces[i]
		if ns.kind == nsAttr && ns.omit && len(f.Attr) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, ns.key...)
		switch ns.kind {
		case nsStruct:
			b = append(b, '{')
			firstField := true
			for j := range ns.fields {
				fp := &ns.fields[j]
				p := unsafe.Add(base, fp.offset)
				if fp.omit && isZero(p, fp.kind) {
					continue
				}
				if firstField {
					b = append(b, fp.key[1:]...)
					firstField = false
				} else {
					b = append(b, fp.key...)
				}
				switch fp.kind {
				case reflect.Bool:
					b = strconv.AppendBool(b, *(*bool)(p))
				case reflect.Int:
					b = strconv.AppendInt(b, int64(*(*int)(p)), 10)
				case reflect.Float64:
					b = jsonw.AppendFloat(b, *(*float64)(p))
				case reflect.String:
					b = jsonw.AppendString(b, *(*string)(p))
				}
			}
			b = append(b, '}')
		case nsVelocity:
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
		case nsAttr:
			b = appendStringMap(b, f.Attr)
		}
	}
	return append(b, '}')
}

// isZero reports whether the field at p, of kind k, is its zero value
// (for omitempty). -0.0 is zero, as for encoding/json.
func isZero(p unsafe.Pointer, k reflect.Kind) bool {
	switch k {
	case reflect.Bool:
		return !*(*bool)(p)
	case reflect.Int:
		return *(*int)(p) == 0
	case reflect.Float64:
		return *(*float64)(p) == 0
	case reflect.String:
		return *(*string)(p) == ""
	}
	return false
}

// velocityKeys returns the rendered keys of names, from the cache when
// names is the slice seen last.
func (fe *featureEncoder) velocityKeys(names []string) []string {
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

// appendDecision renders d as the 200 body of POST /v1/risk/evaluate: the
// JSON encoding/json would write for newEvaluateResponse(d) (up to key
// order inside maps and HTML escaping; TestEncoderMatchesEncodingJSON),
// without building that value first.
func (fe *featureEncoder) appendDecision(b []byte, d *engine.Decision) []byte {
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
