package httpapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riskauth/riskauth/internal/jsonw"
	"github.com/riskauth/riskauth/rules"
)

// The evaluate answer is rendered by hand rather than by encoding/json:
// encoding/json spent a third of an evaluate request's CPU time on it (the
// feature set alone is some 80 values, and its velocity part a map built
// and sorted per call). The output is the JSON encoding/json would produce
// for evaluateResponse, up to key order inside maps and HTML escaping
// (TestEncoderMatchesEncodingJSON checks it on real answers); non-finite
// numbers, which encoding/json refuses, are rendered as null.

// bufPool recycles response buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// featureEncoder renders rules.Features. Its plan is derived once from the
// struct's json tags, so a feature added to rules is rendered without a
// change here (and TestOpenAPISignalsMatchFeatures asks for it in the
// document).
type featureEncoder struct {
	namespaces []nsPlan
}

type nsKind int

const (
	nsStruct nsKind = iota
	nsVelocity
	nsAttr
)

type nsPlan struct {
	kind   nsKind
	index  int
	key    string // `"name":`
	omit   bool   // omitempty (for the map)
	fields []fieldPlan
}

type fieldPlan struct {
	index int
	key   string
	kind  reflect.Kind
	omit  bool
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
		ns := nsPlan{index: i, key: strconv.Quote(name) + ":", omit: omit}
		switch {
		case f.Type == reflect.TypeFor[rules.VelocityFeatures]():
			ns.kind = nsVelocity
		case f.Type.Kind() == reflect.Map:
			ns.kind = nsAttr
		case f.Type.Kind() == reflect.Struct:
			for j := range f.Type.NumField() {
				sf := f.Type.Field(j)
				if !sf.IsExported() || sf.Tag.Get("json") == "-" {
					continue
				}
				n, o := jsonTag(sf)
				switch sf.Type.Kind() {
				case reflect.Bool, reflect.Int, reflect.Float64, reflect.String:
				default:
					panic("httpapi: feature " + name + "." + n + " has a kind the encoder does not render: " + sf.Type.Kind().String())
				}
				ns.fields = append(ns.fields, fieldPlan{index: j, key: strconv.Quote(n) + ":", kind: sf.Type.Kind(), omit: o})
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
	v := reflect.ValueOf(f).Elem()
	first := true
	comma := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for _, ns := range fe.namespaces {
		switch ns.kind {
		case nsStruct:
			comma()
			b = append(b, ns.key...)
			b = append(b, '{')
			sv := v.Field(ns.index)
			n := 0
			for _, fp := range ns.fields {
				fv := sv.Field(fp.index)
				if fp.omit && fv.IsZero() {
					continue
				}
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = append(b, fp.key...)
				switch fp.kind {
				case reflect.Bool:
					b = strconv.AppendBool(b, fv.Bool())
				case reflect.Int:
					b = strconv.AppendInt(b, fv.Int(), 10)
				case reflect.Float64:
					b = jsonw.AppendFloat(b, fv.Float())
				case reflect.String:
					b = jsonw.AppendString(b, fv.String())
				}
			}
			b = append(b, '}')
		case nsVelocity:
			comma()
			b = append(b, ns.key...)
			b = append(b, `{"available":`...)
			b = strconv.AppendBool(b, f.Velocity.Available)
			for i, name := range f.Velocity.Names() {
				if i >= len(f.Velocity.Values) {
					break
				}
				b = append(b, ',')
				b = jsonw.AppendString(b, name)
				b = append(b, ':')
				b = strconv.AppendInt(b, int64(f.Velocity.Values[i]), 10)
			}
			b = append(b, '}')
		case nsAttr:
			if ns.omit && len(f.Attr) == 0 {
				continue
			}
			comma()
			b = append(b, ns.key...)
			b = appendStringMap(b, f.Attr)
		}
	}
	return append(b, '}')
}

func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
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

// appendEvaluateResponse renders r as encoding/json would.
func (fe *featureEncoder) appendEvaluateResponse(b []byte, r *evaluateResponse) []byte {
	b = append(b, `{"evaluation_id":`...)
	b = jsonw.AppendString(b, r.EvaluationID)
	b = append(b, `,"decision":`...)
	b = jsonw.AppendString(b, r.Decision)
	b = append(b, `,"score":`...)
	b = jsonw.AppendFloat(b, r.Score)
	b = append(b, `,"reasons":`...)
	b = appendReasons(b, r.Reasons)
	if r.ShadowDecision != "" {
		b = append(b, `,"shadow_decision":`...)
		b = jsonw.AppendString(b, r.ShadowDecision)
	}
	if len(r.ShadowReasons) > 0 {
		b = append(b, `,"shadow_reasons":`...)
		b = appendReasons(b, r.ShadowReasons)
	}
	b = append(b, `,"alert":`...)
	b = jsonw.AppendString(b, r.Alert)
	b = append(b, `,"floored":`...)
	b = strconv.AppendBool(b, r.Floored)
	b = append(b, `,"signals":`...)
	b = fe.appendFeatures(b, r.Signals)
	b = append(b, `,"signal_status":`...)
	if r.SignalStatus == nil {
		b = append(b, "null"...)
	} else {
		names := make([]string, 0, len(r.SignalStatus))
		for n := range r.SignalStatus {
			names = append(names, n)
		}
		slices.Sort(names)
		b = append(b, '{')
		for i, n := range names {
			st := r.SignalStatus[n]
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, n)
			b = append(b, `:{"available":`...)
			b = strconv.AppendBool(b, st.Available)
			b = append(b, `,"ms":`...)
			b = jsonw.AppendFloat(b, st.Millis)
			if st.Error != "" {
				b = append(b, `,"error":`...)
				b = jsonw.AppendString(b, st.Error)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `,"ruleset_version":`...)
	b = jsonw.AppendString(b, r.RuleSetVersion)
	b = append(b, `,"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

func appendReasons(b []byte, rs []reason) []byte {
	if rs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = jsonw.AppendString(b, r.Rule)
		b = append(b, `,"description":`...)
		b = jsonw.AppendString(b, r.Description)
		b = append(b, `,"score":`...)
		b = jsonw.AppendFloat(b, r.Score)
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
// else through encoding/json (null when it cannot be encoded).
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
