package wire

import (
	"fmt"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/authn"
)

// The consent and preference bodies (issue 19). A list of consents is
// {"consents": [{"purpose": "terms", "version": 3}, ...]}: the purposes a
// user accepted, at the version the client showed them. It is the body of
// POST /v1/account/consents and POST /v1/login/consent, and an optional
// member of POST /v1/register. The preferences patch of PATCH
// /v1/account/preferences is a JSON merge patch of channels, topics (lists
// of names) and language (a tag; null clears). authn checks every value
// against the configuration; here the body is only read and bounded.

// Bounds of the consent and preference bodies, before authn's checks.
const (
	// maxConsentChoices bounds the consents of one request (authn
	// declares at most 32 purposes).
	maxConsentChoices = authn.MaxPurposes
	// maxPreferenceItems bounds one list of a preferences patch.
	maxPreferenceItems = 64
	maxNameBytes       = 64
	maxLanguageBytes   = 35
)

// DecodeConsents reads the "consents" member of body, the only member
// when strict (any other is refused as unknown), one among others of a
// registration or sign-in body otherwise (the others are read by
// DecodeAuthn). required: an absent or null member is an error; otherwise
// it reads as no consents.
func (d *Decoder) DecodeConsents(body []byte, strict, required bool) ([]authn.ConsentChoice, error) {
	if len(body) == 0 {
		body = []byte("{}")
	}
	var out []authn.ConsentChoice
	seen := false
	fs, perr := parseObject(&d.parsers, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			fs.add("(body)", "want an object")
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			if string(k) != "consents" {
				if strict {
					fs.add(safeText(string(k), 64), "unknown field")
				}
				return
			}
			seen = v.Type() != fastjson.TypeNull
			out = readConsents(v, fs)
		})
	})
	if perr != nil {
		return nil, perr
	}
	if required && !seen && len(fs) == 0 {
		fs.add("consents", "required: the purposes accepted, each with the version shown")
	}
	if len(fs) > 0 {
		return nil, invalid(fs)
	}
	return out, nil
}

func readConsents(v *fastjson.Value, fs *fieldErrors) []authn.ConsentChoice {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeArray:
	default:
		fs.add("consents", "want an array of {purpose, version}")
		return nil
	}
	items, _ := v.Array()
	if len(items) > maxConsentChoices {
		fs.add("consents", fmt.Sprintf("more than %d consents", maxConsentChoices))
		return nil
	}
	out := make([]authn.ConsentChoice, 0, len(items))
	for i, it := range items {
		at := "consents[" + strconv.Itoa(i) + "]"
		o := fs.object(at, "want an object {purpose, version}", it)
		if o == nil {
			if it.Type() == fastjson.TypeNull {
				fs.add(at, "want an object {purpose, version}")
			}
			continue
		}
		var c authn.ConsentChoice
		o.Visit(func(k []byte, v *fastjson.Value) {
			switch string(k) {
			case "purpose":
				c.Purpose = fs.str(at+".purpose", v)
				fs.checkString(at+".purpose", c.Purpose, maxNameBytes)
			case "version":
				c.Version = fs.integer(at+".version", v)
			default:
				fs.add(at+"."+safeText(string(k), 64), "unknown field")
			}
		})
		if c.Purpose == "" {
			fs.add(at+".purpose", "required")
		}
		if c.Version <= 0 {
			fs.add(at+".version", "required: the positive version shown")
		}
		out = append(out, c)
	}
	return out
}

// DecodePreferencesPatch decodes the body of PATCH
// /v1/account/preferences. An unknown member is refused, as in a profile
// patch.
func (d *Decoder) DecodePreferencesPatch(body []byte) (authn.PreferencesPatch, error) {
	var p authn.PreferencesPatch
	fs, perr := parseObject(&d.parsers, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			fs.add("(body)", "want an object")
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			switch key := string(k); key {
			case "channels":
				p.Channels = readNames(key, v, fs)
			case "topics":
				p.Topics = readNames(key, v, fs)
			case "language":
				l := fs.str(key, v)
				fs.checkString(key, l, maxLanguageBytes)
				p.Language = &l
			default:
				fs.add(safeText(key, 64), "unknown field")
			}
		})
	})
	if perr != nil {
		return authn.PreferencesPatch{}, perr
	}
	if len(fs) > 0 {
		return authn.PreferencesPatch{}, invalid(fs)
	}
	return p, nil
}

// readNames reads a list of short strings; null reads as the empty list.
func readNames(field string, v *fastjson.Value, fs *fieldErrors) *[]string {
	out := []string{}
	switch v.Type() {
	case fastjson.TypeNull:
		return &out
	case fastjson.TypeArray:
	default:
		fs.add(field, "want an array of strings")
		return nil
	}
	items, _ := v.Array()
	if len(items) > maxPreferenceItems {
		fs.add(field, fmt.Sprintf("more than %d values", maxPreferenceItems))
		return nil
	}
	for i, it := range items {
		at := field + "[" + strconv.Itoa(i) + "]"
		if it.Type() != fastjson.TypeString {
			fs.add(at, "want a string")
			continue
		}
		s := fs.str(at, it)
		fs.checkString(at, s, maxNameBytes)
		out = append(out, s)
	}
	return &out
}

// DecodeNewEmail decodes the body of POST /v1/account/email:
// {"new_email": "..."}; any other member is refused.
func (d *Decoder) DecodeNewEmail(body []byte) (string, error) {
	var email string
	seen := false
	fs, perr := parseObject(&d.parsers, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			fs.add("(body)", "want an object")
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			if string(k) != "new_email" {
				fs.add(safeText(string(k), 64), "unknown field")
				return
			}
			email = fs.str("new_email", v)
			seen = email != ""
			fs.checkString("new_email", email, maxEmailBytes)
		})
	})
	if perr != nil {
		return "", perr
	}
	if !seen && len(fs) == 0 {
		fs.add("new_email", "required")
	}
	if len(fs) > 0 {
		return "", invalid(fs)
	}
	return email, nil
}
