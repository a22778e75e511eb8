package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
)

// CountOn says which moment of a flow a counter counts.
type CountOn string

// Moments a counter can count. Attempts are counted when the engine
// evaluates an event (so blocked attempts count too); successes and failures
// when the app reports the outcome.
const (
	CountAttempt CountOn = "attempt"
	CountSuccess CountOn = "success"
	CountFailure CountOn = "failure"
)

// KeyKind names the part of an event a counter is keyed by or counts
// distinct values of.
type KeyKind string

// Key kinds. Subnet is the /24 of an IPv4 address or the /64 of an IPv6 one.
const (
	KeyUser   KeyKind = "user"
	KeyIP     KeyKind = "ip"
	KeySubnet KeyKind = "subnet"
	KeyDevice KeyKind = "device"
	// KeyDomainASN is the user's email domain and the event's network,
	// "example.com/AS64500": present only for a domain that is not
	// free-mail and a known ASN (domainasn.go).
	KeyDomainASN KeyKind = "domain_asn"
)

// CounterSpec declares one sliding-window counter. Rules read it as
// velocity.<Name>.
type CounterSpec struct {
	Name string `yaml:"name" json:"name"`
	// On is attempt, success or failure.
	On CountOn `yaml:"on" json:"on"`
	// Kinds restricts the counter to these event kinds; empty counts all.
	Kinds []string `yaml:"kinds,omitempty" json:"kinds,omitempty"`
	// Key is what the window is per: user, ip, subnet, device or domain_asn.
	Key KeyKind `yaml:"key" json:"key"`
	// Distinct, when set, makes the counter count distinct values of this
	// kind (e.g. distinct users per ip) instead of events.
	Distinct KeyKind `yaml:"distinct,omitempty" json:"distinct,omitempty"`
	// Window is the sliding window length.
	Window time.Duration `yaml:"window" json:"window"`
}

var counterName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Validate reports what is wrong with the spec.
func (c CounterSpec) Validate() error {
	var errs []error
	if !counterName.MatchString(c.Name) || c.Name == "available" {
		errs = append(errs, fmt.Errorf("name %q: want [a-z][a-z0-9_]*, not \"available\"", c.Name))
	}
	switch c.On {
	case CountAttempt, CountSuccess, CountFailure:
	default:
		errs = append(errs, fmt.Errorf("on %q: want attempt, success or failure", c.On))
	}
	switch c.Key {
	case KeyUser, KeyIP, KeySubnet, KeyDevice, KeyDomainASN:
	default:
		errs = append(errs, fmt.Errorf("key %q: want user, ip, subnet, device or domain_asn", c.Key))
	}
	switch c.Distinct {
	case "", KeyUser, KeyIP, KeySubnet, KeyDevice:
		if c.Distinct != "" && c.Distinct == c.Key {
			errs = append(errs, fmt.Errorf("distinct %q: same as key", c.Distinct))
		}
	default:
		errs = append(errs, fmt.Errorf("distinct %q: want user, ip, subnet or device", c.Distinct))
	}
	if c.Window < time.Second || c.Window > 90*24*time.Hour {
		errs = append(errs, fmt.Errorf("window %s: want between 1s and 90 days", c.Window))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("counter %q: %w", c.Name, err)
	}
	return nil
}

