package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/require"
)

// planQuery is one token or flow statement, representative arguments,
// and the columns that make an index access selective: every table access
// in its plan must be an index search constrained by at least one of
// them. A search on kind alone is not: every pending token of that kind
// would be read, which is how unknown-address requests slowed down as
// unused tokens piled up (issue 17, item 4).
type planQuery struct {
	name string
	sql  string
	args []any
	by   []string
}

var planNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// sqlitePlanQueries are every token and flow statement of the SQLite
// store, with the counted events and flow clients that sign-in and the
// mail cap query on every request.
func sqlitePlanQueries() []planQuery {
	now, hash := planNow.UnixMilli(), []byte("0123456789abcdef0123456789abcdef")
	return []planQuery{
		{"supersede by user", sqliteSupersedeByUser, []any{now, "u-1", "email_code"}, []string{"user_id"}},
		{"supersede by user, rare kind", sqliteSupersedeByUser, []any{now, "u-1", "magic_link"}, []string{"user_id"}},
		{"supersede by user, no user", sqliteSupersedeByUser, []any{now, "", "password_reset"}, []string{"user_id"}},
		{"supersede by flow", sqliteSupersedeByFlow, []any{now, "email_code", "f-1"}, []string{"flow_id"}},
		{"supersede by flow, rare kind", sqliteSupersedeByFlow, []any{now, "magic_link", "f-1"}, []string{"flow_id"}},
		{"supersede by flow, no flow", sqliteSupersedeByFlow, []any{now, "password_reset", ""}, []string{"flow_id"}},
		{"insert token", sqliteInsertToken, []any{"t-1", "email_code", hash, "u-1", "f-1", now, now, 5}, nil},
		{"consume token", sqliteConsumeToken, []any{now, "magic_link", hash, now}, []string{"id", "hash"}},
		{"live token", sqliteLiveToken, []any{"password_reset", hash, now}, []string{"hash"}},
		{"use code", sqliteUseCode, []any{now, "email_code", "f-1", hash, now}, []string{"flow_id", "hash"}},
		{"miss code", sqliteMissCode, []any{now, "email_code", "f-1", now}, []string{"flow_id"}},
		{"count tokens", sqliteCountTokens, []any{"u-1", "password_reset", now}, []string{"user_id"}},
		{"sweep tokens", sqliteSweepTokens, []any{now, now}, []string{"created_at"}},
		{"insert flow", sqliteInsertFlow, []any{"f-2", "u-1", "a@example.com", "", "", "[]", "started", now, now, now, 0}, nil},
		{"flow by id", sqliteFlowByID, []any{"f-1", now}, []string{"id"}},
		{"advance flow", sqliteAdvanceFlow, []any{"done", 0, now, "", "", nil, "f-1", "started", now}, []string{"id"}},
		{"flow exists", sqliteFlowExists, []any{"f-1", now}, []string{"id"}},
		{"sweep flows", sqliteSweepFlows, []any{now}, []string{"expires_at"}},
		{"count events", sqliteCountEvents, []any{hash, now}, []string{"key"}},
		{"add event", sqliteAddEvent, []any{hash, now, now}, nil},
		{"clear events", sqliteClearEvents, []any{hash}, []string{"key"}},
		{"sweep events", sqliteSweepEvents, []any{now}, []string{"expires_at"}},
		{"save flow client", sqliteSaveFlowClient, []any{"f-1", "192.0.2.1", "ua", "", now, now}, []string{"flow_id"}},
		{"flow client", sqliteFlowClient, []any{"f-1", now}, []string{"flow_id"}},
		{"sweep flow clients", sqliteSweepFlowClients, []any{now}, []string{"expires_at"}},
	}
}

