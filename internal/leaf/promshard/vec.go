package promshard

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// series is what a vec keeps per label-value combination.
type series interface {
	collect(ch chan<- prometheus.Metric)
}

// vec is the children of one family, by label values.
type vec[T series] struct {
	desc     *prometheus.Desc
	name     string
	labels   int
	newChild func(lvs []string) T

	mu       sync.Mutex
	children map[string]T
}

func newVec[T series](desc *prometheus.Desc, name string, labels int, newChild func([]string) T) *vec[T] {
	return &vec[T]{desc: desc, name: name, labels: labels, newChild: newChild, children: map[string]T{}}
}

// get returns the child for lvs, creating it on first use. It panics on
// the wrong number of values or on invalid UTF-8, as client_golang's
// WithLabelValues does: exporting them would fail every scrape instead.
func (v *vec[T]) get(lvs []string) T {
	if len(lvs) != v.labels {
		panic(fmt.Errorf("promshard: %s: expected %d label values but got %d in %q", v.name, v.labels, len(lvs), lvs))
	}
	for _, lv := range lvs {
		if !utf8.ValidString(lv) {
			panic(fmt.Errorf("promshard: %s: label value %q is not valid UTF-8", v.name, lv))
		}
	}
	// \xff never occurs in valid UTF-8, so the key is unambiguous.
	key := strings.Join(lvs, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.children[key]
	if !ok {
		c = v.newChild(append([]string(nil), lvs...))
		v.children[key] = c
	}
	return c
}

func (v *vec[T]) describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

func (v *vec[T]) collect(ch chan<- prometheus.Metric) {
	v.mu.Lock()
	cs := make([]T, 0, len(v.children))
	for _, c := range v.children {
		cs = append(cs, c)
	}
	v.mu.Unlock()
	for _, c := range cs {
		c.collect(ch)
	}
}

// newDesc builds the family's descriptor the way client_golang's
// constructors do; an invalid name or label is reported by Register.
func newDesc(namespace, subsystem, name, help string, labels []string, constLabels prometheus.Labels) (*prometheus.Desc, string) {
	fq := prometheus.BuildFQName(namespace, subsystem, name)
	return prometheus.NewDesc(fq, help, labels, constLabels), fq
}
