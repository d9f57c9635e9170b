# shellcheck shell=bash
# The two build trees, each set up once and rebuilt by ninja:
#   build/          the release build: what `up` runs and what the suites test
#                   (no test hook is compiled into the daemons)
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
	# a tree set up by an earlier version (another build type, the retired
	# test_triggers option) is set up again
	if [ -f build/build.ninja ] && { ! grep -qx 'buildtype = release' \
	    build/meson-private/cmd_line.txt || grep -q test_triggers \
	    build/meson-private/cmd_line.txt; }; then
		rm -rf build
	fi
	build_tree build "" "meson setup failed" "build failed" \
		meson setup build --buildtype=release
}

build_asan() {
	if [ -f build-asan/build.ninja ] && grep -q test_triggers build-asan/meson-private/cmd_line.txt; then
		rm -rf build-asan
	fi
	build_tree build-asan -asan "meson setup (sanitizers) failed" "sanitizer build failed" \
		env CC=clang meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false
}