// pgPlanQueries are every token and flow statement of the PostgreSQL
// store, with the counted events and flow clients.
func pgPlanQueries() []planQuery {
	now, hash := planNow, []byte("0123456789abcdef0123456789abcdef")
	return []planQuery{
		{"supersede by user", pgSupersedeByUser, []any{now, "u-1", "email_code"}, []string{"user_id"}},
		{"supersede by user, rare kind", pgSupersedeByUser, []any{now, "u-1", "magic_link"}, []string{"user_id"}},
		{"supersede by user, no user", pgSupersedeByUser, []any{now, "", "password_reset"}, []string{"user_id"}},
		{"supersede by flow", pgSupersedeByFlow, []any{now, "email_code", "f-1"}, []string{"flow_id"}},
		{"supersede by flow, rare kind", pgSupersedeByFlow, []any{now, "magic_link", "f-1"}, []string{"flow_id"}},
		{"supersede by flow, no flow", pgSupersedeByFlow, []any{now, "password_reset", ""}, []string{"flow_id"}},
		{"insert token", pgInsertToken, []any{"t-1", "email_code", hash, "u-1", "f-1", now, now, 5}, nil},
		{"consume token", pgConsumeToken, []any{now, "magic_link", hash}, []string{"id", "hash"}},
		{"live token", pgLiveToken, []any{now, "password_reset", hash}, []string{"hash"}},
		{"use code", pgUseCode, []any{now, "email_code", "f-1", hash}, []string{"flow_id", "hash"}},
		{"miss code", pgMissCode, []any{now, "email_code", "f-1"}, []string{"flow_id"}},
		{"count tokens", pgCountTokens, []any{"u-1", "password_reset", now}, []string{"user_id"}},
		{"sweep tokens", pgSweepTokens, []any{now.Add(-15 * time.Minute), now}, []string{"created_at"}},
		{"insert flow", pgInsertFlow, []any{"f-2", "u-1", "a@example.com", "", "", []string{}, "started", now, now, now, false}, nil},
		{"flow by id", pgFlowByID, []any{"f-1", now}, []string{"id"}},
		{"advance flow", pgAdvanceFlow, []any{"done", false, now, "f-1", "started", "", "", nil}, []string{"id"}},
		{"flow exists", pgFlowExists, []any{"f-1", now}, []string{"id"}},
		{"sweep flows", pgSweepFlows, []any{now}, []string{"expires_at"}},
		{"count events", pgCountEvents, []any{hash, now}, []string{"key"}},
		{"add event", pgAddEvent, []any{hash, now, now}, nil},
		{"clear events", pgClearEvents, []any{hash}, []string{"key"}},
		{"sweep events", pgSweepEvents, []any{now}, []string{"expires_at"}},
		{"save flow client", pgSaveFlowClient, []any{"f-1", "192.0.2.1", "ua", "", now, now}, []string{"flow_id"}},
		{"flow client", pgFlowClient, []any{"f-1", now}, []string{"flow_id"}},
		{"sweep flow clients", pgSweepFlowClients, []any{now}, []string{"expires_at"}},
	}
}

// pendingTokens is how many unused tokens the plan tests put in the
// table, the pile-up the issue measured.
const pendingTokens = 10_000

// TestSQLiteQueryPlans explains every token and flow statement of the
// SQLite store, on a fresh database (no statistics, as in production:
// nothing runs ANALYZE) and after 10k pending tokens were added and
// analysed, and fails on any table access that is not a selective index
// search.
func TestSQLiteQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "authn.db"), SQLiteOptions{Timeouts: Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	db := s.write.DB
	for _, stage := range []string{"fresh", "10k pending, analysed"} {
		if stage != "fresh" {
			require.NoError(t, sqlitePileUp(ctx, db))
		}
		for _, q := range sqlitePlanQueries() {
			t.Run(stage+"/"+q.name, func(t *testing.T) {
				plan, err := sqlitePlan(ctx, db, q)
				require.NoError(t, err)
				require.Empty(t, sqliteScans(plan, q.by), "plan:\n%s", strings.Join(plan, "\n"))
			})
		}
	}
}

// TestPostgresQueryPlans is the same check on PostgreSQL, after 10k
// pending tokens and flows were added and analysed (on a near-empty table
// a sequential scan is the right plan, so a fresh database proves
// nothing).
func TestPostgresQueryPlans(t *testing.T) {
	t.Parallel()
	url := testenv.Require(t, testenv.EnvPostgresURL)
	ctx := t.Context()
	s := openPgSchema(t, url)
	require.NoError(t, pgPileUp(ctx, s))
	lead := pgLeadingColumns(t, s)
	for _, q := range pgPlanQueries() {
		t.Run(q.name, func(t *testing.T) {
			var raw []byte
			require.NoError(t, s.db.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+q.sql, q.args...).Scan(&raw))
			var plans []struct{ Plan pgPlanNode }
			require.NoError(t, json.Unmarshal(raw, &plans))
			require.Len(t, plans, 1)
			require.Empty(t, pgScans(plans[0].Plan, q.by, lead), "plan:\n%s", raw)
		})
	}
}

