package backtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
	"github.com/riskauth/riskauth/rules"
)

// Why a parser of its own: ocsf.ParseDecision decodes the whole message
// with encoding/json and the snapshot into a map[string]any, which
// (*rules.Schema).FeaturesFromMap then walks with reflection. Together
// that is over 100µs per event, minutes for a million on two cores.
// parser reads the same fields with the same checks in one pass of
// fastjson (already used by internal/httpapi for the same reason) and sets
// the features through a table built once per schema. TestParseMatches
// and FuzzParse hold it to ParseDecision + FeaturesFromMap: whenever those
// accept a line, the parser yields the same record and the same features.

// parser reads decision events; it is not safe for concurrent use (each
// worker has its own), and its results stay valid after the next call.
type parser struct {
	p      fastjson.Parser
	schema *rules.Schema
	fields map[string]map[string]setter // namespace -> field -> setter
	names  map[string]string            // namespace names, interned
	num    []byte
	// class is the class_uid of the last message parsed, 0 when it had
	// none: a skipped message is counted by class.
	class int
}

// setter stores one JSON value into a feature field.
type setter func(f reflect.Value, v *fastjson.Value) error

// parsed is one decision event with its rebuilt features (nil when the
// message carries no snapshot).
type parsed struct {
	ocsf.DecisionRecord
	features *risk.Features
	// featuresErr is why the snapshot could not be rebuilt.
	featuresErr error
}

// errNotObject: the snapshot is there but is not a JSON object.
var errNotObject = errors.New("features: want an object")

// newParser builds the feature setters for schema, by the expr tags that
// FeaturesFromMap uses.
func newParser(schema *rules.Schema) *parser {
	p := &parser{schema: schema, fields: map[string]map[string]setter{},
		names: map[string]string{"velocity": "velocity", "attr": "attr"}}
	ft := reflect.TypeFor[risk.Features]()
	for i := range ft.NumField() {
		sf := ft.Field(i)
		ns := sf.Tag.Get("expr")
		if sf.Type.Kind() != reflect.Struct || ns == "velocity" {
			continue
		}
		m := map[string]setter{}
		for j := range sf.Type.NumField() {
			name := sf.Type.Field(j).Tag.Get("expr")
			if name == "" {
				continue
			}
			m[name] = fieldSetter(i, j, sf.Type.Field(j).Type.Kind(), ns+"."+name)
		}
		p.fields[ns] = m
		p.names[ns] = ns
	}
	return p
}

// fieldSetter mirrors FeaturesFromMap's per-kind checks.
func fieldSetter(ns, field int, kind reflect.Kind, path string) setter {
	switch kind {
	case reflect.Bool:
		return func(f reflect.Value, v *fastjson.Value) error {
			b, err := v.Bool()
			if err != nil {
				return fmt.Errorf("%s: want a bool, got %s", path, v.Type())
			}
			f.Field(ns).Field(field).SetBool(b)
			return nil
		}
	case reflect.Int:
		return func(f reflect.Value, v *fastjson.Value) error {
			n, ok := intOf(v)
			if !ok {
				return fmt.Errorf("%s: want an integer, got %s", path, v.Type())
			}
			f.Field(ns).Field(field).SetInt(int64(n))
			return nil
		}
	case reflect.Float64:
		return func(f reflect.Value, v *fastjson.Value) error {
			x, err := v.Float64()
			if err != nil {
				return fmt.Errorf("%s: want a number, got %s", path, v.Type())
			}
			f.Field(ns).Field(field).SetFloat(x)
			return nil
		}
	case reflect.String:
		return func(f reflect.Value, v *fastjson.Value) error {
			if v.Type() != fastjson.TypeString {
				return fmt.Errorf("%s: want a string, got %s", path, v.Type())
			}
			f.Field(ns).Field(field).SetString(str(v))
			return nil
		}
	}
	return func(reflect.Value, *fastjson.Value) error { return fmt.Errorf("%s: unsupported field type", path) }
}

// intOf is FeaturesFromMap's integer test on a JSON number: a float64
// that converts to int and back unchanged.
func intOf(v *fastjson.Value) (int, bool) {
	x, err := v.Float64()
	if err != nil || x != float64(int(x)) {
		return 0, false
	}
	return int(x), true
}

// str returns a JSON string value as encoding/json would: invalid UTF-8
// bytes become U+FFFD.
func str(v *fastjson.Value) string {
	b, _ := v.StringBytes()
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}

// field returns the value of key in o the way encoding/json assigns struct
// fields: the last key matching (case-insensitively) wins; nil when absent
// or null, which encoding/json leaves untouched.
func field(o *fastjson.Object, key string) *fastjson.Value {
	var out *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) {
		if len(k) == len(key) && bytes.EqualFold(k, []byte(key)) {
			out = v
		}
	})
	if out != nil && out.Type() == fastjson.TypeNull {
		return nil
	}
	return out
}

