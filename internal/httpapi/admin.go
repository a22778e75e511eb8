package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// AdminKey is one named admin API key; the name is what the audit trail
// records as who made a change.
type AdminKey struct {
	Name string
	Key  string
	// Scopes are what the key may do (admin_scopes.go: rules:read,
	// users:support, users:*, ...). None at all keeps what every admin key
	// could do before scopes existed: the rule rollout API (rules:*), and
	// nothing of the user administration.
	Scopes []string
}

// RuleStatus reads the rule source for the admin API; *rules.Source
// implements it.
type RuleStatus interface {
	Status() rules.Status
}

// RuleChanger changes the active and candidate rule sets; *rules.Source
// implements it. Every change is audited by the source itself, with actor
// as who.
type RuleChanger interface {
	Compile(name string, src []byte) (*rules.RuleSet, error)
	SetCandidate(src []byte, actor string) (*rules.RuleSet, error)
	ClearCandidate(actor string) (bool, error)
	Promote(src []byte, expected, actor string) (*rules.RuleSet, error)
	Rollback(expected, actor string) (*rules.RuleSet, error)
}

// RuleAdmin is what the admin API needs from the rule source.
type RuleAdmin interface {
	RuleStatus
	RuleChanger
}

var _ RuleAdmin = (*rules.Source)(nil)

// adminBodyName names a rule file sent in a request body in error
// positions ("body:12:5: ...").
const adminBodyName = "body"

// Request locals set by authenticateAdmin: the key's name and its index
// in adminKeys (for its scopes).
const (
	localAdmin      = "riskauth.admin"
	localAdminIndex = "riskauth.admin.index"
)

var adminNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// setupAdmin checks the admin keys and their scopes. Without keys the
// admin API is off and its routes answer 404; without a rule source the
// rule routes do.
func (s *Server) setupAdmin(cfg Config, deps Deps) error {
	s.rules, s.users = deps.Rules, deps.Users
	seen := map[string]bool{}
	for i, k := range cfg.AdminKeys {
		if !adminNameRe.MatchString(k.Name) || seen[k.Name] {
			return fmt.Errorf("httpapi: admin key #%d: name missing, invalid or used twice", i+1)
		}
		seen[k.Name] = true
		if k.Key == "" || strings.ContainsFunc(k.Key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("httpapi: admin key #%d (%s) is empty or contains spaces or control characters", i+1, k.Name)
		}
		scopes, err := parseScopes(k.Scopes)
		if err != nil {
			return fmt.Errorf("httpapi: admin key #%d (%s): %w", i+1, k.Name, err)
		}
		sum := sha256.Sum256([]byte(k.Key))
		for _, api := range s.keys {
			if subtle.ConstantTimeCompare(sum[:], api[:]) == 1 {
				return fmt.Errorf("httpapi: admin key #%d (%s) is also an ordinary API key; admin keys must be separate", i+1, k.Name)
			}
		}
		s.adminKeys = append(s.adminKeys, sum)
		s.adminNames = append(s.adminNames, k.Name)
		s.adminScopes = append(s.adminScopes, scopes)
	}
	return nil
}

// AdminEnabled reports whether the rule rollout admin API answers (admin
// keys and a rule source are configured).
func (s *Server) AdminEnabled() bool { return len(s.adminKeys) > 0 && s.rules != nil }