// Counts reports whether the counter counts an event of this kind at this moment.
func (c CounterSpec) Counts(on CountOn, kind string) bool {
	if c.On != on {
		return false
	}
	if len(c.Kinds) == 0 {
		return true
	}
	for _, k := range c.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Keys are the values an event contributes to counter keys; empty means
// absent, and a counter whose key (or distinct value) is absent is neither
// read (it reads 0) nor bumped.
type Keys struct {
	User   string `json:"user,omitempty"`
	IP     string `json:"ip,omitempty"`
	Subnet string `json:"subnet,omitempty"`
	Device string `json:"device,omitempty"`
	// DomainASN is the email domain and ASN (KeyDomainASN).
	DomainASN string `json:"domain_asn,omitempty"`
}

// Get returns the value of one key kind.
func (k Keys) Get(kind KeyKind) string {
	switch kind {
	case KeyUser:
		return k.User
	case KeyIP:
		return k.IP
	case KeySubnet:
		return k.Subnet
	case KeyDevice:
		return k.Device
	case KeyDomainASN:
		return k.DomainASN
	}
	return ""
}

// Pending is what the engine keeps about an evaluation so that a later
// outcome can be recorded without the caller resending the event. It holds
// no secret: never the password.
type Pending struct {
	EvaluationID   string    `json:"id"`
	Kind           string    `json:"kind"`
	Keys           Keys      `json:"keys"`
	At             time.Time `json:"at"`
	Place          Place     `json:"place"`
	RuleSetVersion string    `json:"ruleset"`
	// Rules and ShadowRules are the ids of the enforced and shadow rules
	// of the active set that matched, so that an analyst's fraud/legit
	// label is attributed to them without the caller resending anything.
	Rules       []string `json:"rules,omitempty"`
	ShadowRules []string `json:"shadow_rules,omitempty"`
	// CandidateVersion and CandidateRules are the candidate rule set that
	// ran in shadow beside the active one, and its matched rules.
	CandidateVersion string   `json:"cand,omitempty"`
	CandidateRules   []string `json:"cand_rules,omitempty"`
	// Familiarity are the login's values as the familiarity model saw
	// them, kept so that a successful outcome adds exactly what was scored
	// to the user's history (ApplyOutcome) and to the global counts
	// (Engine.RecordOutcome). nil when the engine has no model or the
	// event names no user. Under 200 bytes of JSON plus the user agent
	// (at most familiarity.MaxUserAgentLen bytes): a typical pending
	// evaluation grows from about 350 to 640 bytes.
	Familiarity *familiarity.Features `json:"fam,omitempty"`
	// Traits are the event's device traits, recorded on the device by a
	// successful outcome (ApplyOutcome).
	Traits DeviceTraits `json:"dt,omitzero"`
	// firstObserved is set by ApplyOutcome when the sign-in was the first
	// in the user's familiarity history, so that the engine counts one
	// more user globally. Not stored: it describes the outcome, not the
	// evaluation.
	firstObserved bool
}

// FirstObserved reports whether ApplyOutcome found the user's familiarity
// history empty before adding this sign-in: a store that keeps the global
// familiarity counts (FamiliarityCountsKeeper) then counts one more user.
func (p *Pending) FirstObserved() bool { return p.firstObserved }

// HasRules reports whether any rule (enforced, shadow or candidate)
// matched: only then is there something to attribute an outcome to.
func (p *Pending) HasRules() bool {
	return len(p.Rules) > 0 || len(p.ShadowRules) > 0 || len(p.CandidateRules) > 0
}

// PendingAnnotator is implemented by state stores that can attach the
// matched rules to a pending evaluation after the rules ran. The pending
// evaluation is stored by Load, in the same round trip as the counter
// reads, which is before the rules can run; the engine calls
// AnnotatePending only when some rule matched, so that the common case
// (nothing matched) costs no second write. An unknown or expired id is not
// an error: there is nothing left to attribute.
type PendingAnnotator interface {
	AnnotatePending(ctx context.Context, p *Pending) error
}

// Place is where a sign-in came from, as far as the geo signal knew.
type Place struct {
	IP         string  `json:"ip,omitempty"`
	Country    string  `json:"cc,omitempty"`
	City       string  `json:"city,omitempty"`
	Lat        float64 `json:"lat,omitempty"`
	Lon        float64 `json:"lon,omitempty"`
	AccuracyKm float64 `json:"acc,omitempty"`
	ASN        int     `json:"asn,omitempty"`
	// Located reports whether Lat/Lon are meaningful.
	Located bool `json:"loc,omitempty"`
}

// LoadRequest asks a StateStore for everything one evaluation needs.
type LoadRequest struct {
	Kind string
	Keys Keys
	At   time.Time
	// Pending is kept by the store (with a TTL) for RecordOutcome.
	Pending *Pending
}

// Snapshot is the state one evaluation reads.
type Snapshot struct {
	// Counters are indexed like the store's counter specs; each value
	// excludes the event being evaluated.
	Counters []int
	// Profile is the user's risk profile; zero when the user has none or the
	// request named no user.
	Profile Profile
	// FamiliarityCounts are the global familiarity counts for the values
	// of LoadRequest.Pending.Familiarity, from a store that keeps them
	// itself and reads them in the same round trip (velocity.Redis, see
	// FamiliarityCountsKeeper); nil makes the engine read its own
	// FamiliarityGlobal, or, when the store keeps the counts, leaves the
	// familiarity namespace unavailable.
	FamiliarityCounts *familiarity.Counts
}

// StateStore keeps velocity windows, user risk profiles and pending
// evaluations. Implementations read everything Load needs in one round trip
// to their backend, and record the attempt (attempt counters, the pending
// evaluation) in that same trip.
type StateStore interface {
	Load(ctx context.Context, req *LoadRequest) (*Snapshot, error)
	// RecordOutcome applies an outcome to the pending evaluation it names and
	// returns it. Flow outcomes (success, failure, step-up) apply once:
	// a second report returns ErrOutcomeRecorded. Labels may repeat.
	// An unknown or expired id returns ErrUnknownEvaluation.
	RecordOutcome(ctx context.Context, evaluationID string, o Outcome, at time.Time) (*Pending, error)
	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// Errors a StateStore returns for RecordOutcome; callers branch on them.
var (
	ErrUnknownEvaluation = errors.New("unknown or expired evaluation id")
	ErrOutcomeRecorded   = errors.New("an outcome was already recorded for this evaluation")
)
