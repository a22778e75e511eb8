// Command oidc-rp protects a page with riskauth's sign-in (docs/oidc.md):
// ISSUER=http://127.0.0.1:8080 CLIENT_ID=web-app CLIENT_SECRET=... go run ./examples/oidc-rp
package main

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// app serves / (to riskauth, with PKCE S256, state and nonce kept in the
// browser) and /callback, the protected page, shown after the code
// exchange and the ID token's verification.
func app(ctx context.Context, issuer, id, secret, redirect string) (http.Handler, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	conf := &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		st, n, v := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		http.SetCookie(w, &http.Cookie{Name: "rp", Value: st + "." + n + "." + v, HttpOnly: true, MaxAge: 600})
		http.Redirect(w, r, conf.AuthCodeURL(st, oauth2.S256ChallengeOption(v), oidc.Nonce(n)), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		var keep [3]string // state, nonce, verifier
		if c, err := r.Cookie("rp"); err == nil {
			copy(keep[:], strings.SplitN(c.Value, ".", 3))
		}
		var claims struct{ Email string }
		if keep[0] != "" && r.URL.Query().Get("state") == keep[0] { // this browser's sign-in, then the code
			tok, err := conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(keep[2]))
			if err != nil {
				http.Error(w, "sign-in failed", http.StatusUnauthorized)
				return
			}
			raw, _ := tok.Extra("id_token").(string)
			if idt, err := p.Verifier(&oidc.Config{ClientID: id}).Verify(r.Context(), raw); err == nil && idt.Nonce == keep[1] && idt.Claims(&claims) == nil {
				_, _ = w.Write([]byte("Hello, " + claims.Email + ": this page is protected by riskauth.\n"))
				return
			}
		}
		http.Error(w, "sign-in failed", http.StatusUnauthorized)
	})
	return mux, nil
}

func main() {
	h, err := app(context.Background(), os.Getenv("ISSUER"), os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET"), "http://127.0.0.1:9000/callback")
	if err != nil {
		panic(err)
	}
	panic(http.ListenAndServe("127.0.0.1:9000", h))
}
