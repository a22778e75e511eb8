package wire

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
)

// Bodies of the sign-in and account API are decoded like the evaluate
// body (decode.go): UTF-8 and strict JSON first, then field by field with
// fastjson. Each route names its body's Shape, a bodySpec of the fields it
// reads; every
// other member of the body is ignored and never bound to anything, so a
// body cannot set what the route does not offer (a user id, an assurance
// level, a client IP without an API key).
//
// Length limits are checked here, before the service sees a value: a 1 MB
// "password" is a 413 (body limit), a 5 KB one a 422 from this decoder, and
// neither costs an argon2id hash.

// MaxSecretBytes bounds, in bytes, the opaque strings of the sign-in and
// account API: flow ids, link tokens, codes, factor ids (and, in the HTTP
// layer, session ids in paths).
const MaxSecretBytes = 256

// Limits on the string fields, in bytes of UTF-8.
const (
	// maxPasswordBytes matches the engine's limit on Event.Password. The
	// policy's 256 code points are at most 1024 bytes; longer sign-in
	// passwords can never be right, and are refused unhashed.
	maxPasswordBytes = 4096
	maxEmailBytes    = 320
	maxSecretBytes   = MaxSecretBytes
	maxUserAgent     = engine.MaxUserAgentLen
)

// Shape names the JSON body of a sign-in or account route: the members
// its decoder reads. Every other member is ignored and bound to nothing.
type Shape uint8

// The shapes. Every one also reads the "client" member (Client).
const (
	_                    Shape = iota
	ShapeRegister              // email, password
	ShapeVerifyEmail           // token, optional registration_secret
	ShapeLogin                 // identifier, optional password
	ShapeFlowPassword          // flow_id, password
	ShapeFlowCode              // flow_id, code
	ShapeFlow                  // flow_id
	ShapeMagicLink             // token, optional flow_id
	ShapeClient                // client only; an empty body is {}
	ShapeReauthenticate        // password, optional totp_code and recovery_code
	ShapeConfirmTOTP           // factor_id, code
	ShapeRemoveTOTP            // password
	ShapeChangePassword        // optional current_password (none to give: a passkey-only account), new_password
	ShapeResetRequest          // email
	ShapeReset                 // token, new_password
	ShapeFlowConfirmTOTP       // flow_id, factor_id, code

	shapeEnd // one past the last shape, for the tests
)

// shapes maps each Shape to its spec.
var shapes = [...]*bodySpec{
	ShapeRegister: specRegister, ShapeVerifyEmail: specVerifyEmail, ShapeLogin: specLogin,
	ShapeFlowPassword: specFlowPassword, ShapeFlowCode: specFlowCode, ShapeFlow: specFlow,
	ShapeMagicLink: specMagicLink, ShapeClient: specEmpty, ShapeReauthenticate: specReauth,
	ShapeConfirmTOTP: specConfirmTOTP, ShapeRemoveTOTP: specRemoveTOTP, ShapeChangePassword: specChangePassword,
	ShapeResetRequest: specResetRequest, ShapeReset: specReset, ShapeFlowConfirmTOTP: specFlowConfirmTOTP,
}

// AuthnBody is a decoded sign-in or account body. Only the members its
// Shape reads are set, the others are always "". A member the shape reads
// is "" only when absent or null: a present empty string is refused, as
// is a required member's absence, and every one is within its length
// limit and free of NUL bytes.
type AuthnBody struct {
	Email           string // "email"
	Password        string // "password"
	Identifier      string // "identifier"
	FlowID          string // "flow_id"
	Code            string // "code"
	Token           string // "token"
	TOTPCode        string // "totp_code"
	RecoveryCode    string // "recovery_code"
	FactorID        string // "factor_id"
	CurrentPassword string // "current_password"
	NewPassword     string // "new_password"
	// RegistrationSecret is "registration_secret": the binding an app
	// got from its registration, shown with the verification link.
	RegistrationSecret string
	// Client is the "client" member; zero when absent or not read.
	Client Client
}

// Client is the "client" member of a sign-in or account body: who the end
// user is, as the caller tells it.
type Client struct {
	// IP is client.ip, parsed (IPv4-mapped addresses unmapped), and
	// UserAgent client.user_agent; the zero Addr and "" when absent. The
	// HTTP layer believes them only from a backend that presents an API
	// key.
	IP        netip.Addr
	UserAgent string
	// Device is the browser's device descriptor, validated; nil when
	// absent.
	Device *engine.DeviceDescriptor
	// Attributes are validated as an event's attributes are.
	Attributes map[string]string
}

