#!/usr/bin/env bash
# Benchmarks faxkit's t4 codecs against the C codecs in the same run and
# prints the medians side by side.
#
#   scripts/bench-t4.sh            # 5 rounds, 15 C repetitions per measurement
#   COUNT=10 REPS=31 scripts/bench-t4.sh
#   BENCHTIME=0.2s COUNT=3 REPS=5 scripts/bench-t4.sh   # quicker
#   OUT=/tmp/b REPORT_ONLY=1 scripts/bench-t4.sh   # the tables again, from a kept $OUT
#
# It builds t4/cref/bench.c (libtiff + libspandsp 0.0.6, see t4/cref/README.md)
# and the t4 test binary into a temporary directory, then runs COUNT rounds,
# each of: the C program on the eight CCITT test documents and on the
# realistic corpus (t4/corpus_test.go: blank, near-blank, text, photo,
# halftone, ECG strip, ID-card copy, form; written as PBM by TestWriteBenchPages),
# then `-bench '^Benchmark(Encode|Decode|AppendPage|ReadPage)$' -count 1` of
# the Go benchmarks. C and Go take turns so that both see the same load. It
# prints, per compression, the median MB/s (1e6 raw page bytes per second,
# Go's b.SetBytes unit) of Go, libtiff and spandsp, aggregated over the eight
# documents (total raw bytes / sum of the per-document medians), then per
# document, then per corpus page the median CPU time and the median of the
# same-round ratios Go / best C. Two timings: the CPU time of the
# benchmarking thread (Go's
# cpu-ns/op metric; CLOCK_THREAD_CPUTIME_ID in C), which is what to compare
# on a shared, loaded machine, and the wall clock. Raw outputs are kept in
# $OUT (default: a temporary directory).
#
# Needs: gcc, pkg-config, libtiff-dev, libspandsp-dev (apt-get install ...),
# and the CCITT pages in testdata/ccitt (or CCITT_DIR=...).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-5}
REPS=${REPS:-15}
BENCHTIME=${BENCHTIME:-1s}
CCITT_DIR=${CCITT_DIR:-testdata/ccitt}
OUT=${OUT:-$(mktemp -d /tmp/bench-t4.XXXXXX)}
mkdir -p "$OUT"

pages=()
for i in 1 2 3 4 5 6 7 8; do
	f="$CCITT_DIR/itu$i.tif"
	[ -f "$f" ] || { echo "bench-t4: missing $f (set CCITT_DIR)" >&2; exit 1; }
	pages+=("$f")
done

for tool in cc pkg-config; do
	command -v "$tool" >/dev/null || { echo "bench-t4: $tool not found (apt-get install gcc pkg-config)" >&2; exit 1; }
done
if ! flags=$(pkg-config --cflags --libs libtiff-4 spandsp 2>/dev/null); then
	echo "bench-t4: libtiff-4 or spandsp unknown to pkg-config (apt-get install libtiff-dev libspandsp-dev)" >&2
	exit 1
fi

go_ok=1
loaded=0
if [ "${REPORT_ONLY:-0}" != 1 ]; then
echo "== machine: $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "== loadavg before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "== building t4/cref/bench.c"
# shellcheck disable=SC2086
cc -O2 -Wall -o "$OUT/cref-bench" t4/cref/bench.c $flags -lm

echo "== the realistic corpus: FAXKIT_T4_PBM_DIR=$OUT/pages go test ./t4 -run TestWriteBenchPages"
mkdir -p "$OUT/pages"
FAXKIT_T4_PBM_DIR="$OUT/pages" go test -count=1 -run TestWriteBenchPages ./t4 >/dev/null
corpus=()
for n in blank nearblank text photo halftone ecg idcard form; do
	corpus+=("$OUT/pages/$n.pbm")
done
# Pages beside the corpus (t4/corpus_test.go stressPages): reported, not summed.
for n in black lines speckle bayer inverted noisytext standard; do
	corpus+=("$OUT/pages/$n.pbm")
done

