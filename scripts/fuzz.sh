# shellcheck shell=bash
# ./codeward fuzz [SECONDS]: every fuzz target of the third build tree,
# build-fuzz/ (clang, libFuzzer, address and undefined-behaviour sanitizers),
# run for SECONDS each. The targets are the tests of suite "fuzz" as meson
# lists them, so a new one is picked up with no change here; each test's
# argument is its checked-in corpus.
#
# libFuzzer writes new inputs to its first folder: a fresh temporary one, so
# the tree is never touched; the checked-in corpus is the second, read only.
# A target may have a dictionary <corpus>.dict and further libFuzzer flags,
# one a line, in <corpus>.options. A crash, leak, timeout or out-of-memory
# input is copied into the checked-in corpus (the replay tests fail on it
# until the bug is fixed) and the run fails.

build_fuzz() {
	command -v clang >/dev/null || die "fuzzing needs clang"
	build_tree build-fuzz -fuzz "meson setup (libFuzzer) failed" "libFuzzer build failed" \
		env CC=clang meson setup build-fuzz --buildtype=debug -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false
}

# every fuzz target: its name, its executable and its corpus, tab-separated
fuzz_targets() {
	meson introspect --tests build-fuzz | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == "fuzz" for s in t["suite"]):
        print("\t".join([t["name"], t["cmd"][0], t["cmd"][1]]))'
}

# fuzz_one NAME EXE CORPUS SECONDS LOG: one line on stdout; status 1 on a find
fuzz_one() {
	local name=$1 exe=$2 corpus=$3 secs=$4 log=$5 tmp out flags=() art rc=0
	tmp=$(mktemp -d)
	mkdir "$tmp/new"
	[ -f "$corpus.dict" ] && flags+=("-dict=$corpus.dict")
	[ -f "$corpus.options" ] && mapfile -t -O ${#flags[@]} flags < <(grep -v '^#' "$corpus.options")
	out=$tmp/out
	"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$tmp/" "${flags[@]}" "$tmp/new" "$corpus" >"$out" 2>&1 || rc=$?
	local runs cov
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$out" | tail -1 | cut -d' ' -f2) || true
	art=$(find "$tmp" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
	    -o -name 'timeout-*' -o -name 'oom-*' \) | head -1)
	local result=OK what="clean"
	if [ -n "$art" ]; then
		cp "$art" "$corpus/"
		result=FAIL what="FOUND $(basename "$art") -> ${corpus#"$TOP"/}/$(basename "$art")"
	elif [ "$rc" != 0 ]; then
		result=FAIL what="FAILED (exit $rc)"
	fi
	printf '%-22s %9s runs  cov %-5s  %s\n' "$name" "${runs:-?}" "${cov:-?}" "$what"
	if [ "$result" != OK ]; then
		grep -m1 -A12 -E '^==[0-9]+==(ERROR|WARNING)|runtime error|ALARM|out-of-memory' "$out" |
		    sed 's/^/    /' >&2 || tail -20 "$out" >&2
	fi
	printf '{"name": "%s (libFuzzer %s s)", "result": "%s"}\n' "$name" "$secs" "$result" >>"$log"
	rm -rf "$tmp"
	[ "$result" = OK ]
}

# fuzz_all SECONDS: every target in turn; the results also go to
# build-fuzz/meson-logs/fuzzlog.json, one JSON object a line as meson's
# test log (summary.py reads both)
fuzz_all() {
	local secs=$1 log=build-fuzz/meson-logs/fuzzlog.json rc=0 name exe corpus
	case "$secs" in '' | *[!0-9]*) die "usage: ./codeward fuzz [SECONDS]" ;; esac
	mkdir -p "$CACHE"
	build_fuzz
	: >"$log"
	while IFS=$'\t' read -r name exe corpus; do
		fuzz_one "$name" "$exe" "$corpus" "$secs" "$log" </dev/null || rc=1
	done < <(fuzz_targets)
	[ -s "$log" ] || die "no fuzz target found"
	return $rc
}
