package risk_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayoutReadsEveryField sets every fixed field of a feature set to a
// distinct value through reflection and reads it back through the
// layout's offsets: a wrong offset or kind reads another field's value.
func TestLayoutReadsEveryField(t *testing.T) {
	t.Parallel()
	var f risk.Features
	fv := reflect.ValueOf(&f).Elem()
	want := map[string]any{}
	n := 0
	for i := range fv.NumField() {
		ns := fv.Field(i)
		nsName := fv.Type().Field(i).Tag.Get("expr")
		if ns.Kind() != reflect.Struct {
			continue
		}
		for j := range ns.NumField() {
			fl := ns.Field(j)
			sf := ns.Type().Field(j)
			short := sf.Tag.Get("expr")
			if short == "" { // VelocityFeatures: only Available is a fixed field
				short = strings.ToLower(sf.Name)
			}
			name := nsName + "." + short
			n++
			switch fl.Kind() {
			case reflect.Bool:
				fl.SetBool(n%2 == 1)
				want[name] = n%2 == 1
			case reflect.Int:
				fl.SetInt(int64(n))
				want[name] = n
			case reflect.Float64:
				fl.SetFloat(float64(n) + 0.5)
				want[name] = float64(n) + 0.5
			case reflect.String:
				fl.SetString(name)
				want[name] = name
			}
			if _, ok := want[name]; !ok {
				n-- // not a fixed field (the counters)
			}
		}
	}
	got := map[string]any{}
	for _, ns := range risk.Layout() {
		for _, fl := range ns.Fields {
			got[ns.Name+"."+fl.Name] = fl.Value(&f)
			assert.Equal(t, fl.Value(&f) == reflect.Zero(reflect.TypeOf(fl.Value(&f))).Interface(), fl.IsZero(&f), ns.Name+"."+fl.Name)
		}
	}
	require.NotEmpty(t, want)
	assert.Equal(t, want, got)
}

func TestLayoutNamespaces(t *testing.T) {
	t.Parallel()
	var names []string
	kinds := map[string]risk.NamespaceKind{}
	for _, ns := range risk.Layout() {
		names = append(names, ns.Name)
		kinds[ns.Name] = ns.Kind
	}
	assert.Equal(t, []string{"event", "user", "device", "geo", "breached", "velocity", "familiarity", "authn", "passkey", "attr"}, names)
	assert.Equal(t, risk.NamespaceVelocity, kinds["velocity"])
	assert.Equal(t, risk.NamespaceAttr, kinds["attr"])
	assert.Equal(t, risk.NamespaceStruct, kinds["geo"])
}