// authenticateAdmin checks the bearer key against the admin keys only:
// an ordinary API key is refused here, as an admin key is on /v1/risk/*.
// The comparison is constant-time over SHA-256 digests, like the
// ordinary keys', and also picks the key's name without branching on
// which one matched.
func (s *Server) authenticateAdmin(c *fiber.Ctx) error {
	if len(s.adminKeys) == 0 {
		return apiErr(CodeNotFound, "no such route")
	}
	sum := sha256.Sum256(bearer(c))
	idx, found := 0, 0
	for i := range s.adminKeys {
		eq := subtle.ConstantTimeCompare(sum[:], s.adminKeys[i][:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		found |= eq
	}
	if found != 1 {
		return errUnauthorized
	}
	c.Locals(localAdmin, s.adminNames[idx])
	c.Locals(localAdminIndex, idx)
	return c.Next()
}

func adminName(c *fiber.Ctx) string {
	n, _ := c.Locals(localAdmin).(string)
	return n
}

// ruleView is one rule as the admin API shows it.
type ruleView struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	When        string     `json:"when"`
	Mode        string     `json:"mode"`
	Score       float64    `json:"score"`
	Action      string     `json:"action,omitempty"`
	Alert       string     `json:"alert,omitempty"`
	Tags        []string   `json:"tags"`
	Hits        uint64     `json:"hits"`
	LastHit     *time.Time `json:"last_hit"`
}

// ruleSetView is a rule set as the admin API shows it.
type ruleSetView struct {
	Version     string           `json:"version"`
	Description string           `json:"description,omitempty"`
	Thresholds  rules.Thresholds `json:"thresholds"`
	Path        string           `json:"path,omitempty"`
	LoadedAt    *time.Time       `json:"loaded_at,omitempty"`
	Rules       []ruleView       `json:"rules"`
}

func viewRuleSet(rs *rules.RuleSet, path string, loadedAt time.Time) *ruleSetView {
	if rs == nil {
		return nil
	}
	v := &ruleSetView{Version: rs.Version, Description: rs.Description, Thresholds: rs.Thresholds, Path: path, Rules: make([]ruleView, len(rs.Rules))}
	if !loadedAt.IsZero() {
		v.LoadedAt = &loadedAt
	}
	for i, r := range rs.Rules {
		rv := ruleView{ID: r.ID, Description: r.Description, When: r.When, Mode: r.Mode.String(), Score: r.Score, Tags: r.Tags}
		if rv.Tags == nil {
			rv.Tags = []string{}
		}
		if r.HasAction {
			rv.Action = r.Action.String()
		}
		if r.Alert != risk.SeverityNone {
			rv.Alert = r.Alert.String()
		}
		n, last := r.Hits()
		rv.Hits = n
		if last != 0 {
			t := time.Unix(0, last).UTC()
			rv.LastHit = &t
		}
		v.Rules[i] = rv
	}
	return v
}

// rulesStatusBody is the body of GET /v1/admin/rules.
type rulesStatusBody struct {
	Active *ruleSetView `json:"active"`
	// Persistent is false when the active rules are the embedded default
	// file: promotes and rollbacks then live in memory only.
	Persistent bool         `json:"persistent"`
	Candidate  *ruleSetView `json:"candidate"`
	// CandidatePath is where the candidate is kept ("" : memory only).
	CandidatePath string         `json:"candidate_path,omitempty"`
	History       []historyEntry `json:"history"`
}

type historyEntry struct {
	Version    string    `json:"version"`
	ReplacedAt time.Time `json:"replaced_at"`
}

func (s *Server) adminRules(c *fiber.Ctx) error {
	st := s.rules.Status()
	body := rulesStatusBody{
		Active:        viewRuleSet(st.Active, st.Path, st.LoadedAt),
		Persistent:    st.Persistent,
		Candidate:     viewRuleSet(st.Candidate, st.CandidatePath, st.CandidateLoadedAt),
		CandidatePath: st.CandidatePath,
		History:       make([]historyEntry, len(st.History)),
	}
	for i, h := range st.History {
		body.History[i] = historyEntry{Version: h.Version, ReplacedAt: h.ReplacedAt}
	}
	// The ETag is the active version: what If-Match on promote wants.
	c.Set(fiber.HeaderETag, `"`+st.Active.Version+`"`)
	return writeJSON(c, http.StatusOK, body)
}

// ruleFileBody returns the rule file of a request: YAML (or plain text),
// identity-encoded, at most rules.MaxFileSize. Empty is allowed only when
// optional. The JSON nesting check of the other routes does not fit YAML
// (plain scalars such as conditions hold brackets): go.yaml.in/yaml/v3
// refuses nesting past 10,000 levels itself (rules/yaml_limits_test.go),
// and the server's body limit bounds the rest (docs/rollout.md).
func ruleFileBody(c *fiber.Ctx, optional bool) ([]byte, error) {
	if err := checkEncoding(c); err != nil {
		return nil, err
	}
	body := c.Request().Body()
	if len(body) == 0 {
		if optional {
			return nil, nil
		}
		return nil, invalid([]engine.FieldError{{Field: "body", Message: "required: the rule file (YAML)"}})
	}
	mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	switch {
	case err != nil:
		return nil, apiErr(CodeUnsupportedMediaType, "send the rule file as application/yaml")
	case mt == "application/yaml", mt == "application/x-yaml", mt == "text/yaml", mt == "text/x-yaml", mt == "text/plain":
	default:
		return nil, apiErr(CodeUnsupportedMediaType, "send the rule file as application/yaml")
	}
	if len(body) > rules.MaxFileSize {
		return nil, apiErr(CodeBodyTooLarge, fmt.Sprintf("a rule file is at most %d bytes", rules.MaxFileSize))
	}
	// A copy: fasthttp reuses the request buffer, and the rule set keeps
	// its source.
	return append([]byte(nil), body...), nil
}

// ruleError maps the rule source's errors to the stable shape; a
// rule-file error lists every problem with its position as a field.
func (s *Server) ruleError(err error) error {
	var es rules.Errors
	var cf *rules.CasesFailedError
	switch {
	case errors.As(err, &es):
		fs := make([]engine.FieldError, len(es))
		for i, e := range es {
			// The file is the request body, whatever name the source
			// compiled it under (its path on the server stays private).
			pos := adminBodyName
			if e.Line > 0 {
				pos += fmt.Sprintf(":%d", e.Line)
				if e.Col > 0 {
					pos += fmt.Sprintf(":%d", e.Col)
				}
			}
			fs[i] = engine.FieldError{Field: pos, Message: e.Msg}
		}
		return &Error{Code: CodeInvalidRuleFile, Message: "the rule file is invalid", Fields: fs}
	case errors.As(err, &cf):
		var fs []engine.FieldError
		for _, cr := range cf.Results {
			if !cr.Passed {
				field := "tests." + cr.Name
				if cr.Rule != "" {
					field = "rules." + cr.Rule + "." + field
				}
				fs = append(fs, engine.FieldError{Field: field, Message: strings.Join(cr.Diff, "; ")})
			}
		}
		return &Error{Code: CodeRuleCasesFailed, Message: "the rule file's own test cases fail", Fields: fs}
	case errors.Is(err, rules.ErrVersionMismatch):
		return apiErr(CodeVersionConflict, "the active rule set changed meanwhile: fetch GET /v1/admin/rules and retry with its version")
	case errors.Is(err, rules.ErrNoCandidate):
		return apiErr(CodeNoCandidate, "no candidate rule set is loaded and the request has no rule file")
	case errors.Is(err, rules.ErrNoHistory):
		return apiErr(CodeNoHistory, "no previous rule set version is kept")
	case errors.Is(err, rules.ErrNotPersisted):
		// The operator needs the path and the OS error; the caller only
		// needs to know that nothing changed and where to look.
		s.log.Error("rule file not written", "err", err)
		return apiErr(CodeRulesNotPersisted, "the rule file could not be written on the server (read-only mount or full disk?); nothing changed, the server log has the reason")
	}
	return fmt.Errorf("rule source: %w", err) // internal: logged, never sent
}

// caseResult is one inline test case's outcome.
type caseResult struct {
	Name   string   `json:"name"`
	Rule   string   `json:"rule,omitempty"`
	Passed bool     `json:"passed"`
	Diff   []string `json:"diff,omitempty"`
}

// validateBody is the 200 body of POST /v1/admin/rules/validate.
type validateBody struct {
	Valid bool `json:"valid"`
	// Version is the version the file gets once active (content and
	// lists hash).
	Version string `json:"version"`
	Rules   int    `json:"rules"`
	// CasesPassed is false when an inline test case failed; such a file
	// is refused by candidate and promote.
	CasesPassed bool         `json:"cases_passed"`
	Cases       []caseResult `json:"cases"`
	// Changed reports whether the version differs from the active one.
	Changed bool `json:"changed"`
}

func runCases(rs *rules.RuleSet) ([]caseResult, bool) {
	res := rs.RunCases()
	out := make([]caseResult, len(res))
	ok := true
	for i, r := range res {
		out[i] = caseResult{Name: r.Name, Rule: r.Rule, Passed: r.Passed, Diff: r.Diff}
		ok = ok && r.Passed
	}
	return out, ok
}

func (s *Server) adminValidate(c *fiber.Ctx) error {
	src, err := ruleFileBody(c, false)
	if err != nil {
		return err
	}
	rs, err := s.rules.Compile(adminBodyName, src)
	if err != nil {
		return s.ruleError(err)
	}
	cases, ok := runCases(rs)
	return writeJSON(c, http.StatusOK, validateBody{Valid: true, Version: rs.Version, Rules: len(rs.Rules),
		CasesPassed: ok, Cases: cases, Changed: rs.Version != s.rules.Status().Active.Version})
}

// candidateBody is the body of PUT and DELETE /v1/admin/rules/candidate.
type candidateBody struct {
	Candidate *ruleSetView `json:"candidate"`
	// Cleared (DELETE) reports whether there was a candidate to remove.
	Cleared bool `json:"cleared,omitempty"`
}

func (s *Server) adminSetCandidate(c *fiber.Ctx) error {
	src, err := ruleFileBody(c, false)
	if err != nil {
		return err
	}
	rs, err := s.rules.SetCandidate(src, adminName(c))
	if err != nil {
		return s.ruleError(err)
	}
	st := s.rules.Status()
	return writeJSON(c, http.StatusOK, candidateBody{Candidate: viewRuleSet(rs, st.CandidatePath, st.CandidateLoadedAt)})
}

func (s *Server) adminClearCandidate(c *fiber.Ctx) error {
	cleared, err := s.rules.ClearCandidate(adminName(c))
	if err != nil {
		return s.ruleError(err)
	}
	return writeJSON(c, http.StatusOK, candidateBody{Cleared: cleared})
}

// changeBody is the 200 body of promote and rollback.
type changeBody struct {
	Active          *ruleSetView `json:"active"`
	PreviousVersion string       `json:"previous_version"`
	// Persistent is false when the change lives in memory only (the
	// embedded default rule file has no path to write to).
	Persistent bool `json:"persistent"`
}

// expectedVersion reads If-Match ("v", W/"v" or v) or ?expected_version.
func expectedVersion(c *fiber.Ctx) string {
	v := strings.TrimSpace(c.Get(fiber.HeaderIfMatch))
	if v == "" {
		v = strings.TrimSpace(c.Query("expected_version"))
	}
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`)
}

func (s *Server) adminPromote(c *fiber.Ctx) error {
	expected := expectedVersion(c)
	if expected == "" {
		return apiErr(CodePreconditionRequired, "say which version you are replacing: If-Match: \"<active version>\" (or ?expected_version=)")
	}
	// No body: the candidate is promoted, by the source itself so that
	// taking it and removing it are one step.
	src, err := ruleFileBody(c, true)
	if err != nil {
		return err
	}
	rs, err := s.rules.Promote(src, expected, adminName(c))
	if err != nil {
		return s.ruleError(err)
	}
	st := s.rules.Status()
	return writeJSON(c, http.StatusOK, changeBody{Active: viewRuleSet(rs, st.Path, st.LoadedAt), PreviousVersion: expected, Persistent: st.Persistent})
}

func (s *Server) adminRollback(c *fiber.Ctx) error {
	before := s.rules.Status().Active.Version
	expected := expectedVersion(c)
	rs, err := s.rules.Rollback(expected, adminName(c))
	if err != nil {
		return s.ruleError(err)
	}
	prev := expected
	if prev == "" {
		prev = before
	}
	st := s.rules.Status()
	return writeJSON(c, http.StatusOK, changeBody{Active: viewRuleSet(rs, st.Path, st.LoadedAt), PreviousVersion: prev, Persistent: st.Persistent})
}
