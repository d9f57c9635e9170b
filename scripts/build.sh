# shellcheck shell=bash
# The three build trees, each set up once and rebuilt by ninja:
#   build/          the test build (it carries the test-only seccomp triggers)
#   build-release/  what `up` runs: a release build without them
#   build-asan/     clang with address and undefined-behaviour sanitizers,
#                   for the suites that exercise parsers and IPC

# build_tree DIR LOG-SUFFIX SETUP-FAILED BUILD-FAILED SETUP-COMMAND...
build_tree() {
	local dir=$1 sfx=$2 setup_failed=$3 build_failed=$4
	shift 4
	if [ ! -f "$dir/build.ninja" ]; then
		logged "meson-setup$sfx.log" 30 "$setup_failed" "$@"
	fi
	logged "ninja$sfx.log" 40 "$build_failed" ninja -C "$dir"
}

build_code() {
	build_tree build "" "meson setup failed" "build failed" \
		meson setup build --buildtype=debugoptimized -Dtest_triggers=true
}

build_release() {
	build_tree "$REL" -release "meson setup (release) failed" "release build failed" \
		meson setup "$REL" --buildtype=release -Dtest_triggers=false
}

build_asan() {
	build_tree build-asan -asan "meson setup (sanitizers) failed" "sanitizer build failed" \
		env CC=clang meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtest_triggers=true
}
