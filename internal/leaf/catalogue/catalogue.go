package catalogue

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var mailFS embed.FS

// Catalogue is a loaded set of message files and the languages it
// offers; English is the source language and the fallback.
type Catalogue struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	tags    []language.Tag
}

// Mail loads the mail catalogue (locales/mail.*.toml).
func Mail() (*Catalogue, error) {
	return Load(mailFS, "locales/*.toml")
}

// Load reads every file of fsys matching pattern (go-i18n names them
// LANG.toml or NAME.LANG.toml). The English file is required, and every
// language must have exactly English's message ids: a text half in one
// language is worse than a refused start.
func Load(fsys fs.FS, pattern string) (*Catalogue, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(fsys, pattern)
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
			return nil, fmt.Errorf("catalogue %s: %w", f, err)
		}
		if _, seen := ids[mf.Tag]; !seen {
			ids[mf.Tag] = map[string]bool{}
			if mf.Tag != language.English {
				tags = append(tags, mf.Tag)
			}
		}
		for _, m := range mf.Messages {
			ids[mf.Tag][m.ID] = true
		}
	}
	en := ids[language.English]
	if len(en) == 0 {
		return nil, fmt.Errorf("catalogue %s: the English file is missing or empty", pattern)
	}
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
			return nil, fmt.Errorf("catalogue %s: missing %v, not in English %v", tag, missing, extra)
		}
	}
	return &Catalogue{bundle: b, matcher: language.NewMatcher(tags), tags: tags}, nil
}

// Languages are the offered languages, English first.
func (c *Catalogue) Languages() []string {
	out := make([]string, len(c.tags))
	for i, t := range c.tags {
		out[i] = t.String()
	}
	return out
}

// MaxPreference bounds one preference handed to the parser (an
// Accept-Language header): a real one is a few dozen bytes.
const MaxPreference = 256

// Localizer picks the best offered language for the preferences, in
// order (each a BCP 47 tag or an Accept-Language value; the unparsable
// are skipped), English when none matches.
func (c *Catalogue) Localizer(prefs ...string) *Localizer {
	var want []language.Tag
	for _, p := range prefs {
		if len(p) > MaxPreference {
			p = p[:strings.LastIndexByte(p[:MaxPreference], ',')+1]
		}
		if ts, _, err := language.ParseAcceptLanguage(p); err == nil {
			want = append(want, ts...)
		}
	}
	tag := language.English
	if len(want) > 0 {
		if _, i, conf := c.matcher.Match(want...); conf != language.No {
			tag = c.tags[i]
		}
	}
	return &Localizer{Lang: tag.String(), loc: i18n.NewLocalizer(c.bundle, tag.String())}
}

// Localizer is one language of a catalogue.
type Localizer struct {
	// Lang is the chosen language's tag ("en", "de").
	Lang string
	loc  *i18n.Localizer
}

// T is the message id in the localizer's language; args are name, value
// pairs for the message's template ({{.Name}}). An unknown id comes back
// as itself, which the catalogue tests catch.
func (l *Localizer) T(id string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Plural is the message id with plural forms (one, other, …) for n in
// the localizer's language; n is {{.Count}}, args as for T.
func (l *Localizer) Plural(id string, n int, args ...any) string {
	data := map[string]any{"Count": n}
	for i := 0; i+1 < len(args); i += 2 {
		data[fmt.Sprint(args[i])] = args[i+1]
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Has reports whether the catalogue has the message id.
func (l *Localizer) Has(id string) bool {
	_, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil
}

// Duration writes d the way people say it, in the localizer's language:
// seconds under a minute, minutes under two hours, hours under two days,
// else days (messages duration_second … duration_day, with plural forms).
func (l *Localizer) Duration(d time.Duration) string {
	unit, n := "day", int64(d/(24*time.Hour))
	switch {
	case d < time.Minute:
		unit, n = "second", int64(d/time.Second)
	case d < 2*time.Hour:
		unit, n = "minute", int64(d/time.Minute)
	case d < 48*time.Hour:
		unit, n = "hour", int64(d/time.Hour)
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: "duration_" + unit, PluralCount: n,
		TemplateData: map[string]any{"Count": n}})
	if err != nil {
		return fmt.Sprintf("%d %s", n, unit)
	}
	return s
}

// Time writes t in UTC with the language's layout (message time_layout,
// a Go time layout): the server does not know the reader's time zone,
// and a stated zone is better than a wrong one.
func (l *Localizer) Time(t time.Time) string {
	return t.UTC().Format(l.T("time_layout"))
}
