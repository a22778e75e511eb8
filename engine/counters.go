package engine

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

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

// Describe says in words what the counter counts, for the field catalogue.
func (c CounterSpec) Describe() string {
	what := map[CountOn]string{CountAttempt: "attempts", CountSuccess: "successful outcomes", CountFailure: "failed outcomes"}[c.On]
	if c.Distinct != "" {
		what = fmt.Sprintf("distinct %ss among %s", c.Distinct, what)
	}
	if len(c.Kinds) > 0 {
		what += " of " + strings.Join(c.Kinds, ", ") + " events"
	}
	return fmt.Sprintf("%s per %s over the last %s", what, c.Key, shortDuration(c.Window))
}

// shortDuration writes 10m, 1h or 30d rather than 10m0s, 1h0m0s or 720h0m0s.
func shortDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// CounterDocs maps counter names to their descriptions.
func CounterDocs(cs []CounterSpec) map[string]string {
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.Name] = c.Describe()
	}
	return out
}
