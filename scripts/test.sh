#!/usr/bin/env bash
# The whole faxkit test suite, including interop with independent peers
# (libtiff's tools, libspandsp). It installs the Debian packages those peers
# need when they are missing (as root, or through sudo), then runs the
# formatting and vet checks and every test with the race detector.
#
# Under CI=true a missing peer makes the tests that need it fail instead of
# skipping; this script exports FAXKIT_REQUIRE_PEERS=1 so that holds here too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages for the interop peers and C reference harnesses.
pkgs=(libtiff-tools libtiff-dev libspandsp-dev pkg-config gcc imagemagick ghostscript poppler-utils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "== installing Debian packages: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt: not formatted:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== go test -race"
export FAXKIT_REQUIRE_PEERS=1
go test -race -count=1 -timeout 25m ./...
