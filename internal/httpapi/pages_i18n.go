package httpapi

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/gofiber/fiber/v2"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The message catalogue of the hosted pages: locales/LANG.toml, one
// "id = text" line per message, which a translator edits without
// touching code (go-i18n's format: a message with arguments uses
// {{.Name}}, plural forms are a table with one/other). English is the
// source language: a message missing from another catalogue falls back
// to it, and TestCatalogue fails on any id one catalogue has and another
// lacks.

// catalogue is the loaded bundle and the languages it offers.
type catalogue struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	tags    []language.Tag
}

// loadCatalogue reads every locales/*.toml; en.toml is required and comes
// first (the fallback).
func loadCatalogue(fsys fs.FS) (*catalogue, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(fsys, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	tags := []language.Tag{language.English}
	ids := map[language.Tag]map[string]bool{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(data, path.Base(f))
		if err != nil {
			return nil, fmt.Errorf("pages: catalogue %s: %w", f, err)
		}
		if mf.Tag != language.English {
			tags = append(tags, mf.Tag)
		}
		ids[mf.Tag] = map[string]bool{}
		for _, m := range mf.Messages {
			ids[mf.Tag][m.ID] = true
		}
	}
	en := ids[language.English]
	if len(en) == 0 {
		return nil, fmt.Errorf("pages: catalogue: locales/en.toml is missing or empty")
	}
	// Every catalogue has every message: a page half in one language is
	// worse than a refused start.
	for tag, set := range ids {
		var missing, extra []string
		for id := range en {
			if !set[id] {
				missing = append(missing, id)
			}
		}
		for id := range set {
			if !en[id] {
				extra = append(extra, id)
			}
		}
		if len(missing)+len(extra) > 0 {
			slices.Sort(missing)
			slices.Sort(extra)
			return nil, fmt.Errorf("pages: catalogue %s: missing %v, not in en.toml %v", tag, missing, extra)
		}
	}
	return &catalogue{bundle: b, matcher: language.NewMatcher(tags), tags: tags}, nil
}

// localizer picks the best offered language for the preferences, in
// order, and returns its tag and a localizer for it.
func (c *catalogue) localizer(prefs ...string) (string, *i18n.Localizer) {
	var want []language.Tag
	for _, p := range prefs {
		if ts, _, err := language.ParseAcceptLanguage(p); err == nil {
			want = append(want, ts...)
		}
	}
	tag := language.English
	if len(want) > 0 {
		_, i, conf := c.matcher.Match(want...)
		if conf != language.No {
			tag = c.tags[i]
		}
	}
	return tag.String(), i18n.NewLocalizer(c.bundle, tag.String())
}

// maxAcceptLanguage bounds the header handed to the parser: a real one is
// a few dozen bytes.
const maxAcceptLanguage = 256

// pageLanguages are a request's language preferences: the user's profile
// locale first (when known), then Accept-Language.
func pageLanguages(c *fiber.Ctx, profile string) []string {
	al := string(c.Request().Header.Peek(fiber.HeaderAcceptLanguage))
	if len(al) > maxAcceptLanguage {
		al = al[:strings.LastIndexByte(al[:maxAcceptLanguage], ',')+1]
	}
	var out []string
	if profile != "" {
		out = append(out, profile)
	}
	return append(out, al)
}
