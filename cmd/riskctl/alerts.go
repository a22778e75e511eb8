package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// alertsTail consumes the alerts topic with a consumer group and prints
// each message: one readable line per alert, or the raw JSON with -json.
// It runs until interrupted, or until -n messages or -idle without one.
func alertsTail(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("alerts tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration `file`: its alerts section, with the RISKAUTH_KAFKA_* variables over it, gives the defaults of the connection flags (RISKAUTH_CONFIG)")
	brokers := fs.String("brokers", "", "comma-separated Kafka bootstrap brokers (default: as configured, RISKAUTH_KAFKA_BROKERS)")
	topic := fs.String("topic", "", "topic to read (default: the configured alerts topic, riskauth.alerts)")
	group := fs.String("group", "riskctl-alerts-tail", "consumer group; offsets are committed, so a restart continues where it stopped")
	fromStart := fs.Bool("from-beginning", false, "with a new group, start at the oldest message instead of the newest")
	asJSON := fs.Bool("json", false, "print each message's JSON as received, one per line")
	limit := fs.Int("n", 0, "stop after this many messages (0: run until interrupted)")
	idle := fs.Duration("idle", 0, "stop when no message arrived for this long (0: never)")
	useTLS := fs.Bool("tls", false, "connect with TLS even when not configured (RISKAUTH_KAFKA_TLS)")
	caFile := fs.String("tls-ca", "", "PEM CA bundle for the brokers' certificates (default: as configured, RISKAUTH_KAFKA_TLS_CA)")
	mech := fs.String("sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: as configured, RISKAUTH_KAFKA_SASL_MECHANISM)")
	user := fs.String("sasl-username", "", "SASL user name (default: as configured, RISKAUTH_KAFKA_SASL_USERNAME)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "alerts tail: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// Only the alerts section is read and validated: the tail must work
	// on an operator's machine without the server's secrets.
	ac, err := config.LoadAlerts(*cfgPath, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "alerts tail:", err)
		return 2
	}
	seeds := ac.Brokers
	if *brokers != "" {
		seeds = splitCSV(*brokers)
	}
	if len(seeds) == 0 {
		fmt.Fprintln(stderr, "alerts tail: no brokers: set -brokers, RISKAUTH_KAFKA_BROKERS or alerts.brokers in the -config file")
		return 2
	}
	reset := kgo.NewOffset().AtEnd()
	if *fromStart {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(cmp.Or(*topic, ac.AlertsTopic)),
		kgo.ConsumeResetOffset(reset),
		kgo.ClientID("riskctl"),
		// Only printed records are committed: a tail stopped by -n must
		// not skip what it fetched but did not show.
		kgo.AutoCommitMarks(),
	}
	tlsCfg := ac.TLS
	if tlsCfg == nil && (*useTLS || *caFile != "") {
		tlsCfg = &alert.TLSConfig{}
	}
	if tlsCfg != nil {
		if *caFile != "" {
			c := *tlsCfg
			c.CAFile = *caFile
			tlsCfg = &c
		}
		tc, err := tlsCfg.ClientConfig()
		if err != nil {
			fmt.Fprintln(stderr, "alerts tail:", err)
			return 2
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	var sc alert.SASLConfig
	if ac.SASL != nil {
		sc = *ac.SASL
	} else {
		// The password comes from the environment or the file only: a
		// flag would show in the process list and the shell history.
		sc.Password = os.Getenv("RISKAUTH_KAFKA_SASL_PASSWORD")
	}
	sc.Mechanism, sc.Username = cmp.Or(*mech, sc.Mechanism), cmp.Or(*user, sc.Username)
	if sc.Mechanism != "" {
		m, err := saslMechanism(sc.Mechanism, sc.Username, sc.Password)
		if err != nil {
			fmt.Fprintln(stderr, "alerts tail:", err)
			return 2
		}
		opts = append(opts, kgo.SASL(m))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintln(stderr, "alerts tail:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		// Commit what was printed, then leave the group cleanly so a
		// restart does not wait for the session timeout.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cl.CommitMarkedOffsets(cctx)
		cl.Close()
	}()

	seen := 0
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if *idle > 0 {
			pctx, cancel = context.WithTimeout(ctx, *idle)
		}
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return 0
		}
		if pctx.Err() != nil && fetches.NumRecords() == 0 {
			return 0 // idle
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
				continue
			}
			fmt.Fprintf(stderr, "alerts tail: %s[%d]: %v\n", fe.Topic, fe.Partition, fe.Err)
		}
		var werr error
		fetches.EachRecord(func(r *kgo.Record) {
			if werr != nil || (*limit > 0 && seen >= *limit) {
				return
			}
			seen++
			if *asJSON {
				_, werr = fmt.Fprintf(stdout, "%s\n", r.Value)
			} else {
				_, werr = fmt.Fprintln(stdout, formatAlert(r.Value))
			}
			if werr == nil {
				cl.MarkCommitRecords(r)
			}
		})
		if werr != nil {
			fmt.Fprintln(stderr, "alerts tail:", werr)
			return 1
		}
		if *limit > 0 && seen >= *limit {
			return 0
		}
	}
}

