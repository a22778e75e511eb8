package alert

import (
	"slices"
	"time"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
)

// run is the worker: it takes what is queued, encodes it and routes it.
func (s *Sink) run() {
	defer close(s.workerDone)
	batch := make([]item, 0, s.cfg.BatchSize)
	var sweep <-chan time.Time
	if s.agg != nil {
		t := time.NewTicker(max(s.cfg.AggregateWindow/4, 10*time.Millisecond))
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case now := <-sweep:
			s.summaries(s.agg.sweep(now), "")
			continue
		case it := <-s.queue:
			batch = append(batch, it)
		case <-s.stop:
			// Publish can no longer add (Close holds mu): empty the queue.
			for {
				batch = s.fill(batch)
				s.process(batch, "")
				if len(batch) < s.cfg.BatchSize {
					return
				}
				clear(batch)
				batch = batch[:0]
			}
		}
		batch = s.fill(batch)
		s.m.queueLen.Set(float64(len(s.queue)))
		s.process(batch, "")
		clear(batch)
		batch = batch[:0]
	}
}

// fill adds what is queued to batch, up to BatchSize items, without
// waiting.
func (s *Sink) fill(batch []item) []item {
	for len(batch) < s.cfg.BatchSize {
		select {
		case it := <-s.queue:
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// process encodes items and routes them to their topics, in order.
func (s *Sink) process(items []item, reason string) {
	if len(items) == 0 {
		return
	}
	var alerts, audit, decisions []message
	for _, it := range items {
		if it.forget != nil {
			// In order: what was encoded before goes first.
			s.route(alerts, audit, decisions, reason)
			alerts, audit, decisions = nil, nil, nil
			for _, dst := range []destination{s.alerts, s.audit, s.decisions} {
				if dst != nil {
					s.forgetOn(dst, it.forget, reason)
				}
			}
			continue
		}
		if it.rc != nil {
			rc := it.rc
			if m, ok := s.encode(rc.At, ocsf.RuleChangeKey, s.alerts, func(dst []byte, id string) ([]byte, error) {
				return s.enc.RuleChange(dst, rc, id)
			}); ok {
				alerts = append(alerts, m)
			}
			continue
		}
		if it.ev != nil {
			// One id for the event in both topics, and one encoding: the
			// same message, byte for byte (the record's logged_time, and its
			// time when the event has none, are read from the clock at
			// encoding, so encoding twice could differ).
			ev, id := it.ev, newMessageID()
			var body []byte
			encode := func(dst []byte, id string) ([]byte, error) {
				if body != nil {
					return append(dst, body...), nil
				}
				out, err := s.enc.Security(dst, ev, id)
				if err == nil {
					body = slices.Clone(out[len(dst):])
				}
				return out, err
			}
			if !ev.Type.AuditOnly() {
				if m, ok := s.encodeID(id, ev.Time, ocsf.SecurityKey(ev), s.alerts, encode); ok {
					alerts = append(alerts, m)
				}
			}
			if m, ok := s.encodeID(id, ev.Time, ocsf.SecurityKey(ev), s.audit, encode); ok {
				audit = append(audit, m)
			}
			continue
		}
		d := it.d
		key := ocsf.Key(d)
		if s.decisions != nil {
			if m, ok := s.encode(d.Time, key, s.decisions, func(dst []byte, id string) ([]byte, error) {
				return s.enc.Authentication(dst, d, id)
			}); ok {
				decisions = append(decisions, m)
			}
		}
		alerts = s.encodeSummaries(alerts, it.closed)
		if !it.finding {
			continue
		}
		if m, ok := s.encode(d.Time, key, s.alerts, func(dst []byte, id string) ([]byte, error) {
			return s.enc.Finding(dst, d, id)
		}); ok {
			alerts = append(alerts, m)
		}
	}
	s.route(alerts, audit, decisions, reason)
}

// route hands encoded messages to their topics.
func (s *Sink) route(alerts, audit, decisions []message, reason string) {
	if len(alerts) > 0 {
		s.alerts.route(alerts, reason)
	}
	if len(audit) > 0 {
		s.audit.route(audit, reason)
	}
	if len(decisions) > 0 {
		s.decisions.route(decisions, reason)
	}
}

// encodeSummaries appends the findings that stand for closed groups.
func (s *Sink) encodeSummaries(alerts []message, closed []summary) []message {
	for _, c := range closed {
		agg := ocsf.Aggregate{Count: c.n, Start: c.first, End: c.last}
		if m, ok := s.encode(c.last, ocsf.Key(c.d), s.alerts, func(dst []byte, id string) ([]byte, error) {
			return s.enc.FindingAggregate(dst, c.d, id, agg)
		}); ok {
			alerts = append(alerts, m)
		}
	}
	return alerts
}

// summaries sends the findings of closed groups.
func (s *Sink) summaries(closed []summary, reason string) {
	if alerts := s.encodeSummaries(nil, closed); len(alerts) > 0 {
		s.alerts.route(alerts, reason)
	}
}
