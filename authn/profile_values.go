package authn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones are checked against the IANA database whatever the host has
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/riskauth/riskauth/engine"
)

// The standard profile fields, by their wire names.
const (
	FieldDisplayName = "display_name"
	FieldGivenName   = "given_name"
	FieldFamilyName  = "family_name"
	FieldLocale      = "locale"
	FieldTimeZone    = "time_zone"
)

// ProfileFields are the standard fields a profile patch may set.
var ProfileFields = []string{FieldDisplayName, FieldGivenName, FieldFamilyName, FieldLocale, FieldTimeZone}

// MaxNameLength bounds the name fields, in code points.
const MaxNameLength = 128

// ProfilePatch is a change to a profile: JSON merge patch semantics
// (RFC 7396) over the standard fields and the attributes.
type ProfilePatch struct {
	// Fields are the standard fields to change, by wire name (ProfileFields);
	// "" clears one.
	Fields map[string]string
	// Attributes are the custom attributes to change, each a JSON value
	// (already well-formed); JSON null removes one.
	Attributes map[string]json.RawMessage
}

// applyAs checks every change of p against the declarations and applies
// the valid ones to pr; it returns every problem at once (field names as
// on the wire: "locale", "attributes.tier") and the names changed. The
// owner (admin false) may change only user-editable attributes; an
// administrator also those the owner may not (a support tier, a CRM id).
func (c *AccountConfig) applyAs(pr *Profile, p ProfilePatch, admin bool) (changed []string, problems []engine.FieldError) {
	bad := func(field, msg string) { problems = append(problems, engine.FieldError{Field: field, Message: msg}) }
	for _, k := range sortedKeys(p.Fields) {
		v := p.Fields[k]
		var dst *string
		switch k {
		case FieldDisplayName:
			dst = &pr.DisplayName
		case FieldGivenName:
			dst = &pr.GivenName
		case FieldFamilyName:
			dst = &pr.FamilyName
		case FieldLocale:
			dst = &pr.Locale
		case FieldTimeZone:
			dst = &pr.TimeZone
		default:
			bad(k, "unknown field")
			continue
		}
		nv, msg := checkField(k, v)
		if msg != "" {
			bad(k, msg)
			continue
		}
		if *dst != nv {
			*dst = nv
			changed = append(changed, k)
		}
	}
	if pr.Attributes == nil {
		pr.Attributes = map[string]any{}
	}
	for _, k := range sortedKeys(p.Attributes) {
		field := "attributes." + k
		spec := c.attribute(k)
		switch {
		case spec == nil:
			bad(field, "unknown attribute")
			continue
		case !spec.UserEditable && !admin:
			bad(field, "not editable by the user")
			continue
		}
		raw := bytes.TrimSpace(p.Attributes[k])
		if string(raw) == "null" {
			if _, ok := pr.Attributes[k]; ok {
				delete(pr.Attributes, k)
				changed = append(changed, field)
			}
			continue
		}
		v, msg := spec.parse(raw)
		if msg != "" {
			bad(field, msg)
			continue
		}
		if old, ok := pr.Attributes[k]; !ok || old != v {
			pr.Attributes[k] = v
			changed = append(changed, field)
		}
	}
	return changed, problems
}

// checkField validates and normalises one standard field ("" clears it).
func checkField(name, v string) (string, string) {
	if v == "" {
		return "", ""
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return "", "must be text without control characters"
	}
	switch name {
	case FieldLocale:
		if len(v) > 35 {
			return "", "not a BCP 47 language tag"
		}
		tag, err := language.Parse(v)
		if err != nil {
			return "", "not a BCP 47 language tag"
		}
		return tag.String(), ""
	case FieldTimeZone:
		if len(v) > 64 || v == "Local" || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != "" {
			return "", "not an IANA time zone name"
		}
		if _, err := time.LoadLocation(v); err != nil {
			return "", "not an IANA time zone name"
		}
		return v, ""
	}
	if n := utf8.RuneCountInString(v); n > MaxNameLength {
		return "", fmt.Sprintf("longer than %d characters", MaxNameLength)
	}
	return v, ""
}

// parse reads a JSON value of the attribute's type within its limits; the
// message says what is wrong.
func (a *AttributeSpec) parse(raw []byte) (any, string) {
	switch a.Type {
	case AttrString:
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, "want a string"
		}
		if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
			return nil, "must be text without control characters"
		}
		if n := utf8.RuneCountInString(s); n > a.MaxLength {
			return nil, fmt.Sprintf("longer than %d characters", a.MaxLength)
		}
		if len(a.Values) > 0 && !slices.Contains(a.Values, s) {
			return nil, "not one of the allowed values: " + strings.Join(a.Values, ", ")
		}
		return s, ""
	case AttrBoolean:
		switch string(raw) {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, "want true or false"
	case AttrInteger, AttrNumber:
		if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
			return nil, "want a number"
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, "want a finite number"
		}
		if a.Min != nil && f < *a.Min || a.Max != nil && f > *a.Max {
			return nil, a.rangeText()
		}
		if a.Type == AttrNumber {
			return f, ""
		}
		if f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
			return nil, "want a whole number within ±2^53"
		}
		return int64(f), ""
	}
	return nil, "undeclared type"
}

// parseText reads a value of the attribute's type from text (a search's
// query string): a string as it is, else its JSON form ("42", "true").
func (a *AttributeSpec) parseText(text string) (any, string) {
	if a.Type == AttrString {
		raw, _ := json.Marshal(text)
		return a.parse(raw)
	}
	return a.parse([]byte(strings.TrimSpace(text)))
}

func (a *AttributeSpec) rangeText() string {
	switch {
	case a.Min != nil && a.Max != nil:
		return fmt.Sprintf("must be between %v and %v", *a.Min, *a.Max)
	case a.Min != nil:
		return fmt.Sprintf("must be at least %v", *a.Min)
	}
	return fmt.Sprintf("must be at most %v", *a.Max)
}

// normalise turns a value read back from JSON storage into its declared
// Go type (JSON numbers decode as float64); undeclared attributes (the
// operator removed a declaration) are kept as they were stored.
func (c *AccountConfig) normalise(attrs map[string]any) {
	for k, v := range attrs {
		if a := c.attribute(k); a != nil && a.Type == AttrInteger {
			if f, ok := v.(float64); ok {
				attrs[k] = int64(f)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
