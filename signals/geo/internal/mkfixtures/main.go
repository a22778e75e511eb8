// Command mkfixtures builds the geo test fixtures (small MaxMind DB files in
// the GeoIP2 and @ip-location-db flat schemas) from the readable source
// testdata/geo/fixtures.yaml. It is run by `go generate ./signals/geo/`; the
// output is reproducible (the build epoch comes from the source file).
//
// Usage:
//
//	mkfixtures -src testdata/geo/fixtures.yaml -out testdata/geo [-out signals/geo/embedded]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/riskauth/riskauth/signals/geo/internal/fixturegen"
)

func main() {
	var outs multiFlag
	src := flag.String("src", "testdata/geo/fixtures.yaml", "fixture source file")
	flag.Var(&outs, "out", "output folder (repeatable)")
	flag.Parse()
	if len(outs) == 0 {
		outs = multiFlag{filepath.Dir(*src)}
	}
	if err := run(*src, outs); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixtures:", err)
		os.Exit(1)
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(srcPath string, outs []string) error {
	files, err := fixturegen.BuildFile(srcPath)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, dir := range outs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, n := range names {
			p := filepath.Join(dir, n)
			if err := os.WriteFile(p, files[n], 0o644); err != nil {
				return err
			}
			fmt.Printf("mkfixtures: wrote %s (%d bytes)\n", p, len(files[n]))
		}
	}
	return nil
}
