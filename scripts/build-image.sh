#!/usr/bin/env bash
# scripts/build-image.sh — the riskauthd container image of
# deploy/container/Containerfile: a FROM scratch image holding one static
# binary built here, outside the image (so no builder image has to be
# pulled: the build needs no registry).
#
#   scripts/build-image.sh [TAG]          (default riskauthd:dev)
#
# Environment: CONTAINER_ENGINE (default: podman, else docker), GOARCH
# (default: this machine's), CA_BUNDLE (default
# /etc/ssl/certs/ca-certificates.crt, Debian's ca-certificates).
# Prints the image's id, entrypoint, user and size. The binary is built with
# -trimpath and without debug information; its version is the commit.
set -euo pipefail

tag=${1:-riskauthd:dev}
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
engine=${CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
	if command -v podman >/dev/null; then engine=podman; elif command -v docker >/dev/null; then engine=docker; else
		echo "build-image: neither podman nor docker is installed (apt install podman)" >&2
		exit 2
	fi
fi
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[[ -r $ca ]] || { echo "build-image: no CA bundle at $ca (apt install ca-certificates, or set CA_BUNDLE)" >&2; exit 2; }

ctx=$(mktemp -d "${TMPDIR:-/tmp}/riskauth-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$ctx/riskauthd" ./cmd/riskauthd)
cp "$ca" "$ctx/ca-certificates.crt"
mkdir -p "$ctx/skel/var/lib"
mkdir -m 0700 "$ctx/data"
"$engine" build --quiet -f "$root/deploy/container/Containerfile" -t "$tag" "$ctx" >/dev/null
"$engine" image inspect "$tag" --format 'image {{.Id}}
entrypoint {{json .Config.Entrypoint}}
user {{.Config.User}}
size {{.Size}}'