func sqlitePlan(ctx context.Context, db *sql.DB, q planQuery) ([]string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

var (
	sqliteSearch = regexp.MustCompile(`^SEARCH (\S+) USING (?:COVERING )?(?:INDEX \S+|PRIMARY KEY|INTEGER PRIMARY KEY) \((.*)\)$`)
	// constraintCol is the column of one "col=?" or "col>?" term.
	constraintCol = regexp.MustCompile(`(\w+)\s*[=<>]`)
	// pgCondCol is the column of one "(col = ...)" term of an Index Cond.
	pgCondCol = regexp.MustCompile(`\((\w+) [=<>]`)
)

// sqliteScans returns the plan lines that read a table other than by a
// selective index search: SCAN lines, and SEARCH lines constrained by
// none of the by columns.
func sqliteScans(plan []string, by []string) []string {
	var bad []string
	for _, line := range plan {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "SCAN "):
			if !strings.HasPrefix(line, "SCAN CONSTANT ROW") && !strings.HasPrefix(line, "SCAN (") {
				bad = append(bad, line)
			}
		case strings.HasPrefix(line, "SEARCH "):
			m := sqliteSearch.FindStringSubmatch(line)
			if m == nil || !constrainedBy(constraintCol.FindAllStringSubmatch(m[2], -1), by) {
				bad = append(bad, line)
			}
		}
	}
	return bad
}

func constrainedBy(terms [][]string, by []string) bool {
	for _, t := range terms {
		if slices.Contains(by, t[1]) {
			return true
		}
	}
	return false
}

// pgPlanNode is the part of EXPLAIN (FORMAT JSON) the check reads.
type pgPlanNode struct {
	NodeType  string       `json:"Node Type"`
	Relation  string       `json:"Relation Name"`
	Index     string       `json:"Index Name"`
	IndexCond string       `json:"Index Cond"`
	Plans     []pgPlanNode `json:"Plans"`
}

// pgScans returns the plan nodes that read a table other than by a
// selective index condition: sequential scans, and index scans whose
// condition names none of the by columns, or not the index's leading
// column (lead, by index name): PostgreSQL then reads the whole index and
// tests the condition on every entry.
func pgScans(n pgPlanNode, by []string, lead map[string]string) []string {
	var bad []string
	switch n.NodeType {
	case "Seq Scan", "Tid Scan", "Sample Scan":
		bad = append(bad, n.NodeType+" on "+n.Relation)
	case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
		terms := pgCondCol.FindAllStringSubmatch(n.IndexCond, -1)
		if !constrainedBy(terms, by) || !constrainedBy(terms, []string{lead[n.Index]}) {
			bad = append(bad, fmt.Sprintf("%s using %s (%s)", n.NodeType, n.Index, n.IndexCond))
		}
	}
	for _, c := range n.Plans {
		bad = append(bad, pgScans(c, by, lead)...)
	}
	return bad
}

// pgLeadingColumns maps each index of the store's schema to its first
// column.
func pgLeadingColumns(tb testing.TB, s *Postgres) map[string]string {
	tb.Helper()
	rows, err := s.db.Query(tb.Context(), `SELECT ic.relname, a.attname
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE ic.relnamespace = current_schema()::regnamespace`)
	require.NoError(tb, err)
	lead := map[string]string{}
	for rows.Next() {
		var idx, col string
		require.NoError(tb, rows.Scan(&idx, &col))
		lead[idx] = col
	}
	require.NoError(tb, rows.Err())
	require.NotEmpty(tb, lead)
	return lead
}

