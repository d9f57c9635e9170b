# shellcheck shell=bash
# ./codeward test: everything `up` needs, the sanitizer and libFuzzer builds,
# LibreChat's client and s3rver (storeproxy's tests), then every suite of
# build/, the unit and fuzz suites of build-asan/ and every fuzz target under libFuzzer for FUZZ_SECONDS
# (scripts/fuzz.sh), summed up in one plain line (summary.py).

# libFuzzer's time per target beyond the corpus replay
FUZZ_SECONDS=30

# Sandboxes of an earlier test run that was itself killed (its appliances
# never reached their stop): every test appliance's instance name starts with
# "test-", and the benchmark's floor container has a label of its own.
sweep_test_leftovers() {
	local ids
	ids=$({ "$DOCKER" ps -aq --filter label=codeward.bench; "$DOCKER" ps -a \
	    --filter label=codeward.instance --format '{{.ID}} {{.Label "codeward.instance"}}' |
	    awk '$2 ~ /^test-/ { print $1 }'; } | sort -u)
	[ -n "$ids" ] || return 0
	say "removing $(echo "$ids" | wc -l) sandbox(es) an interrupted test run left"
	echo "$ids" | xargs "$DOCKER" rm -f -v >/dev/null || true
}

run_tests() {
	# A setup that fails is a failed run, with the summary line all the same.
	if ! (prepare && build_asan && build_fuzz && ensure_client && ensure_s3rver); then
		say "setup failed: no test could run"
		echo "0 passed, 1 failed"
		return 1
	fi
	export CODEWARD_SANDBOX_IMAGE
	CODEWARD_SANDBOX_IMAGE=${CODEWARD_SANDBOX_IMAGE:-$(image_id codeward-sandbox:current)}
	export CODEWARD_POLICY_TEMPLATE="$TOP/policy/default.policy"
	export CODEWARD_NPM_CLIENT="$CLIENT_DIR"
	export CODEWARD_S3RVER="$S3RVER_DIR"
	local rc=0
	sweep_test_leftovers
	rm -f build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
	    build-fuzz/meson-logs/fuzzlog.json build/meson-logs/engine-restart-engine.json
	meson test -C build --print-errorlogs --num-processes 2 \
	    --no-suite engine-restart || rc=1
	# The sanitizer build runs the suites that exercise parsers and IPC, and
	# its daemons run whole-appliance suites (asan: tests/meson.build).
	meson test -C build-asan --print-errorlogs --suite unit --suite fuzz --suite asan || rc=1
	# each target one test: a find fails it (and lands in its corpus)
	(fuzz_all "$FUZZ_SECONDS") || rc=1
	# last and alone: it stops dockerd and starts it again (meson names its
	# log after --logbase and the setup: engine-restart-engine.json)
	meson test -C build --print-errorlogs --setup engine \
	    --suite engine-restart --logbase engine-restart || rc=1
	python3 scripts/summary.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
	    build-fuzz/meson-logs/fuzzlog.json build/meson-logs/engine-restart-engine.json || rc=1
	return $rc
}
