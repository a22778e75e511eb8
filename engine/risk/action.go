package risk

import (
	"encoding/json"
	"fmt"
)

// Action is a decision, ordered by severity so that max() combines them.
type Action int

// The three decisions, least severe first.
const (
	Passwordless Action = iota
	StepUp
	Block
)

var actionNames = [...]string{"passwordless", "step_up", "block"}

func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return fmt.Sprintf("Action(%d)", int(a))
	}
	return actionNames[a]
}

// ParseAction parses passwordless, step_up or block.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if s == n {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("unknown decision %q: want passwordless, step_up or block", s)
}

// MarshalText renders the action's name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses the action's name.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

var _ json.Marshaler = Severity(0)

// Severity is the alert level a rule raises when it matches.
type Severity int

// Alert severities. The numbers are OCSF severity_id values (2 low,
// 3 medium, 4 high, 5 critical) so that alert messages need no mapping.
const (
	SeverityNone     Severity = 0
	SeverityLow      Severity = 2
	SeverityMedium   Severity = 3
	SeverityHigh     Severity = 4
	SeverityCritical Severity = 5
)

// ParseSeverity parses none, low, medium, high or critical.
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "", "none":
		return SeverityNone, nil
	case "low":
		return SeverityLow, nil
	case "medium":
		return SeverityMedium, nil
	case "high":
		return SeverityHigh, nil
	case "critical":
		return SeverityCritical, nil
	}
	return 0, fmt.Errorf("unknown alert severity %q: want none, low, medium, high or critical", s)
}

func (s Severity) String() string {
	switch s {
	case SeverityNone:
		return "none"
	case SeverityLow:
		return "low"
	case SeverityMedium:
		return "medium"
	case SeverityHigh:
		return "high"
	case SeverityCritical:
		return "critical"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalJSON renders the severity's name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