# C and Go run in turns, COUNT rounds of each: on a shared machine the load
# (and with it the CPU time a thread needs for the same work: caches and the
# sibling hardware thread are shared) drifts over minutes, so C measured
# once before all the Go runs is not comparable with the last Go runs.
# Medians are taken over the rounds; the corpus table adds the median over
# rounds of the same-round ratio Go / best C.
gobench='^Benchmark(Encode|Decode|AppendPage|ReadPage)$'
echo "== $COUNT rounds of: $OUT/cref-bench -n $REPS (8 CCITT documents, then 8 corpus and 7 other pages),"
echo "   go test -run XXX -bench '$gobench' -benchtime $BENCHTIME -count 1 ./t4"
go test -c -o "$OUT/t4.test" ./t4
: >"$OUT/cref.txt"; : >"$OUT/cref-corpus.txt"; : >"$OUT/go.txt"
go_ok=1
for round in $(seq "$COUNT"); do
	echo "   round $round/$COUNT, loadavg $(cut -d' ' -f1 /proc/loadavg 2>/dev/null)"
	echo "ROUND $round" >>"$OUT/cref.txt"; echo "ROUND $round" >>"$OUT/cref-corpus.txt"; echo "ROUND $round" >>"$OUT/go.txt"
	"$OUT/cref-bench" -n "$REPS" "${pages[@]}" >>"$OUT/cref.txt"
	"$OUT/cref-bench" -n "$REPS" "${corpus[@]}" >>"$OUT/cref-corpus.txt"
	if ! (cd t4 && "$OUT/t4.test" -test.run XXX -test.bench "$gobench" -test.benchtime "$BENCHTIME" -test.benchmem -test.count 1) >>"$OUT/go.txt" 2>&1; then
		go_ok=0
		echo "   (go test failed; see $OUT/go.txt)"
	fi
done
grep -m1 '^#' "$OUT/cref.txt"
grep -h '^SKIP' "$OUT/cref.txt" "$OUT/cref-corpus.txt" | sort -u | sed 's/^/   /' || true
if ! grep -Eq '^Benchmark(Encode|Decode)/(MH|MR|MMR)' "$OUT/go.txt"; then
	go_ok=0
	echo "   NOTE: no BenchmarkEncode/{MH,MR,MMR} or BenchmarkDecode/{MH,MR,MMR} results in ./t4 yet;"
	echo "         the Go column shows '-' (the C reference figures stand on their own)."
fi
grep -E '^(goos|goarch|cpu|pkg):' "$OUT/go.txt" | sed 's/^/   /' || true
echo "== loadavg after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
loaded=$(awk -v n="$(nproc)" '{ print ($1 > n) ? 1 : 0 }' /proc/loadavg 2>/dev/null || echo 0)
echo

fi

