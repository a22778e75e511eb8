package engine

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

//go:embed counters.yaml
var defaultCounters []byte

// DefaultCounters returns the counter catalogue the default rule file reads.
func DefaultCounters() []CounterSpec {
	cs, err := ParseCounters(defaultCounters)
	if err != nil {
		panic("engine: embedded counters.yaml is invalid: " + err.Error()) // caught by tests
	}
	return cs
}

// ParseCounters decodes a YAML list of counter specs strictly and
// validates every one, reporting all problems at once.
func ParseCounters(src []byte) ([]CounterSpec, error) {
	var cs []CounterSpec
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	return cs, ValidateCounters(cs)
}

// ValidateCounters checks every spec and that names are unique.
func ValidateCounters(cs []CounterSpec) error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("counter %q declared twice", c.Name))
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}

// CounterNames returns the names of the specs, in order.
func CounterNames(cs []CounterSpec) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