// tailMessage is the part of an OCSF message the readable line shows; the
// fields are common to every message kind riskauth produces.
type tailMessage struct {
	Time         int64  `json:"time"`
	ClassName    string `json:"class_name"`
	ActivityName string `json:"activity_name"`
	Severity     string `json:"severity"`
	Message      string `json:"message"`
	tailSubject
	// Evidences is where a Detection Finding names the user and source.
	Evidences []tailSubject `json:"evidences"`
	Finding   struct {
		Title string `json:"title"`
	} `json:"finding_info"`
	Metadata struct {
		UID string `json:"uid"`
	} `json:"metadata"`
	Unmapped struct {
		Riskauth struct {
			Decision string  `json:"decision"`
			Score    float64 `json:"score"`
			Reasons  []struct {
				Rule string `json:"rule"`
			} `json:"reasons"`
		} `json:"riskauth"`
	} `json:"unmapped"`
}

// tailSubject is who and where: top level in Authentication and Account
// Change messages, under evidences in a Detection Finding.
type tailSubject struct {
	User struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	} `json:"user"`
	Src struct {
		IP       string `json:"ip"`
		Location struct {
			Country string `json:"country"`
			City    string `json:"city"`
		} `json:"location"`
		AS struct {
			Number int `json:"number"`
		} `json:"autonomous_system"`
	} `json:"src_endpoint"`
}

// formatAlert renders one message as a line an analyst can scan:
// time, severity, what happened, who, from where, and why.
func formatAlert(raw []byte) string {
	var m tailMessage
	err := jsondepth.Check(raw, jsondepth.Limit)
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return fmt.Sprintf("(not JSON: %v) %q", err, truncate(string(raw), 200))
	}
	var b strings.Builder
	ts := time.UnixMilli(m.Time).UTC().Format(time.RFC3339)
	sev := strings.ToUpper(m.Severity)
	if sev == "" {
		sev = "-"
	}
	fmt.Fprintf(&b, "%s %-13s", ts, sev)
	what := m.Finding.Title
	if what == "" {
		what = m.Message
	}
	if what == "" {
		what = strings.TrimSpace(m.ClassName + " " + m.ActivityName)
	}
	ra := m.Unmapped.Riskauth
	if m.User.UID == "" && m.User.Name == "" && m.Src.IP == "" && len(m.Evidences) > 0 {
		m.tailSubject = m.Evidences[0]
	}
	if ra.Decision != "" {
		fmt.Fprintf(&b, " %-12s score=%-4g", ra.Decision, ra.Score)
	}
	who := m.User.UID
	if who == "" {
		who = m.User.Name
	}
	if who != "" {
		fmt.Fprintf(&b, " user=%s", who)
	}
	if m.Src.IP != "" {
		fmt.Fprintf(&b, " ip=%s", m.Src.IP)
		var where []string
		if m.Src.Location.Country != "" {
			where = append(where, m.Src.Location.Country)
		}
		if m.Src.Location.City != "" {
			where = append(where, m.Src.Location.City)
		}
		if m.Src.AS.Number != 0 {
			where = append(where, fmt.Sprintf("AS%d", m.Src.AS.Number))
		}
		if len(where) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(where, ", "))
		}
	}
	if len(ra.Reasons) > 0 {
		ids := make([]string, len(ra.Reasons))
		for i, r := range ra.Reasons {
			ids[i] = r.Rule
		}
		fmt.Fprintf(&b, " rules=%s", strings.Join(ids, ","))
	}
	if what != "" {
		fmt.Fprintf(&b, " — %s", what)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func saslMechanism(name, user, pass string) (sasl.Mechanism, error) {
	switch strings.ToUpper(name) {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("sasl mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", name)
}

func splitCSV(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
