package ocsf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

var (
	decidedAt = time.Date(2026, 11, 28, 12, 0, 0, 123_000_000, time.UTC)
	loggedAt  = time.Date(2026, 11, 28, 12, 0, 1, 0, time.UTC)
)

func newEncoder() *ocsf.Encoder {
	return ocsf.NewEncoder(ocsf.Meta{Version: "1.4.2", Host: "riskauthd-0", Clock: clock.NewManual(loggedAt)})
}

func schema(t testing.TB) *rules.Schema {
	t.Helper()
	s, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	require.NoError(t, err)
	return s
}

// handDecision builds a decision the way the engine fills one, without
// running it: fixed ids and times for golden files.
func handDecision(t testing.TB, action risk.Action, located bool, userID string) *engine.Decision {
	t.Helper()
	s := schema(t)
	f := s.NewFeatures()
	f.Event = risk.EventFeatures{Kind: engine.KindLogin, IP: "192.0.2.1", HasUser: true, HourUTC: 12}
	f.User = risk.UserFeatures{Available: true, Known: true, Logins: 7, DaysSinceLogin: 2.5, Countries: 1, Devices: 2, LastIP: "198.51.100.7"}
	f.Device = risk.DeviceFeatures{Present: true, ID: "dev-7f3a", AgeDays: -1, Users: 1}
	f.Geo = risk.GeoFeatures{Available: true, ElapsedHours: 60, DistanceKm: 8000, TravelKmh: 133.3, NewCountry: true, LastCountry: "US"}
	if located {
		f.Geo.Country, f.Geo.City, f.Geo.Latitude, f.Geo.Longitude, f.Geo.AccuracyKm = "GB", "London", 51.5072, -0.1276, 10
		f.Geo.ASN, f.Geo.Org = 64496, "Example Broadband <Ltd> & Co"
	}
	f.Breached = risk.BreachedFeatures{Available: true, Checked: true}
	f.Velocity.Available = true
	for i := range f.Velocity.Values {
		f.Velocity.Values[i] = i
	}
	f.Familiarity = risk.FamiliarityFeatures{Available: true, Score: 1.25, Logins: 6.4, Prior: 0.3, Top: "device_id"}
	f.Attr = map[string]string{"app": "shop", "plan": "free"}
	ev := &engine.Event{Kind: engine.KindLogin, UserID: userID, Identifier: "Alice@Example.com",
		IP: netip.MustParseAddr("192.0.2.1"), UserAgent: chrome, Attributes: f.Attr, Time: decidedAt}
	d := &engine.Decision{
		EvaluationID: "0193a6f2-7c1e-7000-8000-000000000001",
		Action:       action, ShadowAction: action,
		Features:       f,
		Signals:        engine.SignalStatuses{{Name: "geo", Available: true, Millis: 0.05}, {Name: "velocity", Available: true, Millis: 0.21}},
		RuleSetVersion: "default@3f2a9c",
		Time:           decidedAt,
		Latency:        1234 * time.Microsecond,
		Event:          ev,
		Keys:           engine.Keys{User: engine.UserKey(userID, ev.Identifier), IP: "192.0.2.1", Subnet: "192.0.2.0/24", Device: "dev-7f3a"},
	}
	switch action {
	case risk.StepUp:
		d.Score = 50
		d.Reasons = []engine.Reason{{Rule: "new-country", Description: "sign-in from a country the user never signed in from", Score: 50, Alert: "low",
			Evidence: []risk.Evidence{{Field: "geo.new_country", Value: true}, {Field: "user.logins", Value: 7}}}}
		d.Alert = risk.SeverityLow
		d.Candidate = &engine.CandidateDecision{Version: "cand@9b1e07", Action: risk.Block, Score: 85,
			Reasons: []engine.Reason{{Rule: "new-country-strict", Description: "new country, stricter", Score: 85,
				Evidence: []risk.Evidence{{Field: "geo.new_country", Value: true}}}}}
		d.Shadow = []engine.Reason{{Rule: "unfamiliar-login", Description: "the login looks unlike this user's history", Score: 40,
			Evidence: []risk.Evidence{{Field: "familiarity.score", Value: 1.25}},
			Familiarity: []engine.FamiliarityContribution{
				{Feature: "device_id", Value: "dev-7f3a", GlobalCount: 1, GlobalProb: 1e-4, UserProb: 2.5e-5, Contribution: 0.602},
				{Feature: "country", Value: "GB", GlobalCount: 4200, GlobalProb: 0.42, UserProb: 0.0625, Contribution: 0.4},
				{Feature: "browser", Value: "Chrome 131", Seen: true, UserWeight: 5.9, GlobalCount: 3100, GlobalProb: 0.31, UserProb: 0.52, Contribution: -0.15},
			}}}
	case risk.Block:
		d.Score = 90
		d.Reasons = []engine.Reason{
			{Rule: "credential-stuffing-ip", Description: "many different accounts tried from one IP address within 10 minutes", Score: 0, Action: "block", Alert: "high",
				Evidence: []risk.Evidence{{Field: "velocity.ip_distinct_users_10m", Value: 25}}},
			{Rule: "new-country", Description: "sign-in from a country the user never signed in from", Score: 50},
			{Rule: "automation-client", Description: "headless browser or HTTP library", Score: 40,
				Evidence: []risk.Evidence{{Field: "event.headless", Value: true}}},
		}
		d.Shadow = []engine.Reason{{Rule: "tor-exit", Description: "Tor exit node", Score: 30}}
		d.Alert = risk.SeverityHigh
	}
	return d
}

