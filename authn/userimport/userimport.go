package userimport

import (
	"bytes"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riskauth/riskauth/authn/foreignhash"
)

// MaxLineLen bounds one line: a user with the longest hash fields, a TOTP
// secret, a full profile and MaxSignIns past sign-ins with long user
// agents fits.
const MaxLineLen = 64 << 10

// MaxSignIns is the most past sign-ins one user may bring (the engine's
// MaxPastSignIns): the profile keeps the last 16 devices and countries,
// and the familiarity history decays, so older ones add nothing.
const MaxSignIns = 100

// Line is one line of the file as written (docs/migration.md). Exactly
// one of PasswordHash, Keycloak, Firebase and SaltedSHA may be set; none
// imports a passwordless user (they sign in by email code or reset).
type Line struct {
	ExternalID    string     `json:"external_id"`
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	CreatedAt     *time.Time `json:"created_at"`
	Disabled      bool       `json:"disabled"`
	// PasswordHash is any format foreignhash reads, or riskauth's own
	// argon2id PHC string.
	PasswordHash string `json:"password_hash"`
	// Keycloak is a password credential as Keycloak exports it.
	Keycloak *struct {
		Algorithm  string `json:"algorithm"`
		Iterations int    `json:"iterations"`
		Salt       string `json:"salt"`
		Value      string `json:"value"`
	} `json:"keycloak"`
	// Firebase is an exported user's salt and hash; the project's
	// parameters come with the import (Options.Firebase).
	Firebase *struct {
		Salt string `json:"salt"`
		Hash string `json:"hash"`
	} `json:"firebase"`
	// SaltedSHA is a home-grown sha256/sha512 of salt and password, hex.
	SaltedSHA *struct {
		Algorithm string `json:"algorithm"`
		Salt      string `json:"salt"`
		Hash      string `json:"hash"`
		SaltFirst bool   `json:"salt_first"`
	} `json:"salted_sha"`
	// TOTPSecret is the authenticator app's shared secret, base32 (as in
	// an otpauth:// URI); it is sealed on import.
	TOTPSecret string `json:"totp_secret"`
	// Profile holds the standard profile fields by their wire names
	// (display_name, given_name, family_name, locale, time_zone);
	// Attributes the custom attributes, each a JSON value of its declared
	// type. authn checks both against the declarations.
	Profile    map[string]string          `json:"profile"`
	Attributes map[string]json.RawMessage `json:"attributes"`
	// SignIns are successful sign-ins in the system migrated from, for
	// the risk engine to learn (at most MaxSignIns).
	SignIns []LineSignIn `json:"sign_ins"`
}

// LineSignIn is one past sign-in as written.
type LineSignIn struct {
	At        *time.Time `json:"at"`
	IP        string     `json:"ip"`
	UserAgent string     `json:"user_agent"`
	// DeviceID is the device cookie's value the app will keep sending
	// (riskauth's device descriptor cookie_id), if it has one.
	DeviceID string `json:"device_id"`
}

// SignIn is a checked past sign-in.
type SignIn struct {
	At        time.Time
	IP        netip.Addr
	UserAgent string
	DeviceID  string
}

// Options are what a whole import shares.
type Options struct {
	// Firebase are the project's hash parameters, needed by lines with
	// "firebase".
	Firebase *foreignhash.FirebaseParams
}

// Record is a checked line, ready to import.
type Record struct {
	ExternalID string
	// Email is as given (trimmed); authn normalises it.
	Email     string
	Verified  bool
	CreatedAt time.Time // zero: the import's time
	Disabled  bool
	// PasswordHash is the stored form ("" for none), Scheme its kind
	// ("argon2id" for riskauth's own, "" for none) and Weak marks salted
	// SHA-2 (reset recommended).
	PasswordHash string
	Scheme       string
	Weak         bool
	TOTPSecret   string // upper-case base32 without padding, "" for none
	// ProfileFields and Attributes are as written (checked by authn).
	ProfileFields map[string]string
	Attributes    map[string]json.RawMessage
	SignIns       []SignIn
}

