package mmdbrec

import (
	"bytes"
	"math"
	"net"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCityDecodesFirstSubdivisionAndAbsentPoint(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", IncludeReservedNetworks: true})
	require.NoError(t, err)
	sub := func(iso, name string) mmdbtype.Map {
		return mmdbtype.Map{"iso_code": mmdbtype.String(iso), "names": mmdbtype.Map{"en": mmdbtype.String(name), "de": mmdbtype.String("x")}}
	}
	_, n1, _ := net.ParseCIDR("192.0.2.0/25")
	_, n2, _ := net.ParseCIDR("192.0.2.128/25")
	require.NoError(t, tree.Insert(n1, mmdbtype.Map{
		"city":         mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Bracknell"), "fr": mmdbtype.String("Bracknell")}, "geoname_id": mmdbtype.Uint32(1)},
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String("GB")},
		"subdivisions": mmdbtype.Slice{sub("ENG", "England"), sub("BRC", "Bracknell Forest")},
		"location":     mmdbtype.Map{"latitude": mmdbtype.Float64(51.4), "longitude": mmdbtype.Float64(-0.76), "accuracy_radius": mmdbtype.Uint16(20)},
		"traits":       mmdbtype.Map{"connection_type": mmdbtype.String("Cellular"), "autonomous_system_number": mmdbtype.Uint32(64496)},
	}))
	require.NoError(t, tree.Insert(n2, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB")}}))
	var buf bytes.Buffer
	_, err = tree.WriteTo(&buf)
	require.NoError(t, err)
	r, err := maxminddb.OpenBytes(buf.Bytes())
	require.NoError(t, err)
	defer r.Close()

	v := City{Location: Location{Latitude: math.NaN(), Longitude: math.NaN()}}
	require.NoError(t, r.Lookup(netip.MustParseAddr("192.0.2.1")).Decode(&v))
	assert.Equal(t, "Bracknell", v.City.Names.EN)
	assert.Equal(t, "ENG", v.Subdivisions.ISOCode)
	assert.Equal(t, "England", v.Subdivisions.Names.EN)
	assert.Equal(t, 51.4, v.Location.Latitude)
	assert.Equal(t, uint16(20), v.Location.AccuracyRadius)
	assert.Equal(t, "Cellular", v.Traits.ConnectionType)
	assert.Equal(t, uint32(64496), v.Traits.AutonomousSystemNumber)

	v = City{Location: Location{Latitude: math.NaN(), Longitude: math.NaN()}}
	require.NoError(t, r.Lookup(netip.MustParseAddr("192.0.2.200")).Decode(&v))
	assert.Equal(t, "GB", v.Country.ISOCode)
	assert.True(t, math.IsNaN(v.Location.Latitude), "absent location stays NaN")
	assert.Empty(t, v.Subdivisions.ISOCode)
}