func securityEvent(typ secevent.Type) *secevent.Event {
	return &secevent.Event{Type: typ, UserID: "u-42", Email: "alice@example.com", IP: netip.MustParseAddr("2001:db8:1::5"),
		UserAgent: chrome, SessionID: "sess-9", Time: decidedAt,
		Details: map[string]string{"factor": "totp", "evaluation_id": "0193a6f2-7c1e-7000-8000-000000000001"}}
}

// auditEvents are one event of each audit-trail type as authn emits them:
// a sign-in at AAL2 first (the golden file), then a failure, an unknown
// identifier, and the rest.
func auditEvents() []*secevent.Event {
	at, ip := decidedAt, netip.MustParseAddr("2001:db8:1::5")
	attrs := map[string]string{"app": "shop"}
	base := func(t secevent.Type, details map[string]string) *secevent.Event {
		return &secevent.Event{Type: t, UserID: "u-42", Email: "alice@example.com", IP: ip, UserAgent: chrome, Time: at,
			Attributes: attrs, Details: details}
	}
	ok := base(secevent.LoginSucceeded, map[string]string{"flow": "sign_in", "factor": "totp", "aal": "2",
		"evaluation_id": "0193a6f2-7c1e-7000-8000-000000000001", "device_id": "dev-7f3a"})
	ok.SessionID = "sess-9"
	logout := base(secevent.Logout, nil)
	logout.SessionID = "sess-9"
	revoked := base(secevent.SessionRevoked, map[string]string{"session": "sess-7"})
	revoked.SessionID = "sess-9"
	return []*secevent.Event{
		ok,
		base(secevent.LoginFailed, map[string]string{"flow": "sign_in", "factor": "password", "reason": "wrong_password",
			"evaluation_id": "0193a6f2-7c1e-7000-8000-000000000002"}),
		{Type: secevent.LoginFailed, Identifier: "nobody@example.com", IP: ip, Time: at,
			Details: map[string]string{"flow": "sign_in", "factor": "password", "reason": "unknown_account"}},
		base(secevent.LoginFailed, map[string]string{"reason": "risk_block"}),
		base(secevent.StepUpRequested, map[string]string{"methods": "totp,recovery_code", "factor": "password"}),
		base(secevent.StepUpPassed, map[string]string{"factor": "recovery"}),
		base(secevent.SecondFactorFailed, map[string]string{"factor": "totp", "reason": "wrong_code"}),
		logout,
		revoked,
		{Type: secevent.LoginSucceeded},
		// The flows of issue 17, items 2 and 7: a held password, a magic
		// link opened elsewhere, approved or denied there.
		base(secevent.LoginFailed, map[string]string{"flow": "sign_in", "factor": "password", "reason": "account_held",
			"held": "true", "methods": "email_code"}),
		base(secevent.ApprovalRequested, map[string]string{"flow": "sign_in", "factor": "magic_link",
			"requester_ip": "198.51.100.10", "requester_user_agent": chrome}),
		base(secevent.ApprovalGranted, map[string]string{"flow": "sign_in", "factor": "magic_link", "requester_ip": "198.51.100.10"}),
		base(secevent.LoginFailed, map[string]string{"flow": "sign_in", "factor": "magic_link", "reason": "approval_denied"}),
	}
}

