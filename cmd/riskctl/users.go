package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// riskctl users: the user administration over the admin API
// (docs/admin.md), with an admin key from the environment.

const usersUsage = `usage:
  riskctl users search [-email PREFIX] [-id ID] [-status active|unverified|disabled]
                       [-created-from RFC3339] [-created-before RFC3339] [-limit N] [-all] [-json]
  riskctl users show [-json] ID
  riskctl users export [-email PREFIX] [-status S] [-created-from T] [-created-before T] > users.jsonl
  riskctl users import -reason TEXT [-dry-run] [-restart] [-firebase-params FILE] [-report FILE] FILE.jsonl
      migrated users with their foreign password hashes (docs/migration.md); resumable
  riskctl users ACTION -reason TEXT ID
      ACTION: disable, enable, unlock, reset-mfa, revoke (every session),
              resend-verification, mark-verified, password-reset, delete

environment:
  RISKAUTH_URL        the server (default http://127.0.0.1:8080)
  RISKAUTH_ADMIN_KEY  an admin key with the scope the command needs
                      (users:read to search, show and export; users:support or
                      users:admin for the actions, see docs/admin.md)
`

// userActionRoutes maps riskctl's action names to the admin API's.
var userActionRoutes = map[string]string{
	"disable": "disable", "enable": "enable", "unlock": "unlock", "reset-mfa": "reset-mfa",
	"revoke": "revoke-sessions", "revoke-sessions": "revoke-sessions", "resend-verification": "resend-verification",
	"mark-verified": "mark-verified", "password-reset": "password-reset", "delete": "delete",
}

// adminClient calls the admin API with one admin key.
type adminClient struct {
	base string
	key  string
	http *http.Client
}

