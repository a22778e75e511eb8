package oidc

import (
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Assurance levels as acr values (acr_values in, acr out), and the amr
// values (RFC 8176) the login step reports.
const (
	ACRAAL1 = "urn:riskauth:aal1"
	ACRAAL2 = "urn:riskauth:aal2"

	AMRPassword = "pwd"
	AMROTP      = "otp"
	AMRMFA      = "mfa"
)

// ACR names an assurance level (1 or 2) as an acr value.
func ACR(aal int) string {
	if aal >= 2 {
		return ACRAAL2
	}
	return ACRAAL1
}

// authRequest is an authorization request's state, stored as JSON in
// RequestRecord.Data. It implements op.AuthRequest.
type authRequest struct {
	ID                  string                    `json:"id"`
	ClientID            string                    `json:"client_id"`
	RedirectURI         string                    `json:"redirect_uri"`
	State               string                    `json:"state,omitempty"`
	Nonce               string                    `json:"nonce,omitempty"`
	Scopes              []string                  `json:"scopes"`
	ResponseType        zoidc.ResponseType        `json:"response_type"`
	ResponseMode        zoidc.ResponseMode        `json:"response_mode,omitempty"`
	CodeChallenge       string                    `json:"code_challenge"`
	CodeChallengeMethod zoidc.CodeChallengeMethod `json:"code_challenge_method"`
	Prompt              []string                  `json:"prompt,omitempty"`
	MaxAge              *uint                     `json:"max_age,omitempty"`
	LoginHint           string                    `json:"login_hint,omitempty"`
	ACRValues           []string                  `json:"acr_values,omitempty"`
	// HintSubject is the subject of a valid id_token_hint.
	HintSubject string    `json:"hint_subject,omitempty"`
	CreatedAt   time.Time `json:"created_at"`

	// Set by the login step (CompleteLogin).
	Login *loginState `json:"login,omitempty"`

	// accessAud are the client's extra audiences while its access token
	// is made (claims.go): set when the token is recorded, cleared once
	// the JWT has its aud, so that the ID token made next names the
	// client alone.
	accessAud []string
}

// loginState is who signed in at the login step, and how.
type loginState struct {
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id,omitempty"`
	AuthTime  time.Time `json:"auth_time"`
	AMR       []string  `json:"amr"`
	ACR       string    `json:"acr"`
	// ConsentPending: the user must allow the client first (consent.go);
	// no code until then.
	ConsentPending bool `json:"consent_pending,omitempty"`
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string { return a.ID }
func (a *authRequest) GetACR() string {
	if a.Login == nil {
		return ""
	}
	return a.Login.ACR
}
func (a *authRequest) GetAMR() []string {
	if a.Login == nil {
		return nil
	}
	return a.Login.AMR
}
func (a *authRequest) GetAudience() []string { return append([]string{a.ClientID}, a.accessAud...) }
func (a *authRequest) GetAuthTime() time.Time {
	if a.Login == nil {
		return time.Time{}
	}
	return a.Login.AuthTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	return &zoidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                    { return a.Nonce }
func (a *authRequest) GetRedirectURI() string              { return a.RedirectURI }
func (a *authRequest) GetResponseType() zoidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() zoidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                 { return a.Scopes }
func (a *authRequest) GetState() string                    { return a.State }
func (a *authRequest) GetSubject() string {
	if a.Login == nil {
		return ""
	}
	return a.Login.UserID
}
func (a *authRequest) Done() bool { return a.Login != nil && !a.Login.ConsentPending }

// grant is what a token record carries (TokenRecord.Data): what was
// granted and how the user signed in, so that a refresh issues the same.
type grant struct {
	Scopes    []string  `json:"scopes"`
	Audience  []string  `json:"aud"`
	AuthTime  time.Time `json:"auth_time"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	SessionID string    `json:"sid,omitempty"`
}

// refreshRequest is a refresh token's grant as the op package sees it; it
// implements op.RefreshTokenRequest.
type refreshRequest struct {
	rec       TokenRecord
	grant     grant
	scopes    []string // narrowed by the refresh request, or the grant's
	accessAud []string // as authRequest's
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string { return r.grant.AMR }
func (r *refreshRequest) GetAudience() []string {
	return append(slices.Clone(r.grant.Audience), r.accessAud...)
}
func (r *refreshRequest) GetAuthTime() time.Time      { return r.grant.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.rec.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.rec.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = slices.Clone(s) }