// compileSchemas loads docs/schemas/*.schema.json.
func compileSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, name := range []string{"authentication", "detection-finding", "account-change", "entity-management", "auth-event"} {
		path, err := filepath.Abs(filepath.Join("..", "..", "..", "docs", "schemas", name+".schema.json"))
		require.NoError(t, err)
		s, err := c.Compile(path)
		require.NoError(t, err, name)
		out[name] = s
	}
	return out
}

func validate(t testing.TB, s *jsonschema.Schema, msg []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(msg))
	require.NoError(t, err)
	return s.Validate(v)
}

// TestSchemas validates every kind of message against its JSON Schema.
func TestSchemas(t *testing.T) {
	schemas := compileSchemas(t)
	enc := newEncoder()
	type tc struct {
		name   string
		schema string
		msg    func(t *testing.T) ([]byte, error)
	}
	var cases []tc
	for _, a := range []risk.Action{risk.Passwordless, risk.StepUp, risk.Block} {
		for _, located := range []bool{true, false} {
			for _, user := range []string{"u-42", ""} {
				name := fmt.Sprintf("%s/located=%t/user=%q", a, located, user)
				cases = append(cases,
					tc{"authentication/" + name, "authentication", func(t *testing.T) ([]byte, error) {
						return enc.Authentication(nil, handDecision(t, a, located, user), "msg-1")
					}},
					tc{"finding/" + name, "detection-finding", func(t *testing.T) ([]byte, error) {
						return enc.Finding(nil, handDecision(t, a, located, user), "msg-2")
					}})
			}
		}
	}
	cases = append(cases,
		tc{"authentication/registration-no-event", "authentication", func(t *testing.T) ([]byte, error) {
			d := handDecision(t, risk.StepUp, false, "")
			d.Event, d.Keys = nil, engine.Keys{}
			d.Features.Event.Kind = engine.KindRegistration
			return enc.Authentication(nil, d, "msg-3")
		}},
		tc{"authentication/floored", "authentication", func(t *testing.T) ([]byte, error) {
			d := handDecision(t, risk.StepUp, false, "u-1")
			d.Reasons, d.Floored, d.Alert = nil, true, risk.SeverityNone
			return enc.Authentication(nil, d, "msg-4")
		}},
		tc{"finding/no-features", "detection-finding", func(t *testing.T) ([]byte, error) {
			d := handDecision(t, risk.StepUp, false, "u-1")
			d.Features = nil
			return enc.Finding(nil, d, "msg-6")
		}},
		tc{"finding/floored-block", "detection-finding", func(t *testing.T) ([]byte, error) {
			d := handDecision(t, risk.Block, false, "u-1")
			d.Reasons, d.Floored, d.Alert = nil, true, risk.SeverityNone
			return enc.Finding(nil, d, "msg-5")
		}},
	)
	for _, typ := range []secevent.Type{secevent.MFAEnrolled, secevent.MFARecoveryRenewed, secevent.MFARemoved, secevent.PasswordChanged,
		secevent.PasswordReset, secevent.SessionsRevoked, secevent.Lockout, secevent.StepUpFailed, secevent.NewDevice, secevent.SessionHijackSuspected,
		// Self-service (authn/secevent/privacy.go).
		secevent.ProfileUpdated, secevent.DeviceRenamed, secevent.DeviceForgotten, secevent.ActivityDisowned,
		// Passkeys (docs/authn.md).
		secevent.PasskeyCloned, secevent.PasskeyRenamed,
		// Privacy rights (authn/secevent/rights.go).
		secevent.DataExportRequested, secevent.DataExported, secevent.DeletionRequested, secevent.DeletionCancelled,
		// Consents (authn/secevent/consent.go).
		secevent.ConsentGranted, secevent.ConsentWithdrawn, secevent.PreferencesUpdated, secevent.EmailChangeRequested} {
		s := "account-change"
		if typ.IsFinding() {
			s = "detection-finding"
		}
		cases = append(cases, tc{"security/" + string(typ), s, func(t *testing.T) ([]byte, error) {
			return enc.Security(nil, securityEvent(typ), "msg-"+string(typ))
		}}, tc{"security/" + string(typ) + "/bare", s, func(t *testing.T) ([]byte, error) {
			return enc.Security(nil, &secevent.Event{Type: typ, Email: "bob@example.com"}, "msg-bare")
		}})
	}
	for _, ev := range auditEvents() {
		s := "auth-event"
		if ev.Type == secevent.SessionRevoked {
			s = "account-change"
		}
		cases = append(cases, tc{"audit/" + string(ev.Type) + "/" + ev.Details["reason"] + ev.Identifier, s, func(t *testing.T) ([]byte, error) {
			return enc.Security(nil, ev, "msg-audit")
		}})
	}
	for _, c := range ruleChanges() {
		cases = append(cases, tc{"rules/" + c.Action + "/" + c.OldVersion + "-" + c.NewVersion, "entity-management", func(t *testing.T) ([]byte, error) {
			return enc.RuleChange(nil, &c, "msg-rules")
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := c.msg(t)
			require.NoError(t, err)
			require.True(t, json.Valid(msg), "%s", msg)
			require.NoError(t, validate(t, schemas[c.schema], msg), "%s", msg)
		})
	}
}

// TestSchemasReject shows the validation above can fail: a message with a
// required field removed or a wrong enum value is rejected.
func TestSchemasReject(t *testing.T) {
	schemas := compileSchemas(t)
	enc := newEncoder()
	auth, err := enc.Authentication(nil, handDecision(t, risk.Block, true, "u-42"), "m")
	require.NoError(t, err)
	finding, err := enc.Finding(nil, handDecision(t, risk.Block, true, "u-42"), "m")
	require.NoError(t, err)
	change, err := enc.Security(nil, securityEvent(secevent.PasswordChanged), "m")
	require.NoError(t, err)
	rc := ruleChanges()[0]
	ruleChange, err := enc.RuleChange(nil, &rc, "m")
	require.NoError(t, err)
	failed, err := enc.Security(nil, auditEvents()[1], "m")
	require.NoError(t, err)
	cases := []struct {
		name, schema string
		msg          []byte
		edit         func(m map[string]any)
	}{
		{"auth without user", "authentication", auth, func(m map[string]any) { delete(m, "user") }},
		{"auth without metadata.uid", "authentication", auth, func(m map[string]any) { delete(m["metadata"].(map[string]any), "uid") }},
		{"auth without features", "authentication", auth, func(m map[string]any) {
			delete(m["unmapped"].(map[string]any)["riskauth"].(map[string]any), "features")
		}},
		{"auth wrong class", "authentication", auth, func(m map[string]any) { m["class_uid"] = 3001 }},
		{"auth bad severity", "authentication", auth, func(m map[string]any) { m["severity_id"] = 7 }},
		{"finding without finding_info", "detection-finding", finding, func(m map[string]any) { delete(m, "finding_info") }},
		{"finding not alert", "detection-finding", finding, func(m map[string]any) { m["is_alert"] = false }},
		{"account change bad activity", "account-change", change, func(m map[string]any) { m["activity_id"] = 7 }},
		{"account change without time", "account-change", change, func(m map[string]any) { delete(m, "time") }},
		{"rule change without actor", "entity-management", ruleChange, func(m map[string]any) { delete(m, "actor") }},
		{"audit failure without a reason", "auth-event", failed, func(m map[string]any) { delete(m, "status_detail") }},
		{"audit failure claiming success", "auth-event", failed, func(m map[string]any) { m["status_id"], m["status"] = 1, "Success" }},
		{"audit event with a feature snapshot", "auth-event", failed, func(m map[string]any) {
			m["unmapped"].(map[string]any)["riskauth"].(map[string]any)["features"] = map[string]any{}
		}},
		{"audit event with an unknown type", "auth-event", failed, func(m map[string]any) {
			m["unmapped"].(map[string]any)["riskauth"].(map[string]any)["event_type"] = "mfa_enrolled"
		}},
		{"rule change bad action", "entity-management", ruleChange, func(m map[string]any) {
			m["unmapped"].(map[string]any)["riskauth"].(map[string]any)["action"] = "yolo"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(c.msg, &m))
			require.NoError(t, validate(t, schemas[c.schema], c.msg), "the unedited message is valid")
			c.edit(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			require.Error(t, validate(t, schemas[c.schema], b))
		})
	}
}

// TestGolden pins one message of each kind, built on a fixed clock.
// Refresh with: go test ./engine/alert/ocsf -update
func TestGolden(t *testing.T) {
	enc := newEncoder()
	cases := []struct {
		file string
		msg  func() ([]byte, error)
	}{
		{"authentication", func() ([]byte, error) {
			return enc.Authentication(nil, handDecision(t, risk.StepUp, true, "u-42"), "0193a6f2-7c1e-7000-8000-0000000000a1")
		}},
		{"detection-finding", func() ([]byte, error) {
			return enc.Finding(nil, handDecision(t, risk.Block, true, "u-42"), "0193a6f2-7c1e-7000-8000-0000000000a2")
		}},
		{"rule-change", func() ([]byte, error) {
			c := ruleChanges()[0]
			return enc.RuleChange(nil, &c, "0193a6f2-7c1e-7000-8000-0000000000a5")
		}},
		{"account-change", func() ([]byte, error) {
			return enc.Security(nil, securityEvent(secevent.MFAEnrolled), "0193a6f2-7c1e-7000-8000-0000000000a3")
		}},
		{"security-finding", func() ([]byte, error) {
			return enc.Security(nil, securityEvent(secevent.Lockout), "0193a6f2-7c1e-7000-8000-0000000000a4")
		}},
		{"auth-event", func() ([]byte, error) {
			return enc.Security(nil, auditEvents()[0], "0193a6f2-7c1e-7000-8000-0000000000a6")
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			msg, err := c.msg()
			require.NoError(t, err)
			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, msg, "", "  "))
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", c.file+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), pretty.String())
		})
	}
}

