package geo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
)

// ErrClosed is returned by lookups and reloads after Close.
var ErrClosed = errors.New("geo: closed")

// Geo looks addresses up in MaxMind DB files (read into private memory,
// never served from the file itself), reloads them when they change on
// disk, and is the engine's "geo" signal. It is safe
// for concurrent use.
type Geo struct {
	cfg     Config
	pol     policy
	assumed assumed
	clock   clock.Clock
	log     *slog.Logger
	m       *Metrics

	cur atomic.Pointer[snapshot]

	mu     sync.Mutex // serialises reloads, Status and Close; guards slots and closed
	slots  []slot
	closed bool
}

// slot is one configured database file (or embedded database).
type slot struct {
	role     Role
	path     string // empty for embedded data
	name     string
	loadedAt time.Time
	// failed remembers the last failure seen by Refresh, so that a file that
	// stays broken is reported once, not at every poll.
	failed  string
	lastErr error
}

// snapshot is the set of databases one lookup uses. A lookup holds a
// reference for its whole duration; a reload publishes a new snapshot and
// drops the old one's base reference, and the databases it alone held are
// closed when its last lookup releases it: no lookup ever reads released
// memory.
type snapshot struct {
	refs             atomic.Int64
	dbs              []*database // index-aligned with Geo.slots
	city, asn, anony []*database
}

