package alert

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/riskauth/riskauth/engine/alert/spool"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
	"github.com/segmentio/kafka-go"
)

func (s *Sink) openFiles() error {
	if err := privfile.MkdirAll(s.cfg.DataDir); err != nil {
		return fmt.Errorf("alert: data dir: %w", err)
	}
	open := func(name, topic string) (*jsonlFile, error) {
		f, err := openJSONL(filepath.Join(s.cfg.DataDir, name), s.m.topic(topic), s.log)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, f)
		return f, nil
	}
	f, err := open("alerts.jsonl", s.cfg.AlertsTopic)
	if err != nil {
		return err
	}
	s.alerts = f
	if f, err = open("audit.jsonl", s.cfg.AuditTopic); err != nil {
		return err
	}
	s.audit = f
	if s.cfg.DecisionsTopic != "" {
		if f, err = open("decisions.jsonl", s.cfg.DecisionsTopic); err != nil {
			return err
		}
		s.decisions = f
	}
	return nil
}

func (s *Sink) openKafka() error {
	codec, _ := compression(s.cfg.Compression) // checked by Validate
	tr := &kafka.Transport{ClientID: s.cfg.ClientID, DialTimeout: min(5*time.Second, s.cfg.WriteTimeout)}
	if s.cfg.TLS != nil {
		tc, err := s.cfg.TLS.ClientConfig()
		if err != nil {
			return fmt.Errorf("alert: %w", err)
		}
		tr.TLS = tc
	}
	if s.cfg.SASL != nil {
		mech, err := s.cfg.SASL.mechanism()
		if err != nil {
			return fmt.Errorf("alert: %w", err)
		}
		tr.SASL = mech
	}
	kafkaLog := s.log.With("component", "kafka-go")
	s.writer = &kafka.Writer{
		Addr: kafka.TCP(s.cfg.Brokers...),
		// Murmur2 on the key, like Java clients: a user's messages land on
		// the partition every other producer would pick.
		Balancer:        &kafka.Murmur2Balancer{},
		MaxAttempts:     s.cfg.MaxAttempts,
		WriteBackoffMin: min(100*time.Millisecond, s.cfg.RetryBackoffMin),
		WriteBackoffMax: s.cfg.RetryBackoffMax,
		// One produce call per topic carries at most BatchSize messages
		// and BatchBytes bytes (the lane cuts its batches that way), so
		// each partition's share is one record batch: it lands whole or
		// not at all, and a retry cannot reorder a key's messages.
		BatchSize:    s.cfg.BatchSize,
		BatchBytes:   s.cfg.BatchBytes,
		BatchTimeout: s.cfg.BatchTimeout,
		WriteTimeout: s.cfg.WriteTimeout,
		ReadTimeout:  s.cfg.WriteTimeout,
		RequiredAcks: kafka.RequireAll,
		Async:        false,
		Compression:  codec,
		Transport:    tr,
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			kafkaLog.Debug(fmt.Sprintf(format, args...))
		}),
	}
	sync, _ := syncPolicy(s.cfg.SpoolSync)
	open := func(dir, topic string) (*lane, error) {
		sp, err := spool.Open(spool.Options{Dir: filepath.Join(s.cfg.SpoolDir, dir), MaxBytes: s.cfg.SpoolMaxBytes,
			Sync: sync, Logger: s.log.With("spool", dir)})
		if err != nil {
			return nil, fmt.Errorf("alert: spool %s: %w", dir, err)
		}
		l := newLane(topic, &s.cfg, s.writer, sp, s.m, s.log)
		s.lanes = append(s.lanes, l)
		return l, nil
	}
	l, err := open("alerts", s.cfg.AlertsTopic)
	if err != nil {
		return err
	}
	s.alerts = l
	if l, err = open("audit", s.cfg.AuditTopic); err != nil {
		return err
	}
	s.audit = l
	if s.cfg.DecisionsTopic != "" {
		if l, err = open("decisions", s.cfg.DecisionsTopic); err != nil {
			return err
		}
		s.decisions = l
	}
	return nil
}