// fillNonZero sets every field reachable in v to a distinct non-zero value,
// so a field added to rules.Features later shows up in TestFeaturesJSON.
func fillNonZero(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillNonZero(v.Field(i), n)
			}
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(int64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d <&>\u2028\"\\\t\x01\xff", *n))
	case reflect.Map:
		v.Set(reflect.ValueOf(map[string]string{"b": "2", "a<": "1", "z\n": "é"}))
	case reflect.Slice:
		for i := range v.Len() {
			fillNonZero(v.Index(i), n)
		}
	}
}

// TestFeaturesJSON holds the hand-written feature encoder to
// json.Marshal(*rules.Features), which is what FeaturesFromMap reads and
// what the contract promises.
func TestFeaturesJSON(t *testing.T) {
	s := schema(t)
	full := s.NewFeatures()
	n := 0
	fillNonZero(reflect.ValueOf(full).Elem(), &n)
	odd := s.NewFeatures()
	odd.Geo.Latitude, odd.Geo.Longitude, odd.Geo.TravelKmh, odd.Geo.DistanceKm = 1e-7, -1e21, 123456789.123, -0.5
	odd.User.DaysSinceLogin = 3e-6
	cases := map[string]*risk.Features{"zero": s.NewFeatures(), "full": full, "odd floats": odd}
	noCounters, err := rules.NewSchema(nil)
	require.NoError(t, err)
	cases["no counters"] = noCounters.NewFeatures()
	enc := newEncoder()
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(f)
			require.NoError(t, err)
			d := handDecision(t, risk.Passwordless, false, "u")
			d.Features = f
			msg, err := enc.Authentication(nil, d, "m")
			require.NoError(t, err)
			var m struct {
				Unmapped struct {
					Riskauth struct {
						Features json.RawMessage `json:"features"`
					} `json:"riskauth"`
				} `json:"unmapped"`
			}
			require.NoError(t, json.Unmarshal(msg, &m))
			require.Equal(t, string(want), string(m.Unmapped.Riskauth.Features))
		})
	}
}