// DecodeAuthn decodes and validates the body of a sign-in or account route
// of the given shape. An empty body reads as {}, so that routes whose
// members are all optional need none. Every problem is reported at once in
// one *Error. shape must be one of the Shape constants.
func (d *Decoder) DecodeAuthn(shape Shape, body []byte) (*AuthnBody, error) {
	if int(shape) >= len(shapes) || shapes[shape] == nil {
		panic(fmt.Sprintf("wire: unknown body shape %d", shape))
	}
	b, err := decodeAuth(&d.parsers, shapes[shape], body)
	if err != nil {
		return nil, err
	}
	return b.export(), nil
}

// export copies a decoded body into its exported form.
func (b *authBody) export() *AuthnBody {
	return &AuthnBody{
		Email: b.get("email"), Password: b.get("password"), Identifier: b.get("identifier"),
		FlowID: b.get("flow_id"), Code: b.get("code"), Token: b.get("token"),
		TOTPCode: b.get("totp_code"), RecoveryCode: b.get("recovery_code"), FactorID: b.get("factor_id"),
		CurrentPassword: b.get("current_password"), NewPassword: b.get("new_password"),
		RegistrationSecret: b.get("registration_secret"),
		Client:             Client{IP: b.client.addr, UserAgent: b.client.UserAgent, Device: b.client.Device, Attributes: b.client.Attributes},
	}
}

// fieldSpec is one string member a route reads.
type fieldSpec struct {
	name     string
	max      int
	required bool
}

// bodySpec describes a route's body.
type bodySpec struct {
	fields []fieldSpec
	// client: the route reads a "client" object (device descriptor,
	// attributes, and with an API key ip and user_agent).
	client bool
}

// authBody is a decoded body: the declared string fields and the client.
type authBody struct {
	values map[string]string
	client clientRequest
}

// get returns a declared field's value ("" when absent or null).
func (b *authBody) get(name string) string { return b.values[name] }

// clientRequest is the "client" member: who the end user is, as told by
// the caller. IP and UserAgent are only believed from a backend that
// presents an API key; the handler enforces that.
type clientRequest struct {
	IP         string
	UserAgent  string
	Device     *engine.DeviceDescriptor
	Attributes map[string]string
	hasIP      bool
	hasUA      bool
	// addr is IP parsed (by validate).
	addr netip.Addr
}

// The bodies, one per route shape.
var (
	specRegister = &bodySpec{fields: []fieldSpec{
		{"email", maxEmailBytes, true}, {"password", maxPasswordBytes, true}}, client: true}
	specVerifyEmail = &bodySpec{fields: []fieldSpec{
		{"token", maxSecretBytes, true}, {"registration_secret", maxSecretBytes, false}}, client: true}
	specLogin = &bodySpec{fields: []fieldSpec{
		{"identifier", maxEmailBytes, true}, {"password", maxPasswordBytes, false}}, client: true}
	specFlowPassword = &bodySpec{fields: []fieldSpec{
		{"flow_id", maxSecretBytes, true}, {"password", maxPasswordBytes, true}}, client: true}
	specFlowCode = &bodySpec{fields: []fieldSpec{
		{"flow_id", maxSecretBytes, true}, {"code", maxSecretBytes, true}}, client: true}
	specFlow      = &bodySpec{fields: []fieldSpec{{"flow_id", maxSecretBytes, true}}, client: true}
	specMagicLink = &bodySpec{fields: []fieldSpec{
		{"token", maxSecretBytes, true}, {"flow_id", maxSecretBytes, false}}, client: true}
	specEmpty  = &bodySpec{client: true}
	specReauth = &bodySpec{fields: []fieldSpec{
		{"password", maxPasswordBytes, true}, {"totp_code", maxSecretBytes, false},
		{"recovery_code", maxSecretBytes, false}}, client: true}
	specConfirmTOTP = &bodySpec{fields: []fieldSpec{
		{"factor_id", maxSecretBytes, true}, {"code", maxSecretBytes, true}}, client: true}
	specFlowConfirmTOTP = &bodySpec{fields: []fieldSpec{{"flow_id", maxSecretBytes, true},
		{"factor_id", maxSecretBytes, true}, {"code", maxSecretBytes, true}}, client: true}
	specRemoveTOTP     = &bodySpec{fields: []fieldSpec{{"password", maxPasswordBytes, true}}, client: true}
	specChangePassword = &bodySpec{fields: []fieldSpec{
		{"current_password", maxPasswordBytes, false}, {"new_password", maxPasswordBytes, true}}, client: true}
	specResetRequest = &bodySpec{fields: []fieldSpec{{"email", maxEmailBytes, true}}, client: true}
	specReset        = &bodySpec{fields: []fieldSpec{
		{"token", maxSecretBytes, true}, {"new_password", maxPasswordBytes, true}}, client: true}
)