// ParseLine checks one line; the error says what is wrong, in words fit
// for a report (never quoting a hash or secret).
func ParseLine(b []byte, o Options) (Record, error) {
	if len(b) > MaxLineLen {
		return Record{}, fmt.Errorf("line longer than %d bytes", MaxLineLen)
	}
	if !utf8.Valid(b) {
		return Record{}, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Line
	if err := dec.Decode(&l); err != nil {
		return Record{}, fmt.Errorf("not a JSON object of the import format (%s)", jsonReason(err))
	}
	if dec.More() {
		return Record{}, errors.New("more than one JSON value on the line")
	}
	r := Record{ExternalID: strings.TrimSpace(l.ExternalID), Email: strings.TrimSpace(l.Email), Verified: l.EmailVerified, Disabled: l.Disabled}
	switch {
	case r.ExternalID == "":
		return Record{}, errors.New("external_id is required (the id in the system migrated from)")
	case len(r.ExternalID) > 255:
		return Record{}, errors.New("external_id longer than 255 bytes")
	case r.Email == "":
		return Record{}, errors.New("email is required")
	}
	if l.CreatedAt != nil {
		r.CreatedAt = l.CreatedAt.UTC()
		if r.CreatedAt.Year() < 1990 || r.CreatedAt.Year() > 9999 {
			return Record{}, errors.New("created_at out of range")
		}
	}
	if err := password(&r, &l, o); err != nil {
		return Record{}, err
	}
	if l.TOTPSecret != "" {
		s := strings.ToUpper(strings.TrimRight(strings.ReplaceAll(l.TOTPSecret, " ", ""), "="))
		k, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
		if err != nil || len(k) < 10 || len(k) > 64 {
			return Record{}, errors.New("totp_secret is not base32 of 10 to 64 bytes")
		}
		r.TOTPSecret = s
	}
	r.ProfileFields, r.Attributes = l.Profile, l.Attributes
	ins, err := signIns(l.SignIns)
	if err != nil {
		return Record{}, err
	}
	r.SignIns = ins
	return r, nil
}

// signIns checks the past sign-ins: each has a time from 1990 on and a
// valid address; text fields are bounded and printable.
func signIns(in []LineSignIn) ([]SignIn, error) {
	if len(in) > MaxSignIns {
		return nil, fmt.Errorf("sign_ins: %d, at most %d", len(in), MaxSignIns)
	}
	out := make([]SignIn, 0, len(in))
	for i, l := range in {
		bad := func(what string) error { return fmt.Errorf("sign_ins[%d]: %s", i, what) }
		if l.At == nil || l.At.Year() < 1990 || l.At.Year() > 9999 {
			return nil, bad("at is required, from 1990 on")
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(l.IP))
		if err != nil {
			return nil, bad("ip is not an IP address")
		}
		if len(l.UserAgent) > 1024 || len(l.DeviceID) > 256 || strings.ContainsFunc(l.UserAgent+l.DeviceID, unicode.IsControl) {
			return nil, bad("user_agent (1024 bytes) or device_id (256 bytes) too long or with control characters")
		}
		out = append(out, SignIn{At: l.At.UTC(), IP: ip.Unmap(), UserAgent: l.UserAgent, DeviceID: l.DeviceID})
	}
	return out, nil
}

// password sets the record's stored hash from whichever field the line
// has.
func password(r *Record, l *Line, o Options) error {
	n := 0
	for _, set := range []bool{l.PasswordHash != "", l.Keycloak != nil, l.Firebase != nil, l.SaltedSHA != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("more than one of password_hash, keycloak, firebase, salted_sha")
	}
	var err error
	switch {
	case l.PasswordHash != "":
		r.PasswordHash = l.PasswordHash
	case l.Keycloak != nil:
		r.PasswordHash, err = foreignhash.Keycloak(l.Keycloak.Algorithm, l.Keycloak.Iterations, l.Keycloak.Salt, l.Keycloak.Value)
	case l.Firebase != nil:
		if o.Firebase == nil {
			return errors.New("firebase hash without the project's parameters (riskctl users import -firebase-params)")
		}
		r.PasswordHash, err = foreignhash.Firebase(*o.Firebase, l.Firebase.Salt, l.Firebase.Hash)
	case l.SaltedSHA != nil:
		var salt, sum []byte
		salt, err = hex.DecodeString(l.SaltedSHA.Salt)
		if err == nil {
			sum, err = hex.DecodeString(l.SaltedSHA.Hash)
		}
		if err != nil {
			return errors.New("salted_sha: salt and hash are hex")
		}
		r.PasswordHash, err = foreignhash.SaltedSHA2(l.SaltedSHA.Algorithm, salt, sum, l.SaltedSHA.SaltFirst)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(r.PasswordHash, "$argon2id$") {
		if _, ferr := foreignhash.Parse(r.PasswordHash); ferr == nil {
			r.Scheme = "argon2id"
			return nil
		}
	}
	h, err := foreignhash.Parse(r.PasswordHash)
	if err != nil {
		return err
	}
	r.Scheme, r.Weak = string(h.Scheme()), h.Weak()
	return nil
}

// jsonReason is a decode error without the input it quotes.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return "the line is not an object"
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type", te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed"
}

// Report counts an import (or a dry run) by outcome and hash scheme.
type Report struct {
	Lines    int            `json:"lines"`
	Created  int            `json:"created"`
	Existing int            `json:"existing"`
	Invalid  int            `json:"invalid"`
	Conflict int            `json:"conflict"`
	Schemes  map[string]int `json:"schemes"`
	// Weak counts users with a salted SHA-2 hash: ask them to reset.
	Weak int `json:"weak"`
	// SignInsLearned counts the past sign-ins the engine learned; Warnings
	// are the created users whose sign-ins it did not, with why.
	SignInsLearned int         `json:"sign_ins_learned"`
	Warnings       []LineError `json:"warnings,omitempty"`
	// Errors are the refused lines, with their number and reason.
	Errors []LineError `json:"errors,omitempty"`
}

// LineError is one refused line.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}