// engineFixture runs the real engine (default rules, in-memory state, the
// bundled geo fixture) on a virtual clock, as engine/engine_test.go does.
func engineFixture(t *testing.T) (*engine.Engine, *rules.Source) {
	t.Helper()
	counters := engine.DefaultCounters()
	s, err := rules.NewSchema(engine.CounterNames(counters))
	require.NoError(t, err)
	src, err := rules.NewSource(rules.SourceConfig{Schema: s})
	require.NoError(t, err)
	mem, err := velocity.NewMemory(velocity.Config{Counters: counters}, velocity.NewMemProfiles(0), nil)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	devices, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	g, err := geo.Open(geo.Config{}, nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	clock := clock.NewManual(decidedAt)
	e, err := engine.New(engine.Config{}, engine.Deps{Clock: clock, Rules: src, State: mem, Devices: devices,
		Counters: counters, Signals: []engine.Signal{g}})
	require.NoError(t, err)
	return e, src
}

// TestRoundTrip encodes decisions from a real engine run, parses them back,
// rebuilds the features with FeaturesFromMap and re-runs the rule set: the
// same decision, score and rules come out.
func TestRoundTrip(t *testing.T) {
	e, src := engineFixture(t)
	ctx := context.Background()
	london := netip.MustParseAddr("192.0.2.1")
	var ds []*engine.Decision
	eval := func(ev engine.Event) *engine.Decision {
		d, err := e.Evaluate(ctx, ev)
		require.NoError(t, err)
		return d
	}
	ds = append(ds,
		eval(engine.Event{Kind: engine.KindLogin, UserID: "u1", IP: london, UserAgent: chrome,
			Device: &engine.DeviceDescriptor{CookieID: "c-1", Platform: "Win32"}, Attributes: map[string]string{"app": "shop"}}),
		eval(engine.Event{Kind: engine.KindLogin, UserID: "u2", IP: london, UserAgent: "curl/8.5.0", Password: "hunter2"}),
		eval(engine.Event{Kind: engine.KindRegistration, Identifier: "New@Example.com", IP: netip.MustParseAddr("10.0.0.1"), UserAgent: chrome}),
	)
	stuffer := netip.MustParseAddr("203.0.113.9")
	var last *engine.Decision
	for i := range 22 {
		last = eval(engine.Event{Kind: engine.KindLogin, Identifier: fmt.Sprintf("victim%d@example.com", i), IP: stuffer, UserAgent: chrome})
	}
	ds = append(ds, last)
	actions := map[risk.Action]bool{}
	for _, d := range ds {
		actions[d.Action] = true
	}
	require.Len(t, actions, 3, "the run covers passwordless, step_up and block")

	rs := src.Current()
	enc := newEncoder()
	for i, d := range ds {
		t.Run(fmt.Sprintf("%d-%s", i, d.Action), func(t *testing.T) {
			msg, err := enc.Authentication(nil, d, fmt.Sprintf("msg-%d", i))
			require.NoError(t, err)
			rec, err := ocsf.ParseDecision(msg)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("msg-%d", i), rec.ID)
			require.Equal(t, d.EvaluationID, rec.EvaluationID)
			require.Equal(t, d.Action, rec.Decision)
			require.Equal(t, d.Score, rec.Score)
			require.Equal(t, d.RuleSetVersion, rec.RuleSetVersion)
			require.Equal(t, d.Event.UserID, rec.UserID)
			require.Equal(t, d.Event.Kind, rec.Kind)
			require.Equal(t, d.Time.UnixMilli(), rec.Time.UnixMilli())
			require.Equal(t, d.Floored, rec.Floored)
			var want []string
			for _, r := range d.Reasons {
				want = append(want, r.Rule)
			}
			require.Equal(t, want, rec.Rules)

			f, err := rs.Schema().FeaturesFromMap(rec.Features)
			require.NoError(t, err)
			if len(d.Features.Attr) == 0 {
				d.Features.Attr = nil
			}
			require.Equal(t, d.Features, f, "the snapshot reads back exactly")
			res := rs.Evaluate(f, d.Time)
			require.Equal(t, d.Score, res.Score)
			require.Equal(t, d.Action, res.Action)
			var got []string
			for _, m := range res.Matches {
				got = append(got, m.Rule.ID)
			}
			require.Equal(t, want, got)
		})
	}
}

