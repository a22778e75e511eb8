package ocsf

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/risk"
)

// SchemaVersion is the OCSF schema version the messages claim in
// metadata.version; consumers pick their parser by it.
const SchemaVersion = "1.3.0"

// Product is metadata.product.name and vendor_name: one fixed name, so a
// SIEM can route every riskauth message with one filter.
const Product = "riskauth"

// Errors the encoder returns; the sink counts them and drops the message
// rather than retrying, since the same input fails the same way.
var (
	// ErrNoID: every message needs a uid, or consumers cannot de-duplicate
	// the at-least-once stream.
	ErrNoID = errors.New("ocsf: message id is empty")
	// ErrNilInput: a nil decision or event, or an Authentication for a
	// decision without features (the engine always sets them; a decision
	// event without its snapshot could not be replayed).
	ErrNilInput = errors.New("ocsf: nil decision, event or features")
	// ErrUnknownEventType: a secevent.Type this package has no class for.
	ErrUnknownEventType = errors.New("ocsf: unknown security event type")
	// ErrNotDecision: ParseDecision was given something that is not a
	// riskauth Authentication message.
	ErrNotDecision = errors.New("ocsf: not a riskauth decision event")
)

// Meta describes the producer, for metadata.product and friends.
type Meta struct {
	// Product version (the binary's version string); Host the instance name.
	Version string
	Host    string
	// Service names what users sign in to, for the Authentication class's
	// service.name (OCSF wants a service or a dst_endpoint); default
	// "riskauth".
	Service string
	// Clock stamps metadata.logged_time; default the wall clock. Injected
	// so that golden files are reproducible.
	Clock clock.Clock
}

// Encoder renders messages; it is safe for concurrent use.
type Encoder struct {
	meta Meta
	// velocity caches the rendering plan of the last counter catalogue seen.
	velocity atomic.Pointer[velocityPlan]
}

// NewEncoder returns an encoder stamping every message with meta.
func NewEncoder(meta Meta) *Encoder {
	if meta.Service == "" {
		meta.Service = Product
	}
	if meta.Clock == nil {
		meta.Clock = clock.System{}
	}
	return &Encoder{meta: meta}
}

// Authentication appends to dst the decision as an OCSF Authentication
// event (class 3002) with uid id, carrying in its riskauth extension the
// decision, score, reasons with evidence, device id, rule-set version and
// the full feature snapshot the rules saw (so a backtest can replay it).
// On error dst is returned unchanged.
func (e *Encoder) Authentication(dst []byte, d *engine.Decision, id string) ([]byte, error) {
	if d == nil || d.Features == nil {
		return dst, ErrNilInput
	}
	if id == "" {
		return dst, ErrNoID
	}
	w := writer{b: dst}
	e.authentication(&w, d, id)
	return w.b, nil
}

// Finding appends to dst the decision as an OCSF Detection Finding
// (class 2004, is_alert true) with uid id: sent for blocks and for
// decisions whose matched rules carry an alert severity (see IsAlert).
// On error dst is returned unchanged.
func (e *Encoder) Finding(dst []byte, d *engine.Decision, id string) ([]byte, error) {
	if d == nil {
		return dst, ErrNilInput
	}
	if id == "" {
		return dst, ErrNoID
	}
	w := writer{b: dst}
	e.finding(&w, d, id, nil)
	return w.b, nil
}

// Aggregate says that a finding stands for several alerting decisions of
// the same rule and source: the sink folds a wave (a stuffing run from
// one address raises thousands of identical alerts) into one finding per
// window, so the SOC sees the incident and its size, not a flood. Every
// decision still goes to the decisions topic when that is on.
type Aggregate struct {
	// Count is how many alerting decisions the finding stands for.
	Count int
	// Start and End are the times of the first and last of them.
	Start, End time.Time
}

// FindingAggregate is Finding for d, the latest of agg.Count alerting
// decisions between agg.Start and agg.End: it adds OCSF's count,
// start_time and end_time.
func (e *Encoder) FindingAggregate(dst []byte, d *engine.Decision, id string, agg Aggregate) ([]byte, error) {
	if d == nil {
		return dst, ErrNilInput
	}
	if id == "" {
		return dst, ErrNoID
	}
	if agg.Count < 1 {
		return dst, fmt.Errorf("ocsf: aggregate count %d: want at least 1", agg.Count)
	}
	w := writer{b: dst}
	e.finding(&w, d, id, &agg)
	return w.b, nil
}

// IsAlert reports whether a decision deserves a Detection Finding on the
// alerts topic: a block, or any enforced rule match with an alert severity.
// It lives here so the sink and the docs cannot disagree.
func IsAlert(d *engine.Decision) bool {
	return d != nil && (d.Action == risk.Block || d.Alert != risk.SeverityNone)
}

// Key returns the Kafka message key for a decision: the user key (user id,
// else the normalised identifier), else the client IP. Keying by user keeps
// one user's messages in one partition, so consumers see them in order.
func Key(d *engine.Decision) string {
	if d == nil {
		return ""
	}
	if d.Keys.User != "" {
		return d.Keys.User
	}
	if ev := d.Event; ev != nil {
		if k := engine.UserKey(ev.UserID, ev.Identifier); k != "" {
			return k
		}
		if ev.IP.IsValid() {
			return ev.IP.Unmap().String()
		}
	}
	if d.Keys.IP != "" {
		return d.Keys.IP
	}
	if d.Features != nil {
		return d.Features.Event.IP
	}
	return ""
}

// DecisionRecord is what a backtest needs from a recorded decision event.
type DecisionRecord struct {
	ID             string
	EvaluationID   string
	Time           time.Time // millisecond precision, as OCSF time is
	UserID         string
	Decision       risk.Action
	Score          float64
	Rules          []string // matched enforced rule ids, in order
	RuleSetVersion string
	// Features is the snapshot the rules saw, in the shape
	// rules.Schema.FeaturesFromMap accepts.
	Features map[string]any

	// Kind is the event kind (login, registration, ...).
	Kind string
	// Identifier and IP help a backtest report say whose decision changed.
	Identifier string
	IP         string
	// Floored is set when Decision was raised to the unavailable-signal
	// floor: replaying the rules alone cannot reproduce it, so a backtest
	// compares against the rules' own verdict for such records.
	Floored bool
	// Candidate is the would-be decision of the candidate rule set that
	// ran in shadow; nil when none ran (and in messages written before
	// candidates existed).
	Candidate *CandidateRecord
}

// CandidateRecord is a candidate rule set's would-be decision, as a
// decision event carries it.
type CandidateRecord struct {
	Version  string
	Decision risk.Action
	Score    float64
	Rules    []string // matched enforced rule ids of the candidate, in order
	Floored  bool
}
