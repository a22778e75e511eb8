package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
)

// evaluation is what Evaluate allocates per event, in one object.
type evaluation struct {
	d       Decision
	pending Pending
	req     LoadRequest
	signals [8]SignalStatus
}

type signalOut struct {
	idx int
	res Result
	err error
	dur time.Duration
}

type stateOut struct {
	snap *Snapshot
	err  error
	dur  time.Duration
}

func (e *Engine) runSignal(ctx context.Context, i int, s Signal, ev *Event, out chan<- signalOut) {
	budget := e.cfg.Deadline
	if b, ok := e.cfg.SignalBudgets[s.Name()]; ok && b > 0 && b < budget {
		budget = b
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	t0 := e.clock.Now()
	res, err := s.Collect(ctx, ev)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	out <- signalOut{idx: i, res: res, err: err, dur: e.clock.Now().Sub(t0)}
}

func (e *Engine) loadState(ctx context.Context, req *LoadRequest) stateOut {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StateBudget)
	defer cancel()
	t0 := e.clock.Now()
	snap, err := e.state.Load(ctx, req)
	return stateOut{snap: snap, err: e.checkSnapshot(snap, err), dur: e.clock.Now().Sub(t0)}
}

func (e *Engine) checkSnapshot(snap *Snapshot, err error) error {
	if err == nil && (snap == nil || len(snap.Counters) != len(e.counters)) {
		err = errors.New("state store returned a malformed snapshot")
	}
	return err
}

func (e *Engine) finishSignal(d *Decision, name string, err error, dur time.Duration) {
	st := SignalStatus{Name: name, Available: err == nil, Millis: float64(dur.Microseconds()) / 1000}
	if err != nil {
		st.Error = "error"
		if errors.Is(err, context.DeadlineExceeded) {
			st.Error = "timeout"
		}
		e.log.Warn("signal unavailable", "signal", name, "err", err)
	}
	d.Signals.set(st)
	if e.m != nil {
		e.series[name].observe(dur, st.Error)
	}
}

func (e *Engine) eventFeatures(f *risk.Features, ev *Event, dev DeviceInfo, keys Keys) {
	f.Event.Kind = ev.Kind
	f.Event.IP = keys.IP
	f.Event.HasUser = keys.User != ""
	f.Event.HourUTC = ev.Time.UTC().Hour()
	f.Event.Headless = dev.Headless
	f.Event.EmptyAgent = strings.TrimSpace(ev.UserAgent) == ""
	f.Device.Present = ev.Device != nil || ev.UserAgent != ""
	f.Device.ID = dev.ID
	f.Device.HasCookie = dev.HasCookie
	if len(ev.Attributes) > 0 {
		f.Attr = ev.Attributes
	}
}

// stateFeatures turns the velocity and profile snapshot into features.
func (e *Engine) stateFeatures(f *risk.Features, s *Snapshot, keys Keys, at time.Time) {
	f.Velocity.Available = true
	copy(f.Velocity.Values, s.Counters)
	f.User.Available = true
	if e.deviceUsers >= 0 {
		f.Device.Users = s.Counters[e.deviceUsers]
	}
	p := &s.Profile
	f.User.Logins = p.Logins
	f.User.Known = p.Logins > 0
	f.User.Countries = len(p.Countries)
	f.User.Devices = len(p.Devices)
	for _, d := range p.Devices {
		if d.Trusted {
			f.User.TrustedDevices++
		}
	}
	if p.Last != nil {
		f.User.DaysSinceLogin = at.Sub(p.Last.At).Hours() / 24
		f.User.LastIP = p.Last.IP
		f.User.SameIPAsLast = keys.IP != "" && keys.IP == p.Last.IP
		f.User.SameSubnetAsLast = keys.Subnet != "" && keys.Subnet == p.Last.Subnet
	}
	if d := p.Device(keys.Device); d != nil {
		f.Device.Known = true
		f.Device.Trusted = d.Trusted
		f.Device.AgeDays = at.Sub(d.First).Hours() / 24
	}
}