func TestErrors(t *testing.T) {
	enc := newEncoder()
	d := handDecision(t, risk.StepUp, true, "u")
	dst := []byte("keep")
	cases := []struct {
		name string
		call func() ([]byte, error)
		want error
	}{
		{"authentication nil", func() ([]byte, error) { return enc.Authentication(dst, nil, "m") }, ocsf.ErrNilInput},
		{"authentication no features", func() ([]byte, error) {
			return enc.Authentication(dst, &engine.Decision{Action: risk.Block}, "m")
		}, ocsf.ErrNilInput},
		{"authentication no id", func() ([]byte, error) { return enc.Authentication(dst, d, "") }, ocsf.ErrNoID},
		{"finding nil", func() ([]byte, error) { return enc.Finding(dst, nil, "m") }, ocsf.ErrNilInput},
		{"finding no id", func() ([]byte, error) { return enc.Finding(dst, d, "") }, ocsf.ErrNoID},
		{"security nil", func() ([]byte, error) { return enc.Security(dst, nil, "m") }, ocsf.ErrNilInput},
		{"security unknown", func() ([]byte, error) {
			return enc.Security(dst, &secevent.Event{Type: "teleported"}, "m")
		}, ocsf.ErrUnknownEventType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.call()
			require.ErrorIs(t, err, c.want)
			require.Equal(t, "keep", string(out))
		})
	}
}

