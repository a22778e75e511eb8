package httpapi

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/internal/leaf/catalogue"
)

// The message catalogue of the hosted pages: locales/LANG.toml, one
// "id = text" line per message, which a translator edits without
// touching code (go-i18n's format: a message with arguments uses
// {{.Name}}, plural forms are a table with one/other). English is the
// source language: a message missing from another catalogue falls back
// to it, and TestCatalogue fails on any id one catalogue has and another
// lacks.

// loadCatalogue reads every locales/*.toml with the catalogue loader
// the mails use too (internal/leaf/catalogue): en.toml is required and
// the fallback, and a language lacking an id English has (or having one
// it lacks) refuses to start.
func loadCatalogue(fsys fs.FS) (*catalogue.Catalogue, error) {
	c, err := catalogue.Load(fsys, "locales/*.toml")
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	return c, nil
}

// maxAcceptLanguage bounds the header handed to the parser: a real one is
// a few dozen bytes.
const maxAcceptLanguage = 256

// acceptLanguage is the request's Accept-Language, copied and cut at a
// comma to maxAcceptLanguage bytes: the language of the pages, and of
// the mails the request sends (authn.Client.Languages).
func acceptLanguage(c *fiber.Ctx) string {
	al := string(c.Request().Header.Peek(fiber.HeaderAcceptLanguage))
	if len(al) > maxAcceptLanguage {
		al = al[:strings.LastIndexByte(al[:maxAcceptLanguage], ',')+1]
	}
	return al
}

// pageLanguages are a request's language preferences: the user's profile
// locale first (when known), then Accept-Language.
func pageLanguages(c *fiber.Ctx, profile string) []string {
	al := acceptLanguage(c)
	var out []string
	if profile != "" {
		out = append(out, profile)
	}
	return append(out, al)
}
