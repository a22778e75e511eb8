package geo

import (
	"embed"
	"io/fs"
)

// The fixture databases generated from testdata/geo/fixtures.yaml, copied
// here by the generator because go:embed cannot reach testdata/.
//
//go:embed embedded/*.mmdb
var embedded embed.FS

const embeddedDir = "embedded"

// embeddedSet is what Open serves when no database is configured.
var embeddedSet = []struct {
	file string
	role Role
}{
	{"city.mmdb", RoleCity},
	{"isp.mmdb", RoleASN}, // mobile carriers first, then every network
	{"asn.mmdb", RoleASN},
	{"anonymous-ip.mmdb", RoleAnonymousIP},
}

// EmbeddedFixture returns the fixture databases compiled into the binary
// (city.mmdb, asn.mmdb, anonymous-ip.mmdb, isp.mmdb, flat-city.mmdb,
// flat-asn.mmdb), as generated from testdata/geo/fixtures.yaml. They cover
// documentation ranges only: enough to run and demonstrate the service with
// no file around, never a source of real locations.
func EmbeddedFixture() fs.FS {
	sub, err := fs.Sub(embedded, embeddedDir)
	if err != nil { // cannot happen: the directory is embedded
		return embedded
	}
	return sub
}