// TestAppend checks that messages append to dst rather than replace it, so
// the sink can batch JSONL lines into one buffer.
func TestAppend(t *testing.T) {
	enc := newEncoder()
	buf, err := enc.Authentication(nil, handDecision(t, risk.Passwordless, true, "u"), "a")
	require.NoError(t, err)
	buf = append(buf, '\n')
	buf, err = enc.Finding(buf, handDecision(t, risk.Block, true, "u"), "b")
	require.NoError(t, err)
	lines := bytes.Split(buf, []byte("\n"))
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.True(t, json.Valid(l))
	}
}

func TestParseDecisionRejects(t *testing.T) {
	enc := newEncoder()
	change, err := enc.Security(nil, securityEvent(secevent.PasswordChanged), "m")
	require.NoError(t, err)
	rc := ruleChanges()[0]
	ruleChange, err := enc.RuleChange(nil, &rc, "m")
	require.NoError(t, err)
	failed, err := enc.Security(nil, auditEvents()[1], "m")
	require.NoError(t, err)
	cases := map[string]string{
		"not json":         `{"class_uid":`,
		"account change":   string(change),
		"rule change":      string(ruleChange),
		"audit sign-in":    string(failed),
		"no extension":     `{"class_uid":3002,"metadata":{"uid":"m"}}`,
		"bad decision":     `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"maybe"}}}`,
		"no id":            `{"class_uid":3002,"unmapped":{"riskauth":{"decision":"block"}}}`,
		"trailing garbage": `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block"}}} x`,
		"features array":   `{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":[]}}}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ocsf.ParseDecision([]byte(in))
			require.Error(t, err)
		})
	}
}

func TestKeys(t *testing.T) {
	withUser := handDecision(t, risk.Passwordless, false, "u-42")
	identOnly := handDecision(t, risk.Passwordless, false, "")
	ipOnly := handDecision(t, risk.Passwordless, false, "")
	ipOnly.Keys.User, ipOnly.Event.Identifier = "", ""
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"user id", ocsf.Key(withUser), "u-42"},
		{"identifier", ocsf.Key(identOnly), "id:alice@example.com"},
		{"ip", ocsf.Key(ipOnly), "192.0.2.1"},
		{"nil", ocsf.Key(nil), ""},
		{"security user", ocsf.SecurityKey(securityEvent(secevent.Lockout)), "u-42"},
		{"security email", ocsf.SecurityKey(&secevent.Event{Email: " Bob@Example.com"}), "id:bob@example.com"},
		{"security ip", ocsf.SecurityKey(&secevent.Event{IP: netip.MustParseAddr("::ffff:192.0.2.3")}), "192.0.2.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { require.Equal(t, c.want, c.got) })
	}
}

func TestIsAlert(t *testing.T) {
	cases := []struct {
		name   string
		action risk.Action
		alert  risk.Severity
		want   bool
	}{
		{"block", risk.Block, risk.SeverityNone, true},
		{"step_up with alert", risk.StepUp, risk.SeverityLow, true},
		{"step_up without", risk.StepUp, risk.SeverityNone, false},
		{"passwordless", risk.Passwordless, risk.SeverityNone, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, ocsf.IsAlert(&engine.Decision{Action: c.action, Alert: c.alert}))
		})
	}
}

// TestMappings pins the status and severity choices documented in
// docs/alerts.md.
func TestMappings(t *testing.T) {
	enc := newEncoder()
	cases := []struct {
		action                risk.Action
		alert                 risk.Severity
		status, sev, actionID int
		mfa                   bool
	}{
		{risk.Passwordless, risk.SeverityNone, 99, 1, 1, false},
		{risk.StepUp, risk.SeverityNone, 99, 2, 99, true},
		{risk.StepUp, risk.SeverityMedium, 99, 3, 99, true},
		{risk.Block, risk.SeverityNone, 2, 4, 2, false},
		{risk.Block, risk.SeverityCritical, 2, 5, 2, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.action, c.alert), func(t *testing.T) {
			d := handDecision(t, c.action, true, "u")
			d.Alert = c.alert
			msg, err := enc.Authentication(nil, d, "m")
			require.NoError(t, err)
			var m struct {
				Status   int    `json:"status_id"`
				Detail   string `json:"status_detail"`
				Severity int    `json:"severity_id"`
				Action   int    `json:"action_id"`
				MFA      bool   `json:"is_mfa"`
			}
			require.NoError(t, json.Unmarshal(msg, &m))
			require.Equal(t, c.status, m.Status)
			require.Equal(t, c.action.String(), m.Detail)
			require.Equal(t, c.sev, m.Severity)
			require.Equal(t, c.actionID, m.Action)
			require.Equal(t, c.mfa, m.MFA)
			fmsg, err := enc.Finding(nil, d, "m")
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(fmsg, &m))
			require.Equal(t, c.sev, m.Severity, "finding and authentication agree")
		})
	}
}

// TestFindingAggregate: an aggregated finding carries OCSF's count and
// time range, stays valid against the schema, and refuses a zero count.
func TestFindingAggregate(t *testing.T) {
	schemas := compileSchemas(t)
	d := handDecision(t, risk.Block, true, "u-42")
	start := d.Time.Add(-time.Minute)
	msg, err := newEncoder().FindingAggregate(nil, d, "0193a6f2-7c1e-7000-8000-0000000000f1",
		ocsf.Aggregate{Count: 42, Start: start, End: d.Time})
	require.NoError(t, err)
	require.NoError(t, validate(t, schemas["detection-finding"], msg), "%s", msg)
	var m struct {
		Count     int   `json:"count"`
		StartTime int64 `json:"start_time"`
		EndTime   int64 `json:"end_time"`
	}
	require.NoError(t, json.Unmarshal(msg, &m))
	require.Equal(t, 42, m.Count)
	require.Equal(t, start.UnixMilli(), m.StartTime)
	require.Equal(t, d.Time.UnixMilli(), m.EndTime)

	plain, err := newEncoder().Finding(nil, d, "0193a6f2-7c1e-7000-8000-0000000000f1")
	require.NoError(t, err)
	require.NotContains(t, string(plain), `"count"`, "a single alert has no count")
	_, err = newEncoder().FindingAggregate(nil, d, "x", ocsf.Aggregate{})
	require.Error(t, err)
}

// TestCandidateRoundTrip checks that the candidate's would-be decision is
// read back by ParseDecision, and that a message without one (written
// before candidates existed, or with none loaded) reads back as nil.
func TestCandidateRoundTrip(t *testing.T) {
	enc := newEncoder()
	d := handDecision(t, risk.StepUp, true, "u-42")
	msg, err := enc.Authentication(nil, d, "msg-c")
	require.NoError(t, err)
	rec, err := ocsf.ParseDecision(msg)
	require.NoError(t, err)
	require.Equal(t, &ocsf.CandidateRecord{Version: "cand@9b1e07", Decision: risk.Block, Score: 85, Rules: []string{"new-country-strict"}}, rec.Candidate)
	require.Equal(t, risk.StepUp, rec.Decision, "the active decision is unchanged")

	d.Candidate = nil
	msg, err = enc.Authentication(nil, d, "msg-n")
	require.NoError(t, err)
	rec, err = ocsf.ParseDecision(msg)
	require.NoError(t, err)
	require.Nil(t, rec.Candidate)
}

// ruleChanges are audited rule-set changes of every shape: active-set
// update, candidate create, update and delete.
func ruleChanges() []ocsf.RuleChange {
	return []ocsf.RuleChange{
		{Action: rules.ActionPromote, Actor: "alice", At: decidedAt, OldVersion: "3f2a9c0011223344", NewVersion: "9b1e075566778899"},
		{Action: rules.ActionReload, Actor: rules.ActorFileWatcher, At: decidedAt, OldVersion: "a", NewVersion: "b"},
		{Action: rules.ActionCandidateSet, Actor: "bob", At: decidedAt, NewVersion: "c", Candidate: true},
		{Action: rules.ActionCandidateReload, Actor: rules.ActorFileWatcher, At: decidedAt, OldVersion: "c", NewVersion: "d", Candidate: true},
		{Action: rules.ActionCandidateClear, Actor: "bob", OldVersion: "d", Candidate: true},
	}
}
