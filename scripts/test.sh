#!/usr/bin/env bash
# The whole faxkit test suite, including interop with independent peers
# (libtiff's tools, libspandsp, sofia-sip, SIPp, Kamailio, PostgreSQL,
# Chromium). It installs the Debian packages those peers need when they are
# missing (as root, or through sudo), then runs, in order: gofmt, go vet,
# staticcheck, a check that go.mod and go.sum are tidy, every test with the
# race detector, the interop matrices that are too slow under the race
# detector (without it), and a short run of every fuzz target over its seeds
# and fresh inputs (FAXKIT_FUZZTIME each, default 3s; 0 skips it).
#
# Under CI=true a missing peer makes the tests that need it fail instead of
# skipping; this script exports FAXKIT_REQUIRE_PEERS=1 so that holds here too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages for the interop peers and C reference harnesses.
pkgs=(libtiff-tools libtiff-dev libspandsp-dev pkg-config gcc imagemagick ghostscript poppler-utils
	libsofia-sip-ua-dev sip-tester kamailio postgresql chromium)
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

echo "== go mod tidy (must change nothing)"
tidy=$(mktemp -d)
cp go.mod go.sum "$tidy"/
go mod tidy
if ! cmp -s go.mod "$tidy/go.mod" || ! cmp -s go.sum "$tidy/go.sum"; then
	echo "go.mod/go.sum are not tidy: run go mod tidy"
	diff -u "$tidy/go.mod" go.mod || true
	cp "$tidy/go.mod" "$tidy/go.sum" .
	exit 1
fi
rm -rf "$tidy"

export FAXKIT_REQUIRE_PEERS=1
start=$SECONDS
echo "== go test -race"
go test -race -count=1 -timeout 25m ./...
echo "   (race run took $((SECONDS - start)) s)"

# The full spandsp interop matrices and the real-time audio fax calls skip
# themselves under the race detector (the race detector slows the modems
# below real time, and the matrices would take most of an hour there); here
# they run without it: the T.38 matrix, SIP's whole interop set (sofia-sip
# peer cases beyond the core, audio fallback after 488 with libspandsp's
# fax_state_t), the root package's audio interop matrix, and the service's
# audio fax over SIP.
start=$SECONDS
echo "== go test (interop matrices and real-time audio without -race)"
go test -count=1 -timeout 20m ./t38/...
go test -count=1 -timeout 20m -run 'Interop|Audio' ./sip
FAXKIT_AUDIO_FULL=1 go test -count=1 -timeout 20m -run 'TestAudio' .
go test -count=1 -timeout 10m -run 'TestBinarySIPWithSofia' ./cmd/faxkit
go test -count=1 -timeout 10m -run 'TestSIPAudioFax' ./examples/faxservice
echo "   (matrix run took $((SECONDS - start)) s)"

fuzztime=${FAXKIT_FUZZTIME:-3s}
if [ "$fuzztime" != "0" ]; then
	start=$SECONDS
	echo "== fuzz smoke: every target for $fuzztime"
	n=0
	for dir in $(go list -f '{{.Dir}}' ./...); do
		pkg=.${dir#"$PWD"}
		for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$dir"/*_test.go 2>/dev/null); do
			if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/faxkit-fuzz.log 2>&1; then
				# The Go fuzzing engine sometimes reports its own -fuzztime
				# deadline as a failure when a worker is mid-input as time
				# runs out; a real finding always writes its failing input.
				if grep -q 'context deadline exceeded' /tmp/faxkit-fuzz.log && ! grep -q 'Failing input written' /tmp/faxkit-fuzz.log; then
					echo "   fuzz $pkg $target: stopped by the engine's deadline with no finding"
				else
					echo "fuzz $pkg $target failed:"; cat /tmp/faxkit-fuzz.log; exit 1
				fi
			fi
			n=$((n + 1))
		done
	done
	echo "   ($n fuzz targets, $((SECONDS - start)) s)"
fi
echo "== all tests passed"
