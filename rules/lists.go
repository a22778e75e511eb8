package rules

import (
	"bufio"
	"bytes"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// maxListSize bounds a list file; lists are for countries, ASNs and
// networks, not for millions of addresses.
const maxListSize = 1 << 20

var listNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// normaliseListValue makes list entries and looked-up values comparable:
// trimmed, country codes upper-cased, "AS15169" and "15169" the same.
func normaliseListValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 2 && (v[0] == 'A' || v[0] == 'a') && (v[1] == 'S' || v[1] == 's') && isDigits(v[2:]) {
		return v[2:]
	}
	if len(v) == 2 {
		return strings.ToUpper(v)
	}
	return v
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// loadLists reads the list files a rule file names, adds them to the
// options and feeds their content into h (the rule set's version).
func (o *options) loadLists(file string, lists map[string]string, h hash.Hash) Errors {
	var errs Errors
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fail := func(format string, args ...any) {
			errs = append(errs, Error{File: file, Msg: fmt.Sprintf("list %q: ", name) + fmt.Sprintf(format, args...)})
		}
		if !listNameRe.MatchString(name) {
			fail("name: want [a-z][a-z0-9_]*")
			continue
		}
		if _, dup := o.lists[name]; dup {
			fail("defined twice")
			continue
		}
		if o.baseDir == "" {
			fail("lists need a rule file on disk (paths are relative to it)")
			continue
		}
		path := lists[name]
		if !filepath.IsAbs(path) {
			path = filepath.Join(o.baseDir, path)
		}
		fi, err := os.Stat(path)
		if err != nil {
			fail("%v", err)
			continue
		}
		if fi.Size() > maxListSize {
			fail("%s is %d bytes, the limit is %d", path, fi.Size(), maxListSize)
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			fail("%v", err)
			continue
		}
		fmt.Fprintf(h, "\x00list %s\x00", name)
		h.Write(src)
		set := map[string]struct{}{}
		sc := bufio.NewScanner(bytes.NewReader(src))
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			if line = strings.TrimSpace(line); line != "" {
				set[normaliseListValue(line)] = struct{}{}
			}
		}
		if o.lists == nil {
			o.lists = map[string]map[string]struct{}{}
		}
		o.lists[name] = set
	}
	return errs
}
