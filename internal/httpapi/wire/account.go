package wire

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/authn"
)

// The profile patch of PATCH /v1/account is a JSON merge patch (RFC
// 7396): the standard fields as strings (null clears one) and
// "attributes", an object whose members are the custom attributes' new
// values (null removes one). Unlike the other bodies, an unknown member
// is refused rather than ignored: a client that misspells a field must
// not believe it saved it. Each value is checked against its declaration
// by authn; here the body is only read and bounded.

// maxProfileFieldBytes bounds a standard field before authn's finer
// checks (128 code points for names take at most 512 bytes).
const maxProfileFieldBytes = 1024

// maxAttributeBytes bounds one attribute value as JSON text (authn's
// longest string attribute is 4096 code points).
const maxAttributeBytes = 4 * authn.MaxAttributeLength

// DecodeProfilePatch decodes the body of PATCH /v1/account. Every problem
// is reported at once in one 422 *Error; an unknown member is named.
func (d *Decoder) DecodeProfilePatch(body []byte) (authn.ProfilePatch, error) {
	p := authn.ProfilePatch{Fields: map[string]string{}, Attributes: map[string]json.RawMessage{}}
	fs, perr := parseObject(&d.parsers, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			fs.add("(body)", "want an object")
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			key := string(k)
			switch {
			case key == "attributes":
				readAttributes(p.Attributes, v, fs)
			case slices.Contains(authn.ProfileFields, key):
				s := fs.str(key, v)
				fs.checkString(key, s, maxProfileFieldBytes)
				p.Fields[key] = s
			default:
				fs.add(safeText(key, 64), "unknown field")
			}
		})
	})
	if perr != nil {
		return authn.ProfilePatch{}, perr
	}
	if len(fs) > 0 {
		return authn.ProfilePatch{}, invalid(fs)
	}
	return p, nil
}

// readAttributes copies the members of the attributes object as JSON
// text; null for the whole object is an empty change.
func readAttributes(dst map[string]json.RawMessage, v *fastjson.Value, fs *fieldErrors) {
	o := fs.object("attributes", "want an object", v)
	if o == nil {
		return
	}
	if o.Len() > authn.MaxAttributes {
		fs.add("attributes", fmt.Sprintf("more than %d attributes", authn.MaxAttributes))
		return
	}
	o.Visit(func(k []byte, v *fastjson.Value) {
		key := string(k)
		field := "attributes." + safeText(key, 64)
		switch v.Type() {
		case fastjson.TypeObject, fastjson.TypeArray:
			fs.add(field, "want a string, number, boolean or null")
			return
		}
		raw := v.MarshalTo(nil)
		if len(raw) > maxAttributeBytes {
			fs.add(field, fmt.Sprintf("longer than %d bytes", maxAttributeBytes))
			return
		}
		dst[key] = raw
	})
}

// maxDeviceNameBytes bounds a device name before authn's finer check (64
// code points).
const maxDeviceNameBytes = 256

// DecodeDeviceName decodes the body of PATCH /v1/account/devices/{id}:
// {"name": "..."}, where null or "" goes back to the label. Any other
// member is refused, as in a profile patch.
func (d *Decoder) DecodeDeviceName(body []byte) (string, error) {
	var name string
	seen := false
	fs, perr := parseObject(&d.parsers, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			fs.add("(body)", "want an object")
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			if string(k) != "name" {
				fs.add(safeText(string(k), 64), "unknown field")
				return
			}
			seen = true
			name = fs.str("name", v)
			fs.checkString("name", name, maxDeviceNameBytes)
		})
	})
	if perr != nil {
		return "", perr
	}
	if !seen && len(fs) == 0 {
		fs.add("name", "required (null goes back to the label)")
	}
	if len(fs) > 0 {
		return "", invalid(fs)
	}
	return name, nil
}