// Open opens every configured database, or the embedded fixture when none
// is configured (see Config.Embedded). A missing, unreadable, corrupt or
// unsupported file is an error naming it. clock (for reload bookkeeping),
// logger and metrics may be nil.
func Open(cfg Config, clk clock.Clock, logger *slog.Logger, metrics *Metrics) (*Geo, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.System{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Geo{
		cfg:     cfg,
		pol:     newPolicy(&cfg),
		assumed: assumed{cityKm: cfg.FlatCityAccuracyKm, countryKm: cfg.CountryRadiusKm},
		clock:   clk,
		log:     logger.With("signal", "geo"),
		m:       metrics,
	}
	var dbs []*database
	fail := func(err error) (*Geo, error) {
		for _, db := range dbs {
			_ = db.close()
		}
		return nil, err
	}
	if cfg.Embedded() {
		g.cfg.AllowDocumentationRanges = true
		for _, e := range embeddedSet {
			b, err := embedded.ReadFile(embeddedDir + "/" + e.file)
			if err != nil {
				return fail(fmt.Errorf("geo: embedded %s: %w", e.file, err))
			}
			name := "embedded/" + e.file
			db, err := openBytes(b, name, e.role, cfg.CacheEntries)
			if err != nil {
				return fail(fmt.Errorf("geo: embedded %s: %w", e.file, err))
			}
			dbs = append(dbs, db)
			g.slots = append(g.slots, slot{role: e.role, name: name})
		}
		g.log.Warn("no geo database configured: using the embedded test fixture, which knows documentation ranges only")
	} else {
		used := map[string]int{}
		for _, rp := range []struct {
			role  Role
			paths []string
		}{{RoleCity, cfg.City}, {RoleASN, cfg.ASN}, {RoleAnonymousIP, cfg.AnonymousIP}} {
			for _, p := range rp.paths {
				name := filepath.Base(p)
				if n := used[name]; n > 0 {
					name += "#" + strconv.Itoa(n+1)
				}
				used[filepath.Base(p)]++
				db, err := openFile(p, name, rp.role, cfg.CacheEntries)
				if err != nil {
					return fail(fmt.Errorf("geo: open %s database %s: %w", rp.role, p, err))
				}
				dbs = append(dbs, db)
				g.slots = append(g.slots, slot{role: rp.role, path: p, name: name})
			}
		}
	}
	now := clk.Now()
	for i, db := range dbs {
		g.slots[i].loadedAt = now
		g.m.loaded(db)
		g.log.Info("geo database loaded", "db", db.name, "path", db.path, "type", db.dbType, "build", db.build)
	}
	g.publish(dbs)
	return g, nil
}

// publish makes dbs the current snapshot. Callers hold g.mu (or own g).
func (g *Geo) publish(dbs []*database) {
	s := &snapshot{dbs: dbs}
	s.refs.Store(1)
	for _, db := range dbs {
		db.refs.Add(1)
		switch db.role {
		case RoleCity:
			s.city = append(s.city, db)
		case RoleASN:
			s.asn = append(s.asn, db)
		case RoleAnonymousIP:
			s.anony = append(s.anony, db)
		}
	}
	if old := g.cur.Swap(s); old != nil {
		g.release(old)
	}
}

// acquire returns the current snapshot with a reference held, or nil after Close.
func (g *Geo) acquire() *snapshot {
	for {
		s := g.cur.Load()
		if s == nil {
			return nil
		}
		// Only take a reference on a live snapshot: once its count reaches
		// zero it is retired for good and a newer one is already published.
		if n := s.refs.Load(); n > 0 && s.refs.CompareAndSwap(n, n+1) {
			return s
		}
	}
}

func (g *Geo) release(s *snapshot) {
	if s.refs.Add(-1) != 0 {
		return
	}
	for _, db := range s.dbs {
		if db.refs.Add(-1) == 0 {
			if err := db.close(); err != nil {
				g.log.Error("geo database close failed", "db", db.name, "err", err)
			}
		}
	}
}

// Lookup returns what the databases know about ip. An address in a
// special-purpose range (see Classify) is reported with its Range and not
// looked up; the zero address yields an empty Record. The error reports a
// database whose data could not be decoded; the Record then holds what the
// other databases answered.
func (g *Geo) Lookup(ip netip.Addr) (Record, error) {
	var rec Record
	err := g.lookupInto(ip, &rec)
	return rec, err
}

func (g *Geo) lookupInto(ip netip.Addr, rec *Record) error {
	if !ip.IsValid() {
		return nil
	}
	ip = Normalize(ip)
	rec.IP = ip
	if r := Classify(ip, g.cfg.AllowDocumentationRanges); r != RangePublic {
		rec.Range = r
		return nil
	}
	s := g.acquire()
	if s == nil {
		return ErrClosed
	}
	defer g.release(s)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	var first error
	for _, list := range [3][]*database{s.city, s.asn, s.anony} {
		for _, db := range list {
			ok, err := db.lookup(ip, rec, &g.assumed, sc)
			if err != nil {
				g.m.lookupError(db.name)
				if first == nil {
					first = fmt.Errorf("geo: %s: lookup %s: %w", db.name, ip, err)
				}
				continue
			}
			if ok {
				break
			}
		}
	}
	return first
}

// Reload reopens every database file now (for example on SIGHUP). A file
// that is missing or fails to open keeps its loaded generation; the error
// names each such file, which is also logged and counted in
// riskauth_geo_reload_errors_total.
func (g *Geo) Reload() error { return g.reload(true) }

// Refresh reopens the database files whose modification time or size
// changed since they were loaded; Run calls it every PollInterval. A file
// that stays broken is reported once, not at every call.
func (g *Geo) Refresh() error { return g.reload(false) }

func (g *Geo) reload(force bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	cur := g.cur.Load()
	next := append([]*database(nil), cur.dbs...)
	changed := false
	var errs []error
	for i := range g.slots {
		sl := &g.slots[i]
		if sl.path == "" {
			continue
		}
		st, statErr := os.Stat(sl.path)
		sig := ""
		if statErr != nil {
			sig = "stat: " + statErr.Error()
		} else {
			fs := fileStat{st.ModTime(), st.Size()}
			if !force && fs.same(cur.dbs[i].stat) {
				sl.failed = "" // back to the loaded file (e.g. a bad copy was reverted)
				continue
			}
			sig = fs.mtime.String() + "/" + strconv.FormatInt(fs.size, 10)
		}
		if !force && sig == sl.failed {
			continue
		}
		var db *database
		err := statErr
		if err == nil {
			db, err = openFile(sl.path, sl.name, sl.role, g.cfg.CacheEntries)
		}
		if err != nil {
			sl.failed, sl.lastErr = sig, err
			g.m.reloadError(sl.name)
			g.log.Error("geo database reload failed; keeping the loaded one", "db", sl.name, "path", sl.path, "err", err)
			errs = append(errs, fmt.Errorf("geo: reload %s database %s: %w", sl.role, sl.path, err))
			continue
		}
		sl.failed, sl.lastErr, sl.loadedAt = "", nil, g.clock.Now()
		next[i] = db
		changed = true
		g.m.reloaded(db)
		g.log.Info("geo database reloaded", "db", db.name, "path", db.path, "type", db.dbType, "build", db.build)
	}
	if changed {
		g.publish(next)
	}
	return errors.Join(errs...)
}

// Run calls Refresh every PollInterval until ctx is done. It returns nil
// when ctx is done; with only embedded data it just waits.
func (g *Geo) Run(ctx context.Context) error {
	if g.cfg.Embedded() {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(g.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := g.Refresh(); errors.Is(err, ErrClosed) {
				return nil
			}
		}
	}
}

// Close releases the databases; lookups still running finish first. It is
// safe to call more than once.
func (g *Geo) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if old := g.cur.Swap(nil); old != nil {
		g.release(old)
	}
	return nil
}

// DatabaseStatus describes one loaded database.
type DatabaseStatus struct {
	Name         string    `json:"name"`
	Path         string    `json:"path,omitempty"`
	Role         Role      `json:"role"`
	Schema       Schema    `json:"schema"`
	DatabaseType string    `json:"database_type"`
	BuildTime    time.Time `json:"build_time"`
	LoadedAt     time.Time `json:"loaded_at"`
	// LastError is the last reload failure since the loaded generation, if any.
	LastError string `json:"last_error,omitempty"`
}

// Status describes the loaded databases, in configuration order.
func (g *Geo) Status() []DatabaseStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.cur.Load()
	if s == nil {
		return nil
	}
	out := make([]DatabaseStatus, len(g.slots))
	for i, sl := range g.slots {
		db := s.dbs[i]
		out[i] = DatabaseStatus{Name: sl.name, Path: sl.path, Role: sl.role, Schema: db.schema,
			DatabaseType: db.dbType, BuildTime: db.build, LoadedAt: sl.loadedAt}
		if sl.lastErr != nil {
			out[i].LastError = sl.lastErr.Error()
		}
	}
	return out
}
