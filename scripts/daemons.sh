# shellcheck shell=bash
# The deployed appliance: its configuration in $ETC (the policy, the API key
# and its hash; the policy may live elsewhere, $POLICY) and the daemons,
# started from the release build under codeward-supervise (supervise/main.c:
# a dead sockproxy, or the privd/frontd pair, restarted with backoff), with
# their pid files and the supervisor's supervise.status in $RUNDIR and their
# logs (supervise.log, sockproxy.log, privd.log) in $LOGDIR.

# The deployed policy, $POLICY, is the admin's. `up` makes it once, from the
# shipped default with the sandbox image pinned by id (and, for an $ETC other
# than /etc/codeward, the key hashes there), and never rewrites it. When the
# sandbox image is rebuilt, only the lines of [images] pinned to the id the
# image named `sandbox` had move to the new id (codeward-policy repin: each
# change printed, the file before it kept as $POLICY.prev); an admin's own
# image under another name is never touched. A policy that does not check
# stops `up` here, with its FILE:LINE errors, before anything starts.
# (codeward-policy of the test build: `up` builds it first)
deploy_policy() {
	local tmp etc out tool=$REL/policy/codeward-policy
	if [ ! -e "$POLICY" ]; then
		mkdir -p "$(dirname "$POLICY")"
		tmp=$(mktemp "$POLICY.XXXXXX")
		cp policy/default.policy "$tmp"
		"$tool" pin-images "$SANDBOX_ID" "$tmp" \
			|| { rm -f "$tmp"; die "cannot pin the sandbox image in the policy"; }
		etc=$(realpath -m "$ETC")
		if [ "$etc" != /etc/codeward ]; then
			"$tool" set auth keys "$etc/keys" "$tmp" \
				|| { rm -f "$tmp"; die "cannot set the key file in the policy"; }
		fi
		chmod 0644 "$tmp"
		mv "$tmp" "$POLICY"
		say "wrote $POLICY from policy/default.policy; it is yours now: edit it," \
			"then ./codeward policy check, ./codeward policy diff, and restart"
	fi
	"$tool" check "$POLICY" >/dev/null || die "$POLICY does not check (above): nothing started"
	out=$("$tool" repin sandbox "$SANDBOX_ID" "$POLICY") \
		|| die "cannot re-pin the sandbox image in $POLICY: nothing started"
	if [ -n "$out" ]; then
		say "the sandbox image changed; only its pins in $POLICY moved (the file before: $POLICY.prev):"
		printf '%s\n' "$out" >&2
	fi
	deploy_jail_profile
	say "policy $POLICY: $("$tool" check "$POLICY" | sed 's/^policy //')"
}

# The workers' seccomp profile (policy isolation jail; SECURITY.md, "Jail per
# execution"): jail/seccomp-worker.json, in the tree (jail/seccomp-jail.py's
# output over the engine's own default profile; tests/policy/
# test_jail_profile.py makes it again and holds it to the shipped pin).
# sockproxy reads it at start (--jail-seccomp) and refuses to start unless
# the policy's jail-seccomp pins its sha256; the shipped default carries
# that pin. Under isolation container it is neither read nor pinned.
JAIL_SECCOMP=$TOP/jail/seccomp-worker.json
JAIL_RUNSC_CAPS=SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP

# policy_value SECTION KEY [FILE]: KEY's value in [SECTION] of FILE, else
# $POLICY (read only; the file has checked, so one word, comments stripped)
policy_value() {
	awk -v sec="[$1]" -v key="$2" '
		{ sub(/#.*/, ""); }
		/^[ \t]*\[/ { gsub(/^[ \t]+|[ \t]+$/, ""); in_sec = ($0 == sec); next }
		in_sec && $1 == key { print $2; exit }' "${3:-$POLICY}"
}

# jail_profile_sum: sha256:HEX of $JAIL_SECCOMP
jail_profile_sum() {
	[ -s "$JAIL_SECCOMP" ] || die "no $JAIL_SECCOMP: the workers' seccomp profile"
	printf 'sha256:%s\n' "$(sha256sum "$JAIL_SECCOMP" | cut -d' ' -f1)"
}

# under isolation jail: the policy's jail-seccomp pinned to $JAIL_SECCOMP (a
# policy written before the profile was in the tree, or an older tree's, pins
# another); a pin that moves is printed, the policy before it kept as
# $POLICY.prev
deploy_jail_profile() {
	local sum old
	[ "$(policy_value sandbox isolation)" = jail ] || return 0
	sum=$(jail_profile_sum)
	old=$(policy_value sandbox jail-seccomp)
	[ "$old" = "$sum" ] && return 0
	cp -p "$POLICY" "$POLICY.prev"
	"$REL"/policy/codeward-policy set sandbox jail-seccomp "$sum" "$POLICY" \
		|| die "cannot pin the workers' seccomp profile in $POLICY: nothing started"
	say "isolation jail: the workers' seccomp profile $JAIL_SECCOMP moved;" \
		"jail-seccomp $old -> $sum (the policy before: $POLICY.prev)"
}

# ./codeward policy isolation jail|container: the deployed policy's isolation
# set (under jail together with the pin of $JAIL_SECCOMP, which the policy
# needs, and under runtime runsc with jail-runsc-caps, which it needs there
# and refuses elsewhere: one edit, only its result checked; a line whose
# value stays is left with its comment), the file before
# kept as $POLICY.prev; in force at the next `up` (sockproxy reads the
# profile only at its start)
policy_isolation() {
	local set=() caps=none sum
	[ -x "$REL"/policy/codeward-policy ] || build_code
	[ -e "$POLICY" ] || die "no $POLICY yet: ./codeward up writes it"
	if [ "$1" = jail ]; then
		sum=$(jail_profile_sum)
		[ "$(policy_value sandbox jail-seccomp)" = "$sum" ] || set=(sandbox jail-seccomp "$sum")
		if [ "$(policy_value sandbox runtime)" = runsc ]; then
			caps=$JAIL_RUNSC_CAPS
			# gVisor's threads in a worker grow with its jobs: the
			# parser wants 1024 at least (policy/README.md, pids)
			[ "$(policy_value sandbox pids)" -ge 1024 ] || set+=(sandbox pids 1024)
		fi
	fi
	# only the lines whose value changes (a rewritten line loses its comment)
	[ "$(policy_value sandbox jail-runsc-caps)" = "$caps" ] || set+=(sandbox jail-runsc-caps "$caps")
	[ "$(policy_value sandbox isolation)" = "$1" ] || set+=(sandbox isolation "$1")
	if [ ${#set[@]} -eq 0 ]; then
		say "policy isolation $1: $POLICY says so already"
		return 0
	fi
	cp -p "$POLICY" "$POLICY.prev"
	"$REL"/policy/codeward-policy set "${set[@]}" "$POLICY" \
		|| die "policy isolation: $POLICY left as it was"
	say "policy isolation $1 in $POLICY (the file before: $POLICY.prev);" \
		"./codeward down && ./codeward up puts it in force"
}

# $ETC/api-key (the key, 0600) and $ETC/keys (its hash): $CODEWARD_API_KEY,
# or a key made once
ensure_key() {
	mkdir -p "$ETC"
	if [ -n "${CODEWARD_API_KEY:-}" ]; then
		printf '%s\n' "$CODEWARD_API_KEY" | "$REL"/frontd/codeward-keytool hash >"$ETC/keys.tmp"
		mv "$ETC/keys.tmp" "$ETC/keys"
		printf '%s\n' "$CODEWARD_API_KEY" >"$ETC/api-key"
	elif [ ! -s "$ETC/api-key" ]; then
		"$REL"/frontd/codeward-keytool new >"$ETC/api-key.tmp"
		"$REL"/frontd/codeward-keytool hash <"$ETC/api-key.tmp" >"$ETC/keys.tmp"
		mv "$ETC/keys.tmp" "$ETC/keys"
		mv "$ETC/api-key.tmp" "$ETC/api-key"
	fi
	chmod 0600 "$ETC/api-key"
	chmod 0600 "$ETC/keys"	# frontd reads it as root, before its drop
}

# a new key, printed once; its hash added to $ETC/keys
key_add() {
	local key
	[ -x "$REL"/frontd/codeward-keytool ] || build_code
	mkdir -p "$ETC"
	key=$("$REL"/frontd/codeward-keytool new)
	(umask 077; printf '%s\n' "$key" | "$REL"/frontd/codeward-keytool hash >>"$ETC/keys")
	chmod 0600 "$ETC/keys"
	printf '%s\n' "$key"
	say "key added; only its hash is stored in $ETC/keys (restart to load it)"
}

running() { [ -f "$RUNDIR/$1.pid" ] && kill -0 "$(cat "$RUNDIR/$1.pid")" 2>/dev/null; }

# codeward-supervise starts sockproxy, waits for its socket, starts privd
# (which spawns frontd), and restarts whichever dies; `up` waits for health.
start_daemons() {
	local jail=
	# the inbox (policy inputs): frontd's, inside the store so that a link
	# never crosses file systems; it must exist before sockproxy binds it
	mkdir -p "$RUNDIR" "$LOGDIR" "$STATE" "$STATE/inbox"
	chmod 0755 "$RUNDIR"
	[ "$(policy_value sandbox isolation)" = jail ] && jail=1
	if ! running supervise; then
		# daemons left by a killed supervisor, or started by an older `up`
		stop_one privd 100
		stop_one sockproxy 100
		setsid "$REL"/supervise/codeward-supervise --run "$RUNDIR" --log "$LOGDIR" \
			--wait-socket "$RUNDIR/sockproxy.sock" --pair privd="$TOP/$REL/frontd/codeward-frontd" \
			--listen "127.0.0.1:$PORT" \
			-- "$TOP/$REL"/sockproxy/codeward-sockproxy --listen "$RUNDIR/sockproxy.sock" \
			--upstream "$DOCKER_SOCK" --policy "$POLICY" --instance "$INSTANCE" \
			${jail:+--jail-seccomp "$JAIL_SECCOMP"} --inbox "$STATE/inbox" \
			-- "$TOP/$REL"/privd/codeward-privd --policy "$POLICY" \
			--sockproxy "$RUNDIR/sockproxy.sock" --frontd "$TOP/$REL/frontd/codeward-frontd" \
			--listen "127.0.0.1:$PORT" --store "$STATE" --inbox "$STATE/inbox" \
			--storeproxy "$TOP/$REL/storeproxy/codeward-storeproxy" \
			${CODEWARD_NODE:+--node "$CODEWARD_NODE"} \
			>>"$LOGDIR/supervise.log" 2>&1 </dev/null &
		echo $! >"$RUNDIR/supervise.pid"
	fi
	for _ in $(seq 1 150); do
		curl -fsS "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && return 0
		running supervise || break
		sleep 0.1
	done
	tail -n 20 "$LOGDIR/supervise.log" "$LOGDIR/privd.log" "$LOGDIR/sockproxy.log" >&2 || true
	die "codeward did not become healthy on 127.0.0.1:$PORT"
}

# SIGTERM to a pid from $RUNDIR/$1.pid, up to $2 tenths of a second, then SIGKILL
stop_one() {
	local pid
	[ -f "$RUNDIR/$1.pid" ] || return 0
	pid=$(cat "$RUNDIR/$1.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 "$2"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUNDIR/$1.pid"
}

stop_daemons() {
	local d ids
	# the supervisor stops privd (and frontd with it), then sockproxy, each
	# within 10 s; the daemons' own pid files are left only if it was killed
	stop_one supervise 300
	for d in privd sockproxy; do stop_one "$d" 100; done
	rm -f "$RUNDIR/sockproxy.sock"
	# Whatever the daemons left (a crash mid-run), by label.
	if engine_answers; then
		ids=$("$DOCKER" ps -aq --filter "label=codeward.instance=$INSTANCE")
		# shellcheck disable=SC2086 # one word per id
		[ -n "$ids" ] && "$DOCKER" rm -fv $ids >/dev/null
	fi
	return 0
}

# Send a daemon SIGHUP and wait for its log to say how the reload went:
# the line matching $2 (0), or 'reload refused' (die, with the daemon's why).
reload_one() {
	local d=$1 want=$2 log=$LOGDIR/$1.log size new
	size=$(stat -L -c %s "$log")
	kill -HUP "$(cat "$RUNDIR/$d.pid")"
	for _ in $(seq 1 300); do
		new=$(tail -c +$((size + 1)) "$log")
		grep -q -- "$want" <<<"$new" && return 0
		if grep -q 'reload refused' <<<"$new"; then
			grep 'reload refused' <<<"$new" >&2
			die "policy apply: $d refused the policy"
		fi
		sleep 0.1
	done
	die "policy apply: $d did not report the policy within 30 s"
}

# ./codeward policy apply: the deployed policy, checked, then in force in
# both daemons: sockproxy first (it refuses what it cannot enforce, such as
# an image the engine lacks; then nothing changed), then privd, which hands
# it to frontd. Done when frontd says the policy is in force.
policy_apply() {
	local f=$POLICY id
	[ -x "$REL"/policy/codeward-policy ] || build_code
	"$REL"/policy/codeward-policy check "$f" >/dev/null \
		|| die "policy apply: $f does not check; nothing was reloaded"
	if ! running sockproxy || ! running privd; then die "policy apply: codeward is not running"; fi
	id=sha256:$(sha256sum "$f" | cut -d' ' -f1)
	reload_one sockproxy "policy $id \(in force\|unchanged\)"
	reload_one privd "frontd: policy $id in force\|reload: policy $id unchanged"
	say "policy apply: $id in force"
}

# each daemon's pid, and its restarts and last exit from the supervisor's
# status file (tab-separated: name, pid, started, restarts, last exit)
daemons_status() {
	local d more
	for d in sockproxy privd; do
		if running "$d"; then
			more=$(awk -F'\t' -v d="$d" '$1 == d { printf ", started %s, restarts %s, last exit: %s", $3, $4, $5 }' \
				"$RUNDIR/supervise.status" 2>/dev/null || true)
			echo "$d: running (pid $(cat "$RUNDIR/$d.pid")$more)"
		else
			echo "$d: stopped"
		fi
	done
	if running supervise; then echo "supervise: running (pid $(cat "$RUNDIR/supervise.pid"))"; fi
}
