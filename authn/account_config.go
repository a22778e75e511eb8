package authn

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// AttributeType is the JSON type of a custom profile attribute.
type AttributeType string

// The attribute types. Integers are whole JSON numbers within ±2^53 (what
// every JSON client reads exactly); numbers are any finite JSON number.
const (
	AttrString  AttributeType = "string"
	AttrInteger AttributeType = "integer"
	AttrNumber  AttributeType = "number"
	AttrBoolean AttributeType = "boolean"
)

// Limits of the attribute declarations.
const (
	// MaxAttributes is how many custom attributes an operator may declare.
	MaxAttributes = 64
	// DefaultAttributeMaxLength is a string attribute's limit, in code
	// points, when the declaration sets none; MaxAttributeLength is the
	// largest a declaration may set.
	DefaultAttributeMaxLength = 256
	MaxAttributeLength        = 4096
	// maxSafeInteger is 2^53, the largest integer a float64 holds exactly.
	maxSafeInteger = 1 << 53
)

// AttributeSpec declares one custom profile attribute (authn.account.
// attributes in riskauthd's configuration). A value is checked against
// it on every write; an attribute nobody declared is refused.
type AttributeSpec struct {
	// Name is [a-z][a-z0-9_]{0,63}, unique.
	Name string `yaml:"name"`
	// Type is string, integer, number or boolean.
	Type AttributeType `yaml:"type"`
	// MaxLength bounds a string, in code points (default 256, at most
	// 4096).
	MaxLength int `yaml:"max_length"`
	// Values, when set, are the only strings accepted (an enumeration).
	Values []string `yaml:"values"`
	// Min and Max, when set, bound an integer or a number (inclusive).
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// UserEditable lets the user change the value through the account
	// API; otherwise only the operator's systems set it (the user still
	// reads it: it is their data). Default false.
	UserEditable bool `yaml:"user_editable"`
	// InTokens puts the value in the access tokens of POST /v1/token, as
	// a claim of the attribute's name under "attributes".
	InTokens bool `yaml:"in_tokens"`
	// PersonalData marks the value as personal data (docs/privacy.md):
	// the export lists it as such, and it is erased with the account
	// like every attribute.
	PersonalData bool `yaml:"personal_data"`
}

// AccountConfig configures the self-service account surface
// (authn.account in riskauthd's configuration).
type AccountConfig struct {
	// Attributes are the custom profile attributes.
	Attributes []AttributeSpec `yaml:"attributes"`
	// ActivityRetention is how long a sign-in or security event stays in
	// a user's activity history. Default 180 days.
	ActivityRetention time.Duration `yaml:"activity_retention"`
	// ActivityMaxPerUser caps each user's activity history; the oldest
	// entries go first. Default 1000.
	ActivityMaxPerUser int `yaml:"activity_max_per_user"`
	// DeletionGrace is how long after an erasure request (DELETE
	// /v1/account) the account is erased; signing in before cancels it.
	// Default 7 days.
	DeletionGrace time.Duration `yaml:"deletion_grace"`
	// ExportInterval allows one data export per user per interval
	// (default and at most 24 hours: the event counter keeps a day).
	ExportInterval time.Duration `yaml:"export_interval"`
	// ExportLinkTTL is how long the mailed export link works (default 1
	// hour).
	ExportLinkTTL time.Duration `yaml:"export_link_ttl"`
	// UnverifiedRetention is how long an account whose address was never
	// verified is kept before the retention job deletes it (default 30
	// days).
	UnverifiedRetention time.Duration `yaml:"unverified_retention"`
	// Purposes are what a user consents to, with their versions
	// (consent.go); Preferences what communication preferences they may
	// choose.
	Purposes    []PurposeSpec  `yaml:"purposes"`
	Preferences PreferenceSpec `yaml:"preferences"`
	// EmailChangeUndo is how long the link mailed to the old address
	// after an email change can undo it. Default 72 hours.
	EmailChangeUndo time.Duration `yaml:"email_change_undo"`
}