awk -v go_ok="$go_ok" -v loaded="$loaded" '
function median(key,    n, i, j, v, t) {
	n = cnt[key]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	if (n % 2) return v[(n + 1) / 2]
	return (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(key, x) { if (x != "") { cnt[key]++; val[key, cnt[key]] = x } }
function fmt(x) { return x == "" ? "-" : sprintf("%.1f", x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
FNR == 1 { file++ }
# C reference: RESULT lib op comp page wallMB/s wallns coded cpuMB/s cpuns
file == 1 && $1 == "RESULT" {
	lib = $2; op = $3; comp = $4; page = $5
	add("cw" SUBSEP lib SUBSEP op SUBSEP comp SUBSEP page, $6); add("cc" SUBSEP lib SUBSEP op SUBSEP comp SUBSEP page, $9)
	ckeys[lib SUBSEP op SUBSEP comp SUBSEP page] = 1
	coded[lib, comp, page] = $8
	docs[page] = 1
	next
}
file == 1 && $1 == "TOTAL" { add("tw" SUBSEP $2 SUBSEP $3 SUBSEP $4, $6); add("tc" SUBSEP $2 SUBSEP $3 SUBSEP $4, $7); tkeys[$2 SUBSEP $3 SUBSEP $4] = 1; next }
# Go: BenchmarkEncode/MH[/sub]-N  iters  ns/op  MB/s  [cpu-ns/op] ...
file == 2 && $1 ~ /^Benchmark(Encode|Decode)\/(MH|MR|MMR)([\/-]|$)/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	split(name, part, "/")
	op = (part[1] == "BenchmarkEncode") ? "encode" : "decode"
	comp = part[2]
	s = ""
	for (i = 3; i in part; i++) s = s (s == "" ? "" : "/") part[i]
	ns = ""; mbs = ""; cpu = ""
	for (i = 2; i <= NF; i++) {
		if ($i == "ns/op") ns = $(i - 1)
		if ($i == "MB/s") mbs = $(i - 1)
		if ($i == "cpu-ns/op") cpu = $(i - 1)
	}
	if (mbs == "" || ns == "") next
	bytes = mbs * ns / 1e3
	key = op SUBSEP comp SUBSEP s
	if (!(key in seen)) { seen[key] = 1; gsubs[op, comp] = gsubs[op, comp] " " s }
	add("wall" SUBSEP key, mbs); add("nswall" SUBSEP key, ns)
	if (cpu != "" && cpu > 0) { add("cpu" SUBSEP key, bytes / cpu * 1e3); add("nscpu" SUBSEP key, cpu) }
	next
}
END {
	for (k in ckeys) { c["wall" SUBSEP k] = median("cw" SUBSEP k); c["cpu" SUBSEP k] = median("cc" SUBSEP k) }
	for (k in tkeys) { ctot["wall" SUBSEP k] = median("tw" SUBSEP k); ctot["cpu" SUBSEP k] = median("tc" SUBSEP k) }
	nops = split("encode decode", ops, " "); ncomp = split("MH MR MMR", comps, " "); nm = split("cpu wall", metrics, " ")
	# Go aggregate per (metric, op, comp): with a sub-benchmark per CCITT document,
	# total bytes / total median time; else the benchmark without sub-name.
	for (mi = 1; mi <= nm; mi++) for (o = 1; o <= nops; o++) for (k = 1; k <= ncomp; k++) {
		m = metrics[mi]; op = ops[o]; comp = comps[k]
		n = split(gsubs[op, comp], subs, " ")
		bytes = 0; tns = 0; ndoc = 0; whole = ""
		for (i = 1; i <= n; i++) {
			sname = subs[i]; key = op SUBSEP comp SUBSEP sname
			v = median(m SUBSEP key); mns = median("ns" m SUBSEP key)
			if (v == "") continue
			if (match(sname, /itu[1-8]/)) {
				d = substr(sname, RSTART, RLENGTH)
				g[m, op, comp, d] = v
				ndoc++; bytes += v * mns / 1e3; tns += mns
			} else if (sname == "") {
				whole = v
			} else {
				other[m, op, comp, sname] = v; if (mi == 1) others[op, comp] = others[op, comp] " " sname
			}
		}
		if (ndoc == 8) gtot[m, op, comp] = bytes / tns * 1e3
		else if (whole != "") gtot[m, op, comp] = whole
	}
	print "Medians in MB/s of raw page bytes (1728x2376/8 = 513216 bytes per page); higher is faster."
	print "Aggregate over the 8 CCITT documents: total raw bytes / sum of per-document median times."
	if (loaded) print "The machine was loaded (load average above the CPU count): wall-clock figures include waiting for a core; compare the CPU-time table."
	for (mi = 1; mi <= nm; mi++) {
		m = metrics[mi]
		print ""
		print (m == "cpu") ? "By CPU time of the benchmarking thread (Go: cpu-ns/op; C: CLOCK_THREAD_CPUTIME_ID):" : "By wall-clock time:"
		printf "%-7s %-4s %10s %10s %10s %11s %11s\n", "op", "comp", "Go", "libtiff", "spandsp", "Go/libtiff", "Go/spandsp"
		for (o = 1; o <= nops; o++) for (k = 1; k <= ncomp; k++) {
			op = ops[o]; comp = comps[k]
			gv = ((m, op, comp) in gtot) ? gtot[m, op, comp] : ""
			lt = ctot[m, "libtiff", op, comp]; sp = ctot[m, "spandsp", op, comp]
			printf "%-7s %-4s %10s %10s %10s %11s %11s\n", op, comp, fmt(gv), fmt(lt), fmt(sp), ratio(gv, lt), ratio(gv, sp)
		}
	}
	print ""
	print "Per document, by CPU time (MB/s); coded bytes: libtiff / spandsp (spandsp adds RTC or EOFB):"
	printf "%-7s %-4s %-6s %10s %10s %10s %16s\n", "op", "comp", "page", "Go", "libtiff", "spandsp", "coded bytes"
	for (o = 1; o <= nops; o++) for (k = 1; k <= ncomp; k++) {
		op = ops[o]; comp = comps[k]
		for (d = 1; d <= 8; d++) {
			p = "itu" d
			if (!(p in docs)) continue
			gv = (("cpu", op, comp, p) in g) ? g["cpu", op, comp, p] : ""
			printf "%-7s %-4s %-6s %10s %10s %10s %16s\n", op, comp, p, fmt(gv), fmt(c["cpu", "libtiff", op, comp, p]), fmt(c["cpu", "spandsp", op, comp, p]), coded["libtiff", comp, p] " / " coded["spandsp", comp, p]
		}
		n = split(others[op, comp], subs, " ")
		for (i = 1; i <= n; i++) printf "%-7s %-4s %-6s %10s %10s %10s\n", op, comp, subs[i], fmt(other["cpu", op, comp, subs[i]]), "-", "-"
	}
}
' "$OUT/cref.txt" "$OUT/go.txt"

# The realistic corpus: per page and compression, the median CPU time per
# page of Go (Encoder.WriteRow per row / Encoder.AppendPage; Decoder.ReadRow
# per row / Decoder.ReadPage) and of the C codecs, and Go's time over the
# best C codec's (below 1: Go is faster). Corpus: the sum over the pages.
# Rows marked + are the pages beside the corpus, not in its sum.
echo
awk '
function median(key,    n, i, j, v, t) {
	n = cnt[key]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	if (n % 2) return v[(n + 1) / 2]
	return (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(key, x) { if (x != "") { cnt[key]++; val[key, cnt[key]] = x } }
function med(v, n,    i, j, t) {
	if (n == 0) return "-"
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return sprintf("%.2f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
}
function us(x) { return x == "" ? "-" : sprintf("%.0f", x / 1e3) }
function r(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
FNR == 1 { file++ }
$1 == "ROUND" { round = $2; if (round > nr) nr = round; next }
file == 1 && $1 == "RESULT" { c[$2, $3, $4, $5, round] = $10; add("c" SUBSEP $2 SUBSEP $3 SUBSEP $4 SUBSEP $5, $10); next }
file == 1 && $1 == "SKIP" { skip[$2, $3, $4, $5] = 1; next }
file == 2 && $1 ~ /^Benchmark(Encode|Decode|AppendPage|ReadPage)\/(MH|MR|MMR)\// {
	name = $1; sub(/-[0-9]+$/, "", name); split(name, part, "/")
	for (i = 2; i <= NF; i++) if ($i == "cpu-ns/op") { g[part[1], part[2], part[3], round] = $(i - 1); add(part[1] SUBSEP part[2] SUBSEP part[3], $(i - 1)) }
	next
}
# best C of one round (or, with round 0, of the medians)
function bestc(op, comp, p, rd,    lt, sp, best) {
	if (rd == 0) { lt = median("c" SUBSEP "libtiff" SUBSEP op SUBSEP comp SUBSEP p); sp = median("c" SUBSEP "spandsp" SUBSEP op SUBSEP comp SUBSEP p) }
	else { lt = c["libtiff", op, comp, p, rd]; sp = c["spandsp", op, comp, p, rd] }
	best = lt; if (sp != "" && (best == "" || sp < best)) best = sp
	return best
}
END {
	np = split("blank nearblank text photo halftone ecg idcard form", pg, " ")
	nx = split("black lines speckle bayer inverted noisytext standard", xp, " ")
	nc = split("MH MR MMR", comps, " ")
	for (o = 1; o <= 2; o++) {
		op = (o == 1) ? "encode" : "decode"
		a = (o == 1) ? "BenchmarkEncode" : "BenchmarkDecode"
		b = (o == 1) ? "BenchmarkAppendPage" : "BenchmarkReadPage"
		printf "Corpus %s, median CPU us per A4 fine page over %d rounds (Go: %s / %s); ratios: median of the same-round Go / best C:\n", op, nr, (o == 1) ? "WriteRow" : "ReadRow", (o == 1) ? "AppendPage" : "ReadPage"
		printf "%-4s %-10s %9s %9s %9s %9s %10s %10s\n", "comp", "page", "Go rows", "Go page", "libtiff", "spandsp", "rows/bestC", "page/bestC"
		for (k = 1; k <= nc; k++) {
			comp = comps[k]
			for (rd = 1; rd <= nr; rd++) { ta[rd] = 0; tb[rd] = 0; tc[rd] = 0; ok[rd] = 1 }
			for (i = 1; i <= np; i++) {
				p = pg[i]
				ga = median(a SUBSEP comp SUBSEP p); gb = median(b SUBSEP comp SUBSEP p)
				lt = median("c" SUBSEP "libtiff" SUBSEP op SUBSEP comp SUBSEP p); sp = median("c" SUBSEP "spandsp" SUBSEP op SUBSEP comp SUBSEP p)
				delete ra; delete rb; na = 0
				for (rd = 1; rd <= nr; rd++) {
					x = g[a, comp, p, rd]; y = g[b, comp, p, rd]; best = bestc(op, comp, p, rd)
					if (x == "" || y == "" || best == "") { ok[rd] = 0; continue }
					na++; ra[na] = x / best; rb[na] = y / best
					ta[rd] += x; tb[rd] += y; tc[rd] += best
				}
				printf "%-4s %-10s %9s %9s %9s %9s %10s %10s\n", comp, p, us(ga), us(gb), us(lt), (("spandsp", op, comp, p) in skip) ? "skip" : us(sp), med(ra, na), med(rb, na)
			}
			delete ra; delete rb; na = 0; sa = 0; sb = 0
			for (rd = 1; rd <= nr; rd++) if (ok[rd] && tc[rd] > 0) { na++; ra[na] = ta[rd] / tc[rd]; rb[na] = tb[rd] / tc[rd]; sa += ta[rd]; sb += tb[rd] }
			printf "%-4s %-10s %9s %9s %9s %9s %10s %10s\n", comp, "corpus", na ? us(sa / na) : "-", na ? us(sb / na) : "-", "", "", med(ra, na), med(rb, na)
			for (i = 1; i <= nx; i++) {
				p = xp[i]
				ga = median(a SUBSEP comp SUBSEP p); gb = median(b SUBSEP comp SUBSEP p)
				if (ga == "" && gb == "") continue
				lt = median("c" SUBSEP "libtiff" SUBSEP op SUBSEP comp SUBSEP p); sp = median("c" SUBSEP "spandsp" SUBSEP op SUBSEP comp SUBSEP p)
				delete ra; delete rb; na = 0
				for (rd = 1; rd <= nr; rd++) {
					x = g[a, comp, p, rd]; y = g[b, comp, p, rd]; best = bestc(op, comp, p, rd)
					if (x == "" || y == "" || best == "") continue
					na++; ra[na] = x / best; rb[na] = y / best
				}
				printf "%-4s %-10s %9s %9s %9s %9s %10s %10s\n", comp, "+" p, us(ga), us(gb), us(lt), (("spandsp", op, comp, p) in skip) ? "skip" : us(sp), med(ra, na), med(rb, na)
			}
		}
		print ""
	}
}' "$OUT/cref-corpus.txt" "$OUT/go.txt"
echo "raw outputs: $OUT/cref.txt $OUT/cref-corpus.txt $OUT/go.txt"
