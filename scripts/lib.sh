# shellcheck shell=bash
# What every part of ./codeward uses: messages, the root check, and running a
# step with its output in a log of $CACHE, shown only when the step fails.

say() { printf 'codeward: %s\n' "$*" >&2; }
die() { printf 'codeward: error: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts the engine)"; }

# logged LOG LINES MESSAGE COMMAND...: COMMAND's output into $CACHE/LOG; if
# it fails, the last LINES lines of the log and MESSAGE
logged() {
	local log=$CACHE/$1 lines=$2 msg=$3
	shift 3
	"$@" >"$log" 2>&1 || { tail -"$lines" "$log" >&2; die "$msg"; }
}