// sqlitePileUp adds 10k unowned pending reset tokens, 10k email codes
// bound to as many flows, and a few users with tokens of their own, 10k
// counted events and 10k flow clients, then runs ANALYZE.
func sqlitePileUp(ctx context.Context, db *sql.DB) error {
	now := planNow.UnixMilli()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO users (id, email, created_at, updated_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
			SELECT 'u-' || i, 'u' || i || '@example.com', %d, %d FROM n`, now, now),
		fmt.Sprintf(`INSERT INTO login_flows (`+flowCols+`)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT 'f-' || i, NULL, 'x' || i || '@example.com', '', '', '[]', 'code_sent', %d, %d, %d, 0 FROM n`,
			pendingTokens, now, now, now+15*60_000),
		fmt.Sprintf(`INSERT INTO one_time_tokens (`+tokenCols+`)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT 'r-' || i, 'password_reset', randomblob(32), NULL, NULL, %d, %d, 0, 0, NULL FROM n`,
			pendingTokens, now, now+30*60_000),
		fmt.Sprintf(`INSERT INTO one_time_tokens (`+tokenCols+`)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT 'c-' || i, 'email_code', randomblob(32), 'u-' || (i %% 100 + 1), 'f-' || i, %d, %d, 0, 5, NULL FROM n`,
			pendingTokens, now, now+10*60_000),
		fmt.Sprintf(`INSERT INTO counter_events (key, at, expires_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT randomblob(32), %d, %d FROM n`, pendingTokens, now, now+15*60_000),
		fmt.Sprintf(`INSERT INTO flow_clients (flow_id, ip, user_agent, location, at, expires_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT 'f-' || i, '192.0.2.1', 'ua', '', %d, %d FROM n`, pendingTokens, now, now+15*60_000),
		`ANALYZE`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("pile up: %w", err)
		}
	}
	return nil
}

// pgPileUp is sqlitePileUp on PostgreSQL.
func pgPileUp(ctx context.Context, s *Postgres) error {
	for _, q := range []string{
		`INSERT INTO users (id, email, created_at, updated_at)
			SELECT 'u-' || i, 'u' || i || '@example.com', $1::timestamptz, $1::timestamptz FROM generate_series(1, 100) i`,
		`INSERT INTO login_flows (` + flowCols + `)
			SELECT 'f-' || i, NULL, 'x' || i || '@example.com', '', '', '{}', 'code_sent', $1::timestamptz, $1::timestamptz, $1::timestamptz + interval '15 minutes', false
			FROM generate_series(1, 10000) i`,
		`INSERT INTO one_time_tokens (` + tokenCols + `)
			SELECT 'r-' || i, 'password_reset', sha256(i::text::bytea), NULL, NULL, $1::timestamptz, $1::timestamptz + interval '30 minutes', 0, 0, NULL
			FROM generate_series(1, 10000) i`,
		`INSERT INTO one_time_tokens (` + tokenCols + `)
			SELECT 'c-' || i, 'email_code', sha256(('c' || i)::bytea), 'u-' || (i % 100 + 1), 'f-' || i, $1::timestamptz, $1::timestamptz + interval '10 minutes', 0, 5, NULL
			FROM generate_series(1, 10000) i`,
		`INSERT INTO counter_events (key, at, expires_at)
			SELECT sha256(('k' || i)::bytea), $1::timestamptz, $1::timestamptz + interval '15 minutes' FROM generate_series(1, 10000) i`,
		`INSERT INTO flow_clients (flow_id, ip, user_agent, location, at, expires_at)
			SELECT 'f-' || i, '192.0.2.1', 'ua', '', $1::timestamptz, $1::timestamptz + interval '15 minutes' FROM generate_series(1, 10000) i`,
	} {
		if _, err := s.db.Exec(ctx, q, planNow); err != nil {
			return fmt.Errorf("pile up: %w", err)
		}
	}
	if _, err := s.db.Exec(ctx, `ANALYZE users, login_flows, one_time_tokens, counter_events, flow_clients`); err != nil {
		return fmt.Errorf("pile up: %w", err)
	}
	return nil
}

// openPgSchema opens the store on a schema of its own on the test server,
// dropped when the test ends.
func openPgSchema(tb testing.TB, url string) *Postgres {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin := func(ctx context.Context, q string) {
		c, err := pgx.Connect(ctx, url)
		require.NoError(tb, err)
		defer c.Close(ctx)
		_, err = c.Exec(ctx, q)
		require.NoError(tb, err)
	}
	admin(tb.Context(), `CREATE SCHEMA `+schema)
	tb.Cleanup(func() { admin(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
	s, err := OpenPostgres(tb.Context(), url, PostgresOptions{SearchPath: schema, MaxConns: 4, Timeouts: Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
