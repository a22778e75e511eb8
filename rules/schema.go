package rules

import (
	"fmt"
	"github.com/riskauth/riskauth/engine/risk"
	"reflect"
	"regexp"
	"strings"
)

// Schema is the typed environment rules compile against: the fixed feature
// namespaces plus one velocity field per declared counter. Rule sets are
// compiled for one Schema, and an unknown field or a non-boolean `when` is a
// load error rather than a surprise at evaluation time.
type Schema struct {
	counters []string
	index    map[string]int
	env      reflect.Type // struct type rules see
	velocity int          // index of the velocity field in env
	fields   []Field
}

// Field describes one field a rule can read.
type Field struct {
	// Path is what a rule writes: "geo.country".
	Path string
	// Type is the expr type: bool, int, float, string or map.
	Type string
	// Doc says what the field means.
	Doc string
	// Example is a typical value as a rule would write it ("GB" quoted,
	// numbers and booleans bare); a test checks it has the field's type.
	Example string
	index   []int
	acc     access // reads the field from a *Features (fast.go); acc.key is attr.<key>'s key
}

var counterRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// NewSchema builds the environment for a counter catalogue.
func NewSchema(counters []string) (*Schema, error) {
	s := &Schema{counters: append([]string(nil), counters...), index: make(map[string]int, len(counters))}
	velFields := []reflect.StructField{{
		Name: "Available", Type: reflect.TypeFor[bool](),
		Tag: `expr:"available" doc:"the velocity store answered in time" example:"true"`,
	}}
	for i, c := range counters {
		if !counterRe.MatchString(c) || c == "available" {
			return nil, fmt.Errorf("counter name %q: want [a-z][a-z0-9_]*, not \"available\"", c)
		}
		if _, dup := s.index[c]; dup {
			return nil, fmt.Errorf("counter name %q declared twice", c)
		}
		s.index[c] = i
		velFields = append(velFields, reflect.StructField{
			Name: fmt.Sprintf("C%d", i), Type: reflect.TypeFor[int](),
			Tag: reflect.StructTag(fmt.Sprintf(`expr:%q doc:"sliding-window counter declared in the configuration" example:"3"`, c)),
		})
	}
	velType := reflect.StructOf(velFields)

	ft := reflect.TypeFor[risk.Features]()
	var top []reflect.StructField
	for i := range ft.NumField() {
		f := ft.Field(i)
		if f.Name == "Velocity" {
			s.velocity = len(top)
			f.Type = velType
		}
		top = append(top, reflect.StructField{Name: f.Name, Type: f.Type, Tag: reflect.StructTag(`expr:"` + f.Tag.Get("expr") + `"`)})
	}
	s.env = reflect.StructOf(top)
	s.fields = collectFields(s.env)
	s.accessors()
	return s, nil
}

func collectFields(env reflect.Type) []Field {
	var out []Field
	for i := range env.NumField() {
		ns := env.Field(i)
		name := ns.Tag.Get("expr")
		if ns.Type.Kind() == reflect.Map {
			out = append(out, Field{Path: name, Type: "map", Doc: "free-form attributes sent by the caller (strings)", Example: `"free"`, index: []int{i}})
			continue
		}
		src := ns.Type
		var docs reflect.Type
		if ns.Name != "Velocity" {
			docs = src
		}
		for j := range src.NumField() {
			f := src.Field(j)
			tag := f.Tag
			if docs != nil {
				tag = docs.Field(j).Tag
			}
			out = append(out, Field{
				Path:    name + "." + f.Tag.Get("expr"),
				Type:    typeName(f.Type),
				Doc:     tag.Get("doc"),
				Example: tag.Get("example"),
				index:   []int{i, j},
			})
		}
	}
	return out
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int:
		return "int"
	case reflect.Float64:
		return "float"
	case reflect.String:
		return "string"
	}
	return t.String()
}

// DescribeCounters replaces the generic doc of velocity fields with what
// each counter counts (engine.CounterDocs); call it before use.
func (s *Schema) DescribeCounters(docs map[string]string) {
	for i, f := range s.fields {
		if name, ok := strings.CutPrefix(f.Path, "velocity."); ok && docs[name] != "" {
			s.fields[i].Doc = docs[name]
		}
	}
}

// Counters returns the counter names, in catalogue order.
func (s *Schema) Counters() []string { return s.counters }

// Fields returns every field a rule can read, in namespace order.
func (s *Schema) Fields() []Field { return s.fields }

// Field looks a field up by path.
func (s *Schema) Field(path string) (Field, bool) {
	for _, f := range s.fields {
		if f.Path == path {
			return f, true
		}
	}
	return Field{}, false
}

// NewFeatures returns a zero feature set sized for this schema.
func (s *Schema) NewFeatures() *risk.Features {
	var f *risk.Features
	// One allocation for the features and the counters when the
	// catalogue is of the usual size (the default has 17): this runs on
	// every evaluation.
	if n := len(s.counters); n <= 32 {
		b := new(struct {
			f risk.Features
			v [32]int
		})
		f = &b.f
		f.Velocity.Values = b.v[:n:n]
	} else {
		f = &risk.Features{}
		f.Velocity.Values = make([]int, n)
	}
	f.Velocity.SetNames(s.counters)
	f.Geo.DistanceKm, f.Geo.ElapsedHours = -1, -1
	f.User.DaysSinceLogin = -1
	f.Device.AgeDays = -1
	return f
}

// CounterIndex returns the index of a counter in Velocity.Values.
func (s *Schema) CounterIndex(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// env copies the features into a fresh environment value and returns a
// pointer to it, which is what compiled programs run against.
func (s *Schema) envOf(f *risk.Features) reflect.Value {
	p := reflect.New(s.env)
	e := p.Elem()
	fv := reflect.ValueOf(f).Elem()
	for i := range e.NumField() {
		if i == s.velocity {
			v := e.Field(i)
			v.Field(0).SetBool(f.Velocity.Available)
			for j, n := range f.Velocity.Values {
				if j+1 < v.NumField() {
					v.Field(j + 1).SetInt(int64(n))
				}
			}
			continue
		}
		e.Field(i).Set(fv.Field(i))
	}
	return p
}