// Defaults of AccountConfig.
const (
	DefaultActivityRetention   = 180 * 24 * time.Hour
	DefaultActivityMaxPerUser  = 1000
	DefaultDeletionGrace       = 7 * 24 * time.Hour
	DefaultExportInterval      = 24 * time.Hour
	DefaultExportLinkTTL       = time.Hour
	DefaultUnverifiedRetention = 30 * 24 * time.Hour
	DefaultEmailChangeUndo     = 72 * time.Hour
)

var attributeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// SetDefaults fills the zero fields.
func (c *AccountConfig) SetDefaults() {
	def(&c.ActivityRetention, DefaultActivityRetention)
	def(&c.ActivityMaxPerUser, DefaultActivityMaxPerUser)
	def(&c.DeletionGrace, DefaultDeletionGrace)
	def(&c.ExportInterval, DefaultExportInterval)
	def(&c.ExportLinkTTL, DefaultExportLinkTTL)
	def(&c.UnverifiedRetention, DefaultUnverifiedRetention)
	def(&c.EmailChangeUndo, DefaultEmailChangeUndo)
	for i := range c.Attributes {
		if a := &c.Attributes[i]; a.Type == AttrString {
			def(&a.MaxLength, DefaultAttributeMaxLength)
		}
	}
}

// Validate reports every problem of the declarations at once, each naming
// the attribute (riskauthd prefixes the key).
func (c *AccountConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ActivityRetention < 0 {
		bad("activity_retention %s: must be positive", c.ActivityRetention)
	}
	if c.DeletionGrace < 0 || c.ExportLinkTTL < 0 || c.UnverifiedRetention < 0 {
		bad("deletion_grace, export_link_ttl, unverified_retention: must be positive")
	}
	if c.ExportInterval < 0 || c.ExportInterval > 24*time.Hour {
		bad("export_interval %s: want at most 24h", c.ExportInterval)
	}
	if c.ActivityMaxPerUser < 0 {
		bad("activity_max_per_user %d: must be positive", c.ActivityMaxPerUser)
	}
	if c.EmailChangeUndo < 0 {
		bad("email_change_undo %s: must be positive", c.EmailChangeUndo)
	}
	errs = append(errs, c.validateConsents()...)
	if len(c.Attributes) > MaxAttributes {
		bad("attributes: %d declared, at most %d", len(c.Attributes), MaxAttributes)
	}
	seen := map[string]bool{}
	for i, a := range c.Attributes {
		at := fmt.Sprintf("attributes[%d]", i)
		if !attributeName.MatchString(a.Name) {
			bad("%s: name %q: want [a-z][a-z0-9_]{0,63}", at, a.Name)
		} else {
			at = fmt.Sprintf("attributes.%s", a.Name)
		}
		if seen[a.Name] {
			bad("%s: declared twice", at)
		}
		seen[a.Name] = true
		switch a.Type {
		case AttrString:
			if a.MaxLength < 0 || a.MaxLength > MaxAttributeLength {
				bad("%s: max_length %d: want 1-%d", at, a.MaxLength, MaxAttributeLength)
			}
			if a.Min != nil || a.Max != nil {
				bad("%s: min and max apply to integer and number attributes", at)
			}
			for _, v := range a.Values {
				if a.MaxLength > 0 && len([]rune(v)) > a.MaxLength {
					bad("%s: value %q longer than max_length", at, v)
				}
			}
		case AttrInteger, AttrNumber, AttrBoolean:
			if a.MaxLength != 0 || len(a.Values) > 0 {
				bad("%s: max_length and values apply to string attributes", at)
			}
			if a.Type == AttrBoolean && (a.Min != nil || a.Max != nil) {
				bad("%s: min and max apply to integer and number attributes", at)
			}
			for _, p := range []*float64{a.Min, a.Max} {
				if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
					bad("%s: min and max must be finite", at)
				}
			}
			if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
				bad("%s: min %v above max %v", at, *a.Min, *a.Max)
			}
		default:
			bad("%s: type %q: want string, integer, number or boolean", at, a.Type)
		}
	}
	return errors.Join(errs...)
}

// attribute returns the declaration of name, nil when undeclared.
func (c *AccountConfig) attribute(name string) *AttributeSpec {
	i := slices.IndexFunc(c.Attributes, func(a AttributeSpec) bool { return a.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Attributes[i]
}