func newAdminClient(env func(string) string) (*adminClient, error) {
	key := strings.TrimSpace(env("RISKAUTH_ADMIN_KEY"))
	if key == "" {
		return nil, errors.New("RISKAUTH_ADMIN_KEY is not set: an admin key is needed (docs/admin.md)")
	}
	base := strings.TrimRight(strings.TrimSpace(env("RISKAUTH_URL")), "/")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("RISKAUTH_URL %q: want http(s)://host[:port]", base)
	}
	return &adminClient{base: base, key: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiError is the admin API's error body.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Fields []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg)
	for _, f := range e.Fields {
		s += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return s
}

// do sends method path with body (JSON, nil for none) and decodes a 200
// answer into out.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("User-Agent", "riskctl")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &eb) != nil || eb.Error.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		eb.Error.Status = resp.StatusCode
		return &eb.Error
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// userSummary is an account as the search returns it.
type userSummary struct {
	ID              string     `json:"id"`
	Email           string     `json:"email"`
	Status          string     `json:"status"`
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	Disabled        bool       `json:"disabled"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

type userList struct {
	Users      []userSummary `json:"users"`
	NextCursor string        `json:"next_cursor"`
}

// usersCmd is `riskctl users ...`; env reads the environment.
func usersCmd(args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	ctx := context.Background()
	switch sub := args[0]; sub {
	case "search", "export":
		return usersSearch(ctx, sub, args[1:], env, stdout, stderr)
	case "show":
		return usersShow(ctx, args[1:], env, stdout, stderr)
	case "import":
		return usersImport(ctx, args[1:], env, stdout, stderr)
	default:
		route, ok := userActionRoutes[sub]
		if !ok {
			fmt.Fprint(stderr, usersUsage)
			return 2
		}
		return usersAct(ctx, sub, route, args[1:], env, stdout, stderr)
	}
}

func usersSearch(ctx context.Context, sub string, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "address prefix (case-insensitive)")
	id := fs.String("id", "", "one account")
	status := fs.String("status", "", "active, unverified or disabled")
	from := fs.String("created-from", "", "created at or after (RFC 3339)")
	before := fs.String("created-before", "", "created before (RFC 3339)")
	limit := fs.Int("limit", 50, "accounts per page (1-200)")
	all := fs.Bool("all", sub == "export", "every page, not only the first")
	asJSON := fs.Bool("json", sub == "export", "JSON lines instead of a table")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	c, err := newAdminClient(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	q := url.Values{}
	for k, v := range map[string]string{"email": *email, "id": *id, "status": *status, "created_from": *from, "created_before": *before} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", fmt.Sprint(*limit))
	var tw *tabwriter.Writer
	if !*asJSON {
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tSTATUS\tCREATED")
	}
	enc := json.NewEncoder(stdout)
	n := 0
	for {
		var page userList
		if err := c.do(ctx, http.MethodGet, "/v1/admin/users?"+q.Encode(), nil, &page); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, u := range page.Users {
			n++
			if tw != nil {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Status, u.CreatedAt.Format(time.RFC3339))
				continue
			}
			if err := enc.Encode(u); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
		if page.NextCursor == "" || !*all {
			if tw != nil {
				_ = tw.Flush()
				if page.NextCursor != "" {
					fmt.Fprintf(stderr, "more accounts follow: -all for every page\n")
				}
			}
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	if sub == "export" {
		fmt.Fprintf(stderr, "%d accounts exported\n", n)
	}
	return 0
}

func usersShow(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "the API's JSON")
	ids, err := parseInterleaved(fs, args)
	if err != nil || len(ids) != 1 {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	c, err := newAdminClient(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var v json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/v1/admin/users/"+url.PathEscape(ids[0]), nil, &v); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		fmt.Fprintln(stdout, string(v))
		return 0
	}
	return printUserView(v, stdout, stderr)
}

// userView is the part of the single customer view show prints.
type userView struct {
	User     userSummary `json:"user"`
	Password struct {
		Set       bool       `json:"set"`
		Scheme    string     `json:"scheme"`
		ChangedAt *time.Time `json:"changed_at"`
	} `json:"password"`
	Factors struct {
		TOTP *struct {
			CreatedAt   time.Time  `json:"created_at"`
			ConfirmedAt *time.Time `json:"confirmed_at"`
		} `json:"totp"`
		RecoveryCodes int `json:"recovery_codes_remaining"`
	} `json:"factors"`
	Sessions []struct {
		ID         string    `json:"id"`
		LastSeenAt time.Time `json:"last_seen_at"`
		AAL        int       `json:"aal"`
		IP         string    `json:"ip"`
		UserAgent  string    `json:"user_agent"`
	} `json:"sessions"`
	Recent []struct {
		At      time.Time `json:"at"`
		Factor  string    `json:"factor"`
		Success bool      `json:"success"`
		IP      string    `json:"ip"`
	} `json:"recent_activity"`
	Lockout struct {
		WrongPasswords int  `json:"wrong_passwords"`
		Held           bool `json:"held"`
	} `json:"lockout"`
}

func printUserView(raw []byte, stdout, stderr io.Writer) int {
	var v userView
	if err := json.Unmarshal(raw, &v); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	u := v.User
	fmt.Fprintf(tw, "id\t%s\nemail\t%s\nstatus\t%s\ncreated\t%s\n", u.ID, u.Email, u.Status, u.CreatedAt.Format(time.RFC3339))
	if u.EmailVerifiedAt != nil {
		fmt.Fprintf(tw, "verified\t%s\n", u.EmailVerifiedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "password\tset=%t scheme=%s\n", v.Password.Set, v.Password.Scheme)
	totp := "none"
	if t := v.Factors.TOTP; t != nil {
		totp = "enrolled " + t.CreatedAt.Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "authenticator app\t%s\nrecovery codes\t%d left\n", totp, v.Factors.RecoveryCodes)
	fmt.Fprintf(tw, "lockout\twrong passwords=%d held=%t\n", v.Lockout.WrongPasswords, v.Lockout.Held)
	fmt.Fprintf(tw, "sessions\t%d\n", len(v.Sessions))
	for _, s := range v.Sessions {
		fmt.Fprintf(tw, "  %s\tAAL%d, last seen %s from %s\n", s.ID, s.AAL, s.LastSeenAt.Format(time.RFC3339), s.IP)
	}
	fmt.Fprintf(tw, "recent sign-ins\t%d\n", len(v.Recent))
	for _, a := range v.Recent {
		ok := "failed"
		if a.Success {
			ok = "ok"
		}
		fmt.Fprintf(tw, "  %s\t%s %s from %s\n", a.At.Format(time.RFC3339), a.Factor, ok, a.IP)
	}
	_ = tw.Flush()
	return 0
}

func usersAct(ctx context.Context, name, route string, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	reason := fs.String("reason", "", "why, for the audit trail (required)")
	ids, err := parseInterleaved(fs, args)
	if err != nil || len(ids) != 1 {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	if strings.TrimSpace(*reason) == "" {
		fmt.Fprintln(stderr, "-reason is required: say why, for the audit trail")
		return 2
	}
	c, err := newAdminClient(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var res struct {
		Action          string `json:"action"`
		UserID          string `json:"user_id"`
		Changed         bool   `json:"changed"`
		SessionsRevoked int    `json:"sessions_revoked"`
		FailuresCleared int64  `json:"failures_cleared"`
		FactorsRemoved  int    `json:"factors_removed"`
		MailSent        bool   `json:"mail_sent"`
	}
	err = c.do(ctx, http.MethodPost, "/v1/admin/users/"+url.PathEscape(ids[0])+"/"+route, map[string]string{"reason": *reason}, &res)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %s: changed=%t sessions_revoked=%d failures_cleared=%d factors_removed=%d mail_sent=%t\n",
		res.Action, res.UserID, res.Changed, res.SessionsRevoked, res.FailuresCleared, res.FactorsRemoved, res.MailSent)
	return 0
}
