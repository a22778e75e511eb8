package password

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// The two rules of NIST SP 800-63B that a breach corpus cannot cover,
// because they depend on the account or are too many to list: no
// repetitive or sequential characters, and no context-specific words (the
// service name, the address, the user's name). Both compare a folded form
// of the password (NFKC, Unicode case folding), so "ＲｉｓｋＡｕｔｈ" and
// "riskauth" are one word, and context words match as substrings after a
// light leetspeak mapping, so "r1skauth2024" contains "riskauth".

// minWordLen is the shortest context word looked for: shorter ones (a
// three-letter local part) occur inside too many ordinary words. A word
// of the service name must be one longer (minServiceWordLen), since it
// is refused to every user: "Acme Bank" refuses "acmebank" and "acme…"
// but not "bank".
const (
	minWordLen        = 4
	minServiceWordLen = 5
)

// fold is the comparison form: compatibility-decomposed and recomposed
// (full-width letters, ligatures and superscripts become plain ones) and
// case-folded.
func fold(s string) string { return cases.Fold().String(norm.NFKC.String(s)) }

// leet maps the usual digit and symbol stand-ins to letters. '1' stands
// for both 'i' and 'l', so there are two tables.
var leet = [2]*strings.Replacer{
	strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s"),
	strings.NewReplacer("0", "o", "1", "l", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s"),
}

// skeletons are the forms a folded string is matched in: each leetspeak
// reading, keeping letters and digits only (separators and spaces do not
// break a word: "Risk-Auth" is "riskauth").
func skeletons(folded string) [2]string {
	var out [2]string
	for i, r := range leet {
		out[i] = alnum(r.Replace(folded))
	}
	return out
}

func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// words splits s at everything that is not a letter or digit.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// contextWords lists the words a password must not contain, by kind: the
// service name (whole and each word of minServiceWordLen), the address (whole, the local part
// without its +tag, each word of it), the address's domain labels (all
// but the last, "wonderland" of wonderland.example), and the user's
// names (whole and each word). Words shorter than minWordLen are left out.
func contextWords(service string, in PolicyInput) map[Word][]string {
	out := map[Word][]string{}
	addMin := func(k Word, least int, ws ...string) {
		for _, w := range ws {
			if w = fold(strings.TrimSpace(w)); len([]rune(alnum(w))) >= least {
				out[k] = append(out[k], w)
			}
		}
	}
	add := func(k Word, ws ...string) { addMin(k, minWordLen, ws...) }
	add(WordServiceName, service)
	addMin(WordServiceName, minServiceWordLen, words(fold(service))...)
	if email := strings.TrimSpace(in.Email); email != "" {
		add(WordEmail, email)
		if at := strings.LastIndexByte(email, '@'); at > 0 {
			local, domain := email[:at], email[at+1:]
			if plus := strings.IndexByte(local, '+'); plus > 0 {
				local = local[:plus]
			}
			add(WordEmail, local)
			add(WordEmail, words(fold(local))...)
			if labels := strings.Split(domain, "."); len(labels) > 1 {
				add(WordEmailDomain, labels[:len(labels)-1]...)
			}
		}
	}
	for _, n := range in.Names {
		add(WordName, n)
		add(WordName, words(fold(n))...)
	}
	return out
}

// contextWord reports the first kind of context word that pw contains.
func contextWord(pw, service string, in PolicyInput) (Word, bool) {
	p := skeletons(fold(pw))
	ws := contextWords(service, in)
	for _, k := range []Word{WordServiceName, WordEmail, WordEmailDomain, WordName} {
		for _, w := range ws[k] {
			sw := skeletons(w)
			for i := range p {
				if sw[i] != "" && strings.Contains(p[i], sw[i]) {
					return k, true
				}
			}
		}
	}
	return "", false
}

// keyboardRows are the QWERTY rows whose neighbours make a "sequence".
var keyboardRows = []string{"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"}

// Relations between two consecutive characters; a run continues while
// consecutive pairs share one.
const (
	relUp = 1 << iota // next code point of the same class: a→b, 1→2, 9→0
	relDown
	relKeyUp // right-hand neighbour on a keyboard row: q→w
	relKeyDown
)

func relation(a, b rune) int {
	rel := 0
	if unicode.IsDigit(a) && unicode.IsDigit(b) && a >= '0' && a <= '9' && b >= '0' && b <= '9' {
		// Digits wrap: 7890123 is one run.
		switch (b - a + 10) % 10 {
		case 1:
			rel |= relUp
		case 9:
			rel |= relDown
		}
	} else if unicode.IsLetter(a) && unicode.IsLetter(b) {
		switch b - a {
		case 1:
			rel |= relUp
		case -1:
			rel |= relDown
		}
	}
	for _, row := range keyboardRows {
		i, j := strings.IndexRune(row, a), strings.IndexRune(row, b)
		switch {
		case i < 0 || j < 0:
		case j == i+1:
			rel |= relKeyUp
		case j == i-1:
			rel |= relKeyDown
		}
	}
	return rel
}

// surprising counts the characters of rs that someone who saw the ones
// before would not predict: not a repeat of the previous one, not the
// continuation of a run (abc, 987, qwe) in the direction it took, and
// not the continuation of a pattern of period 2 to 4 already under way
// (the second "b" of "abab").
func surprising(rs []rune) int {
	n := 0
	for i, r := range rs {
		switch {
		case i > 0 && r == rs[i-1]:
		case i > 1 && relation(rs[i-2], rs[i-1])&relation(rs[i-1], r) != 0:
		case periodic(rs, i):
		default:
			n++
		}
	}
	return n
}

func periodic(rs []rune, i int) bool {
	for p := 2; p <= 4 && i-1-p >= 0; p++ {
		if rs[i] == rs[i-p] && rs[i-1] == rs[i-1-p] {
			return true
		}
	}
	return false
}

// repetitionUnit is the length of the shortest unit that rs repeats at
// least twice (a trailing partial copy allowed: "hello hello hel" is
// "hello " repeated), or len(rs) when it repeats none.
func repetitionUnit(rs []rune) int {
	for p := 1; 2*p <= len(rs); p++ {
		ok := true
		for i := p; i < len(rs) && ok; i++ {
			ok = rs[i] == rs[i-p]
		}
		if ok {
			return p
		}
	}
	return len(rs)
}

// minSurprising is the least number of surprising characters any
// password must have, whatever its length.
const minSurprising = 4

// repetitive reports whether pw is mostly repeated or sequential
// characters: a unit shorter than minLen repeated (the repetition adds
// length, not strength), or fewer than a third of its characters
// surprising (at least minSurprising).
func repetitive(pw string, minLen int) bool {
	rs := []rune(fold(pw))
	if repetitionUnit(rs) < minLen {
		return true
	}
	return surprising(rs) < max(minSurprising, (len(rs)+2)/3)
}