// allSpecs lists every spec, for the fuzz target.
var allSpecs = []*bodySpec{specRegister, specVerifyEmail, specLogin, specFlowPassword, specFlowCode, specFlow,
	specMagicLink, specEmpty, specReauth, specConfirmTOTP, specRemoveTOTP, specChangePassword, specResetRequest, specReset,
	specFlowConfirmTOTP}

// decodeAuth decodes body per spec. An empty body is read as {} so that
// routes whose fields are all optional (logout) need not send one. Every
// problem is reported at once: one 422 that lists each field.
func decodeAuth(pp *fastjson.ParserPool, spec *bodySpec, body []byte) (*authBody, *Error) {
	out := &authBody{values: make(map[string]string, len(spec.fields))}
	if len(body) == 0 {
		body = []byte("{}")
	}
	fs, perr := parseObject(pp, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			key := string(k)
			if key == "client" && spec.client {
				out.client = clientRequest{}
				if co := fs.object("client", "want an object", v); co != nil {
					out.client.read(co, fs)
				}
				return
			}
			for _, f := range spec.fields {
				if f.name != key {
					continue
				}
				delete(out.values, key) // a repeated member takes its last value
				if v.Type() != fastjson.TypeNull {
					out.values[key] = fs.str(key, v)
				}
				return
			}
		})
	})
	if perr != nil {
		return nil, perr
	}
	for _, f := range spec.fields {
		v, present := out.values[f.name]
		switch {
		case fs.has(f.name):
		case v == "" && f.required:
			fs.add(f.name, "required")
		case v == "" && present:
			// An empty optional member is a client bug, not "absent": an
			// empty sign-in password would otherwise cost a hash.
			fs.add(f.name, "must not be empty")
		}
		fs.checkString(f.name, v, f.max)
	}
	if spec.client {
		out.client.validate(&fs)
	}
	if len(fs) > 0 {
		return nil, invalid(fs)
	}
	return out, nil
}

// read fills the client from its object, collecting type errors.
func (cr *clientRequest) read(o *fastjson.Object, fs *fieldErrors) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "ip":
			cr.IP = fs.str("client.ip", v)
			cr.hasIP = cr.IP != ""
		case "user_agent":
			cr.UserAgent = fs.str("client.user_agent", v)
			cr.hasUA = cr.UserAgent != ""
		case "device":
			cr.Device = nil
			if d := fs.object("client.device", "want an object", v); d != nil {
				var dr deviceRequest
				sub := fieldErrors{}
				dr.read(d, &sub)
				for _, f := range sub {
					fs.add("client."+f.Field, f.Message)
				}
				sub = sub[:0]
				cr.Device = dr.descriptor(&sub)
				for _, f := range sub {
					fs.add("client."+f.Field, f.Message)
				}
			}
		case "attributes":
			cr.Attributes = fs.attributes("client.attributes", v)
		}
	})
}

// validate checks what the engine would refuse later, so that the answer
// is one 422 naming client fields rather than a service error.
func (cr *clientRequest) validate(fs *fieldErrors) {
	if cr.hasIP {
		cr.addr = fs.ip("client.ip", cr.IP)
	}
	fs.checkString("client.user_agent", cr.UserAgent, maxUserAgent)
	if len(cr.Attributes) > engine.MaxAttributes {
		fs.add("client.attributes", fmt.Sprintf("more than %d attributes", engine.MaxAttributes))
		return
	}
	keys := make([]string, 0, len(cr.Attributes))
	for k := range cr.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := cr.Attributes[k]
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			fs.add("client.attributes."+safeText(k, 64), "must not contain NUL bytes")
			continue
		}
		ev := engine.Event{Kind: "login", Attributes: map[string]string{k: v}}
		if err := ev.Validate(); err != nil {
			fs.add("client.attributes."+safeText(k, 64), "key or value too long or malformed")
		}
	}
}
