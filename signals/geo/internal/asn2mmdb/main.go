// Command asn2mmdb converts the ASN ranges of the @ip-location-db/asn npm
// package (CSV: ip_range_start,ip_range_end,autonomous_system_number,
// autonomous_system_organization) into a MaxMind DB file in the package
// family's flat schema (database_type "asn ipvAll", the same keys as the
// CSV), which the geo signal reads as an ASN database. The package ships no
// .mmdb of its own; scripts/fetch-data.sh runs this after fetching it.
//
// Usage:
//
//	asn2mmdb [-epoch UNIX] -out .cache/data/asn.mmdb .cache/data/asn-ipv4.csv .cache/data/asn-ipv6.csv
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func main() {
	out := flag.String("out", "asn.mmdb", "output file")
	epoch := flag.Int64("epoch", 0, "build time (Unix seconds) to record; default: the newest input's modification time")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: asn2mmdb -out FILE CSV...")
		os.Exit(2)
	}
	if err := run(*out, *epoch, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "asn2mmdb:", err)
		os.Exit(1)
	}
}

func run(out string, buildEpoch int64, inputs []string) error {
	// The build time defaults to the newest input's, so that re-running on
	// the same data writes the same file.
	epoch := time.Unix(buildEpoch, 0)
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return err
		}
		if buildEpoch == 0 && st.ModTime().After(epoch) {
			epoch = st.ModTime()
		}
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		BuildEpoch:   epoch.Unix(),
		DatabaseType: "asn ipvAll",
		Description:  map[string]string{"en": "@ip-location-db/asn converted by riskauth asn2mmdb (CC BY 4.0: RouteViews, DB-IP, NRO)"},
		RecordSize:   24, // enough for the ~1M nodes, and the fastest tree to walk
		// The keys are few and the values tiny: a cheap key saves the
		// default SHA-256 of every value.
		KeyGenerator: keyGen{},
	})
	if err != nil {
		return err
	}
	total := 0
	for _, in := range inputs {
		n, err := load(tree, in)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		total += n
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".asn-*.mmdb")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := tree.WriteTo(w); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(w.Flush(), tmp.Chmod(0o644), tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Printf("asn2mmdb: wrote %s (%d ranges)\n", out, total)
	return nil
}

type keyGen struct{}

func (keyGen) Key(v mmdbtype.DataType) ([]byte, error) {
	m, ok := v.(mmdbtype.Map)
	if !ok {
		return nil, fmt.Errorf("unexpected value %T", v)
	}
	asn, _ := m["autonomous_system_number"].(mmdbtype.Uint32)
	org, _ := m["autonomous_system_organization"].(mmdbtype.String)
	return []byte(strconv.FormatUint(uint64(asn), 10) + "\x00" + string(org)), nil
}

func load(tree *mmdbwriter.Tree, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.FieldsPerRecord = 4
	r.ReuseRecord = true
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		start, err1 := netip.ParseAddr(rec[0])
		end, err2 := netip.ParseAddr(rec[1])
		asn, err3 := strconv.ParseUint(rec[2], 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil {
			line, _ := r.FieldPos(0)
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		v := mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(asn),
			"autonomous_system_organization": mmdbtype.String(rec[3]),
		}
		if err := tree.InsertRange(net.IP(start.AsSlice()), net.IP(end.AsSlice()), v); err != nil {
			var reserved *mmdbwriter.ReservedNetworkError
			var aliased *mmdbwriter.AliasedNetworkError
			if errors.As(err, &reserved) || errors.As(err, &aliased) {
				continue // not routable: nothing to look up there
			}
			line, _ := r.FieldPos(0)
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		n++
	}
}
