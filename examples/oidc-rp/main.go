// Command oidc-rp protects a page with riskauth's sign-in (docs/oidc.md):
//
//	ISSUER=http://127.0.0.1:8080 CLIENT_ID=web-app CLIENT_SECRET=... go run ./examples/oidc-rp
//
// and open http://127.0.0.1:9000/ (ADDR and REDIRECT_URL change where it
// listens and what riskauth sends the browser back to).
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"log"
	"net/http"
	"os"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	p, err := oidc.NewProvider(context.Background(), os.Getenv("ISSUER"))
	if err != nil {
		log.Fatal(err)
	}
	id, addr := os.Getenv("CLIENT_ID"), cmp.Or(os.Getenv("ADDR"), "127.0.0.1:9000")
	conf := &oauth2.Config{ClientID: id, ClientSecret: os.Getenv("CLIENT_SECRET"), Endpoint: p.Endpoint(),
		RedirectURL: cmp.Or(os.Getenv("REDIRECT_URL"), "http://"+addr+"/callback"), Scopes: []string{oidc.ScopeOpenID, "email"}}
	// To riskauth with PKCE (S256) and a nonce. The state names a cookie of
	// this browser's own, holding the nonce and the PKCE verifier.
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		http.SetCookie(w, &http.Cookie{Name: "rp-" + state, Value: nonce + verifier, HttpOnly: true, MaxAge: 600})
		http.Redirect(w, r, conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	})
	// The protected page: only after this browser's code is exchanged and
	// the ID token verified, nonce included.
	http.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		var claims struct{ Email string }
		if c, err := r.Cookie("rp-" + r.URL.Query().Get("state")); err == nil && len(c.Value) > 26 { // a 26-letter nonce, then the verifier
			if tok, err := conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(c.Value[26:])); err == nil {
				raw, _ := tok.Extra("id_token").(string)
				if idt, err := p.Verifier(&oidc.Config{ClientID: id}).Verify(r.Context(), raw); err == nil && idt.Nonce == c.Value[:26] && idt.Claims(&claims) == nil {
					_, _ = w.Write([]byte("Hello, " + claims.Email + ": this page is protected by riskauth.\n"))
					return
				}
			}
		}
		http.Error(w, "sign-in failed", http.StatusUnauthorized)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