// object is field for an object value; ok is false for another type.
func object(o *fastjson.Object, key string) (*fastjson.Object, bool) {
	v := field(o, key)
	if v == nil {
		return nil, true
	}
	obj, err := v.Object()
	return obj, err == nil
}

// strField is field for a string value.
func strField(o *fastjson.Object, key string, dst *string) error {
	v := field(o, key)
	if v == nil {
		return nil
	}
	if v.Type() != fastjson.TypeString {
		return fmt.Errorf("%s: want a string, got %s", key, v.Type())
	}
	*dst = str(v)
	return nil
}

// parse reads one OCSF message. Errors wrap ocsf.ErrNotDecision for a
// message that is not a riskauth decision (another class); anything else
// is malformed. A snapshot that cannot be rebuilt is not an error here:
// it is reported in parsed.featuresErr, so the caller can tell the two
// apart.
func (p *parser) parse(data []byte) (*parsed, error) {
	// Before fastjson, which recurses and builds an error per level up to
	// its own limit (300) before it refuses: megabytes per line.
	if err := jsondepth.Check(data, jsondepth.Limit); err != nil {
		return nil, fmt.Errorf("decision event: %w", err)
	}
	root, err := p.p.ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("decision event: %w", err)
	}
	top, err := root.Object()
	if err != nil {
		return nil, fmt.Errorf("decision event: want an object, got %s", root.Type())
	}
	p.class = 0
	c := field(top, "class_uid")
	if c == nil {
		return nil, fmt.Errorf("%w: no class_uid", ocsf.ErrNotDecision)
	}
	n, err := c.Int()
	if err != nil {
		return nil, fmt.Errorf("decision event: class_uid: want an integer, got %s", c.Type())
	}
	p.class = n
	if n != classAuthentication {
		return nil, fmt.Errorf("%w: class_uid is not %d", ocsf.ErrNotDecision, classAuthentication)
	}
	unmapped, ok := object(top, "unmapped")
	if !ok {
		return nil, errors.New("decision event: unmapped: want an object")
	}
	var ra *fastjson.Object
	if unmapped != nil {
		if ra, ok = object(unmapped, "riskauth"); !ok {
			return nil, errors.New("decision event: unmapped.riskauth: want an object")
		}
	}
	if ra == nil {
		return nil, fmt.Errorf("%w: no unmapped.riskauth extension", ocsf.ErrNotDecision)
	}
	var rec parsed
	var decision string
	if err := strField(ra, "decision", &decision); err != nil {
		return nil, fmt.Errorf("decision event: %w", err)
	}
	if rec.Decision, err = risk.ParseAction(decision); err != nil {
		return nil, fmt.Errorf("decision event: %w", err)
	}
	if v := field(top, "time"); v != nil {
		if rec.Time, err = millis(v); err != nil {
			return nil, fmt.Errorf("decision event: time: %w", err)
		}
	} else {
		rec.Time = time.UnixMilli(0).UTC()
	}
	var correlation string
	for _, s := range []struct {
		o   *fastjson.Object
		obj string
		key string
		dst *string
	}{
		{top, "metadata", "uid", &rec.ID},
		{top, "metadata", "correlation_uid", &correlation},
		{top, "user", "uid", &rec.UserID},
		{top, "user", "name", &rec.Identifier},
		{top, "src_endpoint", "ip", &rec.IP},
		{ra, "", "evaluation_id", &rec.EvaluationID},
		{ra, "", "event_kind", &rec.Kind},
		{ra, "", "ruleset_version", &rec.RuleSetVersion},
	} {
		o := s.o
		if s.obj != "" {
			if o, ok = object(s.o, s.obj); !ok {
				return nil, fmt.Errorf("decision event: %s: want an object", s.obj)
			}
			if o == nil {
				continue
			}
		}
		if err := strField(o, s.key, s.dst); err != nil {
			return nil, fmt.Errorf("decision event: %w", err)
		}
	}
	if v := field(ra, "score"); v != nil {
		if rec.Score, err = v.Float64(); err != nil {
			return nil, fmt.Errorf("decision event: score: want a number, got %s", v.Type())
		}
	}
	if v := field(ra, "floored"); v != nil {
		if rec.Floored, err = v.Bool(); err != nil {
			return nil, fmt.Errorf("decision event: floored: want a bool, got %s", v.Type())
		}
	}
	if v := field(ra, "reasons"); v != nil {
		items, err := v.Array()
		if err != nil {
			return nil, fmt.Errorf("decision event: reasons: want an array, got %s", v.Type())
		}
		if len(items) > 0 {
			rec.Rules = make([]string, len(items))
		}
		for i, it := range items {
			if it.Type() == fastjson.TypeNull {
				continue
			}
			o, err := it.Object()
			if err != nil {
				return nil, fmt.Errorf("decision event: reasons: want objects, got %s", it.Type())
			}
			if err := strField(o, "rule", &rec.Rules[i]); err != nil {
				return nil, fmt.Errorf("decision event: reasons: %w", err)
			}
		}
	}
	var snapshot *fastjson.Object
	if v := field(ra, "features"); v != nil {
		if snapshot, err = v.Object(); err != nil {
			return nil, fmt.Errorf("decision event: %w", errNotObject)
		}
	}
	if rec.ID == "" {
		return nil, fmt.Errorf("decision event: %w", ocsf.ErrNoID)
	}
	if rec.EvaluationID == "" {
		rec.EvaluationID = correlation
	}
	if snapshot != nil {
		rec.features, rec.featuresErr = p.features(snapshot)
	}
	return &rec, nil
}

