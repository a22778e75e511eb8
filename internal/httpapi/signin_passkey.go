package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The passkey sign-in API: a ceremony begins (the options for
// navigator.credentials.get, and a ceremony handle) and ends with the
// browser's assertion. Without a flow it is passwordless (conditional
// UI or a button); with a flow_id it is that flow's second factor. The
// answer of the end is a sign-in answer like every other (loginAnswer).

// PasskeySignIn signs in with passkeys; *authn.Passkeys implements it.
type PasskeySignIn interface {
	BeginPasskeySignIn(ctx context.Context, r authn.BeginPasskeySignInRequest) (*authn.PasskeyCeremony, error)
	FinishPasskeySignIn(ctx context.Context, r authn.FinishPasskeyRequest) (*authn.LoginResult, error)
}

// Passkeys is the whole passkey surface; each handler uses its part.
type Passkeys interface {
	PasskeySignIn
	PasskeyAccount
	PasskeyOffer
	PasskeyReauth
	PasskeySignup
}

var _ Passkeys = (*authn.Passkeys)(nil)

// maxCredentialBytes bounds the browser's PublicKeyCredential JSON: an
// attestation of "none" with a P-256 or RSA key is well under 4 KiB.
const maxCredentialBytes = 16 << 10

// passkeyBody is the body of every passkey route (each reads its part).
type passkeyBody struct {
	// FlowID makes a sign-in ceremony the second factor of that flow.
	FlowID string `json:"flow_id"`
	// Conditional asks for conditional mediation (autofill).
	Conditional bool `json:"conditional"`
	// Ceremony is the handle a begin returned.
	Ceremony string `json:"ceremony"`
	// Credential is the browser's PublicKeyCredential (toJSON()).
	Credential json.RawMessage `json:"credential"`
	// Name names a new passkey, or renames one.
	Name string `json:"name"`
	// Client is what every authn body may carry (device descriptor,
	// attributes; IP and user agent from a backend with its API key).
	Client json.RawMessage `json:"client"`
}

// ceremonyBody is the answer of a begin.
type ceremonyBody struct {
	Ceremony  string          `json:"ceremony"`
	Options   json.RawMessage `json:"options"`
	ExpiresAt time.Time       `json:"expires_at"`
}

func ceremonyAnswer(c *fiber.Ctx, pc *authn.PasskeyCeremony) error {
	return writeJSON(c, http.StatusOK, ceremonyBody{Ceremony: pc.Handle, Options: pc.Options, ExpiresAt: pc.ExpiresAt.UTC()})
}

// decodePasskey decodes a passkey route's body and builds the client
// from its client member (validated by the wire decoder, as every
// body's client is).
func (s *Server) decodePasskey(c *fiber.Ctx) (*passkeyBody, authn.Client, error) {
	var b passkeyBody
	raw := c.Request().Body()
	if len(bytes.TrimSpace(raw)) > 0 {
		if !jsonContentType(c.Request().Header.ContentType()) {
			return nil, authn.Client{}, apiErr(CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
		}
		if !utf8.Valid(raw) {
			return nil, authn.Client{}, apiErr(CodeMalformedJSON, "the body is not valid UTF-8")
		}
		// Unknown members are ignored, as in every body of the API.
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&b); err != nil {
			var ute *json.UnmarshalTypeError
			if errors.As(err, &ute) {
				return nil, authn.Client{}, invalid([]engine.FieldError{{Field: fieldOf(ute), Message: err.Error()}})
			}
			return nil, authn.Client{}, apiErr(CodeMalformedJSON, "the body is not valid JSON")
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, authn.Client{}, apiErr(CodeMalformedJSON, "trailing data after the JSON body")
		}
	}
	var fs []engine.FieldError
	if len(b.FlowID) > wire.MaxSecretBytes {
		fs = append(fs, engine.FieldError{Field: "flow_id", Message: "too long"})
	}
	if len(b.Ceremony) > wire.MaxSecretBytes {
		fs = append(fs, engine.FieldError{Field: "ceremony", Message: "too long"})
	}
	if len(b.Credential) > maxCredentialBytes {
		fs = append(fs, engine.FieldError{Field: "credential", Message: "too long"})
	}
	if len(fs) > 0 {
		return nil, authn.Client{}, invalid(fs)
	}
	wc := &wire.Client{}
	if len(b.Client) > 0 && !bytes.Equal(bytes.TrimSpace(b.Client), []byte("null")) {
		cb, err := s.dec.DecodeAuthn(wire.ShapeClient, append(append([]byte(`{"client":`), b.Client...), '}'))
		if err != nil {
			return nil, authn.Client{}, err
		}
		wc = &cb.Client
	}
	cl, err := s.client(c, wc)
	return &b, cl, err
}

func fieldOf(e *json.UnmarshalTypeError) string {
	if e == nil || e.Field == "" {
		return "body"
	}
	return e.Field
}

// requireCeremony checks an end's body: a ceremony and a credential.
func requireCeremony(b *passkeyBody) error {
	var fs []engine.FieldError
	if b.Ceremony == "" {
		fs = append(fs, engine.FieldError{Field: "ceremony", Message: "required"})
	}
	if len(b.Credential) == 0 {
		fs = append(fs, engine.FieldError{Field: "credential", Message: "required"})
	}
	if len(fs) > 0 {
		return invalid(fs)
	}
	return nil
}

// beginPasskeySignIn answers the options of a passwordless (or, with
// flow_id, a second-factor) passkey ceremony.
func (s *Server) beginPasskeySignIn(c *fiber.Ctx) error {
	b, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	pc, err := s.passkeys.BeginPasskeySignIn(c.UserContext(), authn.BeginPasskeySignInRequest{FlowID: b.FlowID,
		Conditional: b.Conditional, Client: cl})
	if err != nil {
		return err
	}
	return ceremonyAnswer(c, pc)
}

// passkeySignIn verifies the assertion and answers like any sign-in step.
func (s *Server) passkeySignIn(c *fiber.Ctx) error {
	b, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	if err := requireCeremony(b); err != nil {
		return err
	}
	res, err := s.passkeys.FinishPasskeySignIn(c.UserContext(), authn.FinishPasskeyRequest{Handle: b.Ceremony, Response: b.Credential, Client: cl})
	return s.loginAnswer(c, res, err)
}
