package risk

import (
	"reflect"
	"strings"
	"sync"
	"unsafe"
)

// The rule compiler (rules) and the risk API's encoder both read every
// feature of every evaluation, and reading a field through reflect costs a
// reflect.Value and often an allocation per read. Both read instead
// through this one table of field offsets, built once from the Features
// type by reflection: each field's kind is checked when the table is
// built, so the unsafe reads below always read a value of the type they
// claim, and a feature added to Features reaches the rules, the encoder
// and the documents without a change there.

// Kind is the type of one feature field's value.
type Kind uint8

// The kinds a feature field may have. A Features field of any other type
// makes Layout panic: it must get a kind (and an accessor) first.
const (
	KindBool Kind = iota + 1
	KindInt
	KindFloat
	KindString
)

// NamespaceKind tells how a namespace of Features is laid out.
type NamespaceKind uint8

// The namespace layouts.
const (
	// NamespaceStruct is a struct of fixed fields (event, user, geo, ...).
	NamespaceStruct NamespaceKind = iota + 1
	// NamespaceVelocity is VelocityFeatures: Available, then counters
	// named by the rule schema.
	NamespaceVelocity
	// NamespaceAttr is the caller's map[string]string.
	NamespaceAttr
)

// Namespace is one top-level field of Features.
type Namespace struct {
	// Name is what rules write ("geo"), from the expr tag.
	Name string
	// JSON is the key in JSON renderings, from the json tag.
	JSON      string
	OmitEmpty bool
	Kind      NamespaceKind
	// Offset is the namespace's offset in Features.
	Offset uintptr
	// Fields are the namespace's fields in declaration order: every field
	// of a struct namespace, only Available for the velocity namespace
	// (its counters are known per schema), none for attr.
	Fields []Field
}

// Field is one fixed field of a namespace.
type Field struct {
	// Name is what rules write after the namespace ("country").
	Name string
	// JSON is the key in JSON renderings; "-" means not rendered.
	JSON      string
	OmitEmpty bool
	Kind      Kind
	// Doc and Example are the field's catalogue entry (doc and example
	// tags; a velocity counter's are the schema's).
	Doc, Example string
	// Offset is the field's offset from the start of Features.
	Offset uintptr
}

func (f *Field) ptr(x *Features) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(x), f.Offset) }

// Bool reads a KindBool field of x.
func (f *Field) Bool(x *Features) bool { return *(*bool)(f.ptr(x)) }

// Int reads a KindInt field of x.
func (f *Field) Int(x *Features) int { return *(*int)(f.ptr(x)) }

// Float reads a KindFloat field of x.
func (f *Field) Float(x *Features) float64 { return *(*float64)(f.ptr(x)) }

// Str reads a KindString field of x.
func (f *Field) Str(x *Features) string { return *(*string)(f.ptr(x)) }

// Value boxes the field's value of x.
func (f *Field) Value(x *Features) any {
	switch f.Kind {
	case KindBool:
		return f.Bool(x)
	case KindInt:
		return f.Int(x)
	case KindFloat:
		return f.Float(x)
	case KindString:
		return f.Str(x)
	}
	return nil
}

// IsZero reports whether the field of x holds its zero value (for
// omitempty; -0.0 is zero, as for encoding/json).
func (f *Field) IsZero(x *Features) bool {
	switch f.Kind {
	case KindBool:
		return !f.Bool(x)
	case KindInt:
		return f.Int(x) == 0
	case KindFloat:
		return f.Float(x) == 0
	case KindString:
		return f.Str(x) == ""
	}
	return false
}

// Layout returns the namespaces of Features in declaration order. The
// slice is shared: callers must not change it.
func Layout() []Namespace { return layout() }

var layout = sync.OnceValue(buildLayout)

func buildLayout() []Namespace {
	ft := reflect.TypeFor[Features]()
	out := make([]Namespace, 0, ft.NumField())
	for i := range ft.NumField() {
		f := ft.Field(i)
		name, omit := jsonTag(f)
		ns := Namespace{Name: f.Tag.Get("expr"), JSON: name, OmitEmpty: omit, Offset: f.Offset}
		switch {
		case f.Type == reflect.TypeFor[VelocityFeatures]():
			ns.Kind = NamespaceVelocity
			av, _ := f.Type.FieldByName("Available")
			ns.Fields = []Field{{Name: "available", JSON: "available", Kind: KindBool, Offset: f.Offset + av.Offset,
				Doc: "the velocity store answered in time", Example: "true"}}
		case f.Type == reflect.TypeFor[map[string]string]():
			ns.Kind = NamespaceAttr
		case f.Type.Kind() == reflect.Struct:
			ns.Kind = NamespaceStruct
			for j := range f.Type.NumField() {
				ns.Fields = append(ns.Fields, fieldOf(ns.Name, f.Offset, f.Type.Field(j)))
			}
		default:
			panic("risk: feature namespace " + f.Name + " has a type no reader knows: " + f.Type.String())
		}
		out = append(out, ns)
	}
	return out
}

func fieldOf(ns string, base uintptr, sf reflect.StructField) Field {
	name, omit := jsonTag(sf)
	fl := Field{Name: sf.Tag.Get("expr"), JSON: name, OmitEmpty: omit, Offset: base + sf.Offset,
		Doc: sf.Tag.Get("doc"), Example: sf.Tag.Get("example")}
	switch sf.Type.Kind() {
	case reflect.Bool:
		fl.Kind = KindBool
	case reflect.Int:
		fl.Kind = KindInt
	case reflect.Float64:
		fl.Kind = KindFloat
	case reflect.String:
		fl.Kind = KindString
	default:
		panic("risk: feature " + ns + "." + fl.Name + " has a type no reader knows: " + sf.Type.String())
	}
	// The readers go through pointers to the basic types: a named type
	// (even of a basic kind) could change its layout or meaning unseen.
	if sf.Type.PkgPath() != "" || !sf.IsExported() {
		panic("risk: feature " + ns + "." + fl.Name + " must be an exported field of a basic type")
	}
	return fl
}

func jsonTag(f reflect.StructField) (name string, omitempty bool) {
	name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(","+opts+",", ",omitempty,")
}
