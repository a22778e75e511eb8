package ocsf

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/riskauth/riskauth/internal/leaf/jsonw"
)

// writer appends JSON. One flag (comma) is enough to place separators at
// any depth: it is false right after an opening bracket or a key and true
// after any complete value.
type writer struct {
	b     []byte
	comma bool
}

func (w *writer) sep() {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = false
}

func (w *writer) open() {
	w.sep()
	w.b = append(w.b, '{')
}

func (w *writer) close() {
	w.b = append(w.b, '}')
	w.comma = true
}

func (w *writer) openArr() {
	w.sep()
	w.b = append(w.b, '[')
}

func (w *writer) closeArr() {
	w.b = append(w.b, ']')
	w.comma = true
}

// key writes "k": — keys are constants or validated names, but escape
// anyway: attribute keys come from callers.
func (w *writer) key(k string) {
	w.sep()
	w.b = jsonw.AppendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *writer) obj(k string) { w.key(k); w.open() }
func (w *writer) arr(k string) { w.key(k); w.openArr() }

func (w *writer) str(s string) {
	w.sep()
	w.b = jsonw.AppendString(w.b, s)
	w.comma = true
}

func (w *writer) int(n int64) {
	w.sep()
	w.b = strconv.AppendInt(w.b, n, 10)
	w.comma = true
}

func (w *writer) float(f float64) {
	w.sep()
	w.b = jsonw.AppendFloat(w.b, f)
	w.comma = true
}

func (w *writer) bool(v bool) {
	w.sep()
	w.b = strconv.AppendBool(w.b, v)
	w.comma = true
}

func (w *writer) raw(s string) {
	w.sep()
	w.b = append(w.b, s...)
	w.comma = true
}

// any renders an evidence value: the scalar kinds rules read without
// reflection, anything else through encoding/json (null if that fails,
// so one odd value never loses a whole alert).
func (w *writer) any(v any) {
	switch x := v.(type) {
	case nil:
		w.raw("null")
	case bool:
		w.bool(x)
	case int:
		w.int(int64(x))
	case int64:
		w.int(x)
	case float64:
		w.float(x)
	case string:
		w.str(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			w.raw("null")
			return
		}
		w.sep()
		w.b = append(w.b, b...)
		w.comma = true
	}
}

func (w *writer) strField(k, v string) { w.key(k); w.str(v) }
func (w *writer) intField(k string, v int64) {
	w.key(k)
	w.int(v)
}
func (w *writer) floatField(k string, v float64) { w.key(k); w.float(v) }
func (w *writer) boolField(k string, v bool)     { w.key(k); w.bool(v) }

// optStr writes the field only when v is set: OCSF consumers treat an
// absent attribute and an empty one alike, and absent is shorter.
func (w *writer) optStr(k, v string) {
	if v != "" {
		w.strField(k, v)
	}
}

// stringMap writes m with sorted keys, for byte-stable output (golden
// files, de-duplication by content in downstream stores).
func (w *writer) stringMap(m map[string]string) {
	w.open()
	var stack [16]string
	for _, k := range sortedKeys(stack[:0], m) {
		w.strField(k, m[k])
	}
	w.close()
}

// sortedKeys appends m's keys to dst (a stack array's slice, so small
// maps cost no allocation) and sorts them.
func sortedKeys[V any](dst []string, m map[string]V) []string {
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}