// millis reads an epoch-millisecond time as encoding/json reads an int64:
// integer syntax only.
func millis(v *fastjson.Value) (time.Time, error) {
	n, err := v.Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("want an integer, got %s", v.Type())
	}
	return time.UnixMilli(n).UTC(), nil
}

// features rebuilds the feature set the rules saw, with FeaturesFromMap's
// semantics: namespaces not given are available with zero values,
// unknown namespaces and fields are errors, velocity counters are matched
// by name against the schema, attributes become strings, and for a key
// given twice the last one counts. All problems are reported at once, in
// FeaturesFromMap's order (by namespace, then field).
func (p *parser) features(snap *fastjson.Object) (*risk.Features, error) {
	f := p.schema.NewFeatures()
	f.User.Available, f.Geo.Available, f.Breached.Available, f.Velocity.Available = true, true, true, true
	fv := reflect.ValueOf(f).Elem()
	type nsVal struct {
		k []byte
		v *fastjson.Value
	}
	var stack [8]nsVal
	nss := stack[:0]
	snap.Visit(func(k []byte, v *fastjson.Value) {
		for i := range nss {
			if bytes.Equal(nss[i].k, k) {
				nss[i].v = v // last key wins
				return
			}
		}
		nss = append(nss, nsVal{k, v})
	})
	// errs maps "ns\x00field" to the problem, so that a later valid
	// duplicate of a field clears the problem of an earlier one.
	var errs map[string]string
	for _, n := range nss {
		ns, known := p.names[string(n.k)] // the interned name: no allocation per event
		if !known {
			ns = string(n.k)
		}
		obj, err := n.v.Object()
		switch {
		case !known:
			errs = addErr(errs, ns, fmt.Sprintf("unknown namespace %q", ns))
			continue
		case err != nil:
			errs = addErr(errs, ns, fmt.Sprintf("%s: want a mapping of fields", ns))
			continue
		}
		setters := p.fields[ns]
		obj.Visit(func(name []byte, v *fastjson.Value) {
			err := p.setField(f, fv, ns, setters, name, v)
			switch {
			case err != nil:
				errs = addErr(errs, ns+"\x00"+string(name), err.Error())
			case errs != nil:
				delete(errs, ns+"\x00"+string(name))
			}
		})
	}
	if len(errs) > 0 {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		msgs := make([]string, len(keys))
		for i, k := range keys {
			msgs[i] = errs[k]
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return f, nil
}

func addErr(errs map[string]string, key, msg string) map[string]string {
	if errs == nil {
		errs = map[string]string{}
	}
	errs[key] = msg
	return errs
}

func (p *parser) setField(f *risk.Features, fv reflect.Value, ns string, setters map[string]setter, name []byte, v *fastjson.Value) error {
	switch ns {
	case "attr":
		if f.Attr == nil {
			f.Attr = map[string]string{}
		}
		f.Attr[string(name)] = p.attrString(v)
		return nil
	case "velocity":
		if string(name) == "available" {
			b, err := v.Bool()
			if err != nil {
				return fmt.Errorf("velocity.available: want a bool")
			}
			f.Velocity.Available = b
			return nil
		}
		i, ok := p.schema.CounterIndex(string(name))
		if !ok {
			return fmt.Errorf("unknown field velocity.%s", name)
		}
		n, ok := intOf(v)
		if !ok {
			return fmt.Errorf("velocity.%s: want an integer, got %s", name, v.Type())
		}
		f.Velocity.Values[i] = n
		return nil
	}
	set, ok := setters[string(name)]
	if !ok {
		return fmt.Errorf("unknown field %s.%s", ns, name)
	}
	return set(fv, v)
}

// attrString is fmt.Sprint of the value encoding/json would decode, as
// FeaturesFromMap stores attributes.
func (p *parser) attrString(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		return str(v)
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	case fastjson.TypeNull:
		return fmt.Sprint(nil)
	}
	var x any
	p.num = v.MarshalTo(p.num[:0])
	if err := json.Unmarshal(p.num, &x); err != nil {
		return string(p.num)
	}
	return fmt.Sprint(x)
}
