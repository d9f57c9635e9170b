# shellcheck shell=bash
# Scale-out on one machine: CODEWARD_NODES=N (2 to 9) ./codeward up starts N
# appliances (node1..nodeN), one S3-compatible server for their files
# (s3rver, scripts/client.sh) and HAProxy in front of them on $PORT
# (README.md, "Scale-out"). Without it, or with 1, nothing here runs.
#
# Node I is a whole `up` of its own (daemons.sh's start_daemons, run in a
# subshell with these settings moved): instance label $INSTANCE-nodeI, port
# $PORT+I on 127.0.0.1, state, run and log directories $STATE/nodeI,
# $RUNDIR/nodeI, $LOGDIR/nodeI, privd's --node nodeI. All of them run one
# policy, $NODES_POLICY: the deployed policy copied at each up with its
# [store] moved to s3 (the deployed one stays the admin's, untouched), so
# they share the API keys and every limit. s3rver keeps its bucket in
# $STATE/s3rver on $PORT+N+1; its one key pair (S3RVER/S3RVER, s3rver's
# own) in $ETC/s3-credentials. HAProxy's configuration is
# scripts/haproxy.cfg.in rendered into $RUNDIR/haproxy.cfg; its log is
# $LOGDIR/haproxy.log, s3rver's $LOGDIR/s3rver.log.

NODES=${CODEWARD_NODES:-1}
NODES_POLICY=$ETC/nodes.policy
S3_BUCKET=codeward
S3_CREDS=$ETC/s3-credentials
HAPROXY=/usr/sbin/haproxy
# the appliance's own settings, before a node's subshell moves them
BASE_PORT=$PORT BASE_STATE=$STATE BASE_RUNDIR=$RUNDIR BASE_LOGDIR=$LOGDIR
BASE_INSTANCE=$INSTANCE

# nodes_count up|running: $NODES set to how many nodes this command is
# about; a `down` or `status` without CODEWARD_NODES finds the count the last
# `up` left in $RUNDIR/nodes; an `up` of another count than the running one
# is refused
nodes_count() {
	local n=$NODES up=
	[ -s "$BASE_RUNDIR/nodes" ] && up=$(cat "$BASE_RUNDIR/nodes")
	if [ "${1:-}" = up ]; then
		[ -z "$up" ] || [ "$up" = "$n" ] \
			|| die "$up nodes are up: ./codeward down first (with no CODEWARD_NODES)"
	elif [ -z "${CODEWARD_NODES:-}" ] && [ -n "$up" ]; then
		n=$up
	fi
	[[ $n =~ ^[1-9]$ ]] || die "CODEWARD_NODES=$n: a number from 1 to 9"
	NODES=$n
}

# node_env I: this (sub)shell's settings moved to node I's
node_env() {
	local node=node$1
	# privd's --node (daemons.sh's start_daemons reads it)
	# shellcheck disable=SC2034
	CODEWARD_NODE=$node
	PORT=$((BASE_PORT + $1))
	STATE=$BASE_STATE/$node
	RUNDIR=$BASE_RUNDIR/$node
	LOGDIR=$BASE_LOGDIR/$node
	INSTANCE=$BASE_INSTANCE-$node
	POLICY=$NODES_POLICY
}

# seconds TIME: a policy time (ms, s, m or h) in whole seconds, rounded up
seconds() {
	local n=${1%%[a-z]*}
	case "${1#"$n"}" in
		ms) echo $(((n + 999) / 1000)) ;;
		s) echo "$n" ;;
		m) echo $((n * 60)) ;;
		h) echo $((n * 3600)) ;;
		*) die "policy time $1: not a whole number with ms, s, m or h" ;;
	esac
}

# haproxy_config LISTEN TIMEOUT MAXCONN USER NAME=HOST:PORT...:
# scripts/haproxy.cfg.in rendered on stdout (a line naming @NAME@ once per
# node; the @USER@ lines left out when USER is empty; with HAPROXY_RESOLVER
# ADDR:PORT the @R@ lines, a resolvers section, and the servers resolved
# through it, as compose/haproxy.cfg). The tests render theirs with it too.
haproxy_config() {
	local listen=$1 timeout=$2 maxconn=$3 user=$4
	shift 4
	awk -v listen="$listen" -v timeout="$timeout" -v maxconn="$maxconn" -v user="$user" \
		-v resolver="${HAPROXY_RESOLVER:-}" -v nodes="$*" '
		BEGIN {
			n = split(nodes, nd, " ")
			print "# scripts/haproxy.cfg.in, rendered by scripts/nodes.sh (haproxy_config)"
		}
		/^#/ { next }
		/^@R@/ { if (resolver == "") next; sub(/^@R@/, ""); gsub(/@RESOLVER@/, resolver) }
		{
			gsub(/@LISTEN@/, listen); gsub(/@TIMEOUT@/, timeout); gsub(/@MAXCONN@/, maxconn)
			gsub(/@SERVER_OPTS@/, resolver == "" ? "" : " resolvers engine init-addr last,libc,none")
		}
		/@USER@/ { if (user == "") next; gsub(/@USER@/, user) }
		/@NAME@/ {
			for (i = 1; i <= n; i++) {
				split(nd[i], kv, "=")
				l = $0
				gsub(/@NAME@/, kv[1], l)
				gsub(/@ADDR@/, kv[2], l)
				print l
			}
			next
		}
		{ print }' "$TOP/scripts/haproxy.cfg.in"
}

# start_bg NAME LOG COMMAND...: COMMAND in a session of its own, its pid in
# $BASE_RUNDIR/NAME.pid, its output appended to LOG
start_bg() {
	local name=$1 log=$2
	shift 2
	setsid "$@" >>"$log" 2>&1 </dev/null &
	echo $! >"$BASE_RUNDIR/$name.pid"
}

# wait_http URL NAME: until URL answers (any status), 15 s at most
wait_http() {
	for _ in $(seq 1 150); do
		curl -sS -o /dev/null "$1" 2>/dev/null && return 0
		( RUNDIR=$BASE_RUNDIR; running "$2" ) || break
		sleep 0.1
	done
	tail -n 20 "$BASE_LOGDIR/$2.log" >&2 || true
	die "$2 did not answer on $1"
}

# s3rver on 127.0.0.1:$PORT+N+1, as the store's user, its bucket in
# $STATE/s3rver; the key pair file for privd
start_s3rver() {
	local port=$((BASE_PORT + $1 + 1)) js=$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js
	ensure_s3rver
	if [ ! -s "$S3_CREDS" ]; then
		(umask 077; printf 'access_key_id = S3RVER\nsecret_access_key = S3RVER\n' >"$S3_CREDS")
	fi
	mkdir -p "$BASE_STATE/s3rver"
	chown codeward-store: "$BASE_STATE/s3rver"
	chmod 0700 "$BASE_STATE/s3rver"
	if ! ( RUNDIR=$BASE_RUNDIR; running s3rver ); then
		# its continuation tokens are DES, a legacy cipher in OpenSSL 3
		start_bg s3rver "$BASE_LOGDIR/s3rver.log" \
			setpriv --reuid=codeward-store --regid=codeward-store --clear-groups \
			node --openssl-legacy-provider "$js" -d "$BASE_STATE/s3rver" \
			-a 127.0.0.1 -p "$port" -s --configure-bucket "$S3_BUCKET"
	fi
	wait_http "http://127.0.0.1:$port/" s3rver
	S3_ENDPOINT=http://127.0.0.1:$port
}

# $NODES_POLICY: the deployed policy with [store] on s3rver, and HAProxy's
# address among the trusted proxies (every request comes from it: failed
# credentials are counted per client, by its X-Forwarded-For)
write_nodes_policy() {
	local tmp proxies
	proxies=$(awk '{ sub(/#.*/, "") } /^[ \t]*\[/ { gsub(/[ \t]/, ""); a = ($0 == "[auth]"); next }
		a && $1 == "trusted-proxies" { $1 = ""; sub(/^ /, ""); print; exit }' "$POLICY")
	case " ${proxies:-none} " in
		" none ") proxies=127.0.0.1 ;;
		*" 127.0.0.1 "*) ;;
		*) proxies="$proxies 127.0.0.1" ;;
	esac
	tmp=$(mktemp "$NODES_POLICY.XXXXXX")
	cp "$POLICY" "$tmp"
	"$REL"/policy/codeward-policy set store backend s3 store endpoint "$S3_ENDPOINT" \
		store bucket "$S3_BUCKET" store region us-east-1 store credentials "$S3_CREDS" \
		auth trusted-proxies "$proxies" "$tmp" \
		|| { rm -f "$tmp"; die "cannot set [store] and [auth] trusted-proxies in the nodes' policy"; }
	chmod 0644 "$tmp"
	mv "$tmp" "$NODES_POLICY"
}

# $RUNDIR/haproxy.cfg for nodes 1..N, checked by haproxy -c: timeout
# server a minute above the nodes' policy's [time] max
render_haproxy() {
	local i max servers=()
	for i in $(seq 1 "$NODES"); do servers+=("node$i=127.0.0.1:$((BASE_PORT + i))"); done
	max=$(seconds "$(policy_value time max "$NODES_POLICY")")
	haproxy_config "127.0.0.1:$BASE_PORT" "$((max + 60))s" \
		"$(policy_value concurrency connections-per-address "$NODES_POLICY")" haproxy "${servers[@]}" \
		>"$BASE_RUNDIR/haproxy.cfg.tmp"
	"$HAPROXY" -c -q -f "$BASE_RUNDIR/haproxy.cfg.tmp" \
		|| die "haproxy refused $BASE_RUNDIR/haproxy.cfg.tmp"
	mv "$BASE_RUNDIR/haproxy.cfg.tmp" "$BASE_RUNDIR/haproxy.cfg"
}

# HAProxy on 127.0.0.1:$PORT in front of nodes 1..N, as Debian's haproxy
# user (its master process, -W, stays root to reload on SIGUSR2)
start_haproxy() {
	render_haproxy
	if ! ( RUNDIR=$BASE_RUNDIR; running haproxy ); then
		start_bg haproxy "$BASE_LOGDIR/haproxy.log" "$HAPROXY" -W -db -f "$BASE_RUNDIR/haproxy.cfg"
	fi
	for _ in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$BASE_PORT/v1/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -n 20 "$BASE_LOGDIR/haproxy.log" >&2 || true
	die "HAProxy did not answer on 127.0.0.1:$BASE_PORT"
}

# the `up` of N nodes, after deploy_policy and ensure_key
nodes_up() {
	local n=$NODES i
	mkdir -p "$BASE_RUNDIR" "$BASE_LOGDIR"
	start_s3rver "$n"
	write_nodes_policy
	echo "$n" >"$BASE_RUNDIR/nodes"
	for i in $(seq 1 "$n"); do
		( node_env "$i"; start_daemons ) || die "node$i did not start (its logs: $BASE_LOGDIR/node$i)"
		say "node$i: http://127.0.0.1:$((BASE_PORT + i))/v1 (instance $BASE_INSTANCE-node$i)"
	done
	start_haproxy
}

nodes_down() {
	local n=$NODES i
	( RUNDIR=$BASE_RUNDIR; stop_one haproxy 50 )
	for i in $(seq 1 "$n"); do ( node_env "$i"; stop_daemons ); done
	( RUNDIR=$BASE_RUNDIR; stop_one s3rver 50 )
	rm -f "$BASE_RUNDIR/nodes"
}

# ./codeward policy apply with N nodes up: $NODES_POLICY made again from
# the deployed policy, then reloaded in each node (daemons.sh's policy_apply;
# a change of [store] still takes a restart, as on one appliance)
nodes_policy_apply() {
	local i
	[ -x "$REL"/policy/codeward-policy ] || build_code
	S3_ENDPOINT=http://127.0.0.1:$((BASE_PORT + NODES + 1))
	write_nodes_policy
	for i in $(seq 1 "$NODES"); do
		( node_env "$i"; policy_apply ) || die "policy apply: node$i (its logs: $BASE_LOGDIR/node$i)"
	done
	# [time] max may have moved: HAProxy's timeouts with it, its
	# connections kept (a reload, not a restart)
	render_haproxy
	( RUNDIR=$BASE_RUNDIR; running haproxy ) && kill -USR2 "$(cat "$BASE_RUNDIR/haproxy.pid")"
	say "policy apply: HAProxy reloaded"
}

nodes_status() {
	local n=$NODES i d
	for d in haproxy s3rver; do
		if ( RUNDIR=$BASE_RUNDIR; running "$d" ); then
			echo "$d: running (pid $(cat "$BASE_RUNDIR/$d.pid"))"
		else
			echo "$d: stopped"
		fi
	done
	for i in $(seq 1 "$n"); do
		echo "node$i (127.0.0.1:$((BASE_PORT + i)), instance $BASE_INSTANCE-node$i):"
		( node_env "$i"; daemons_status ) | sed 's/^/  /'
	done
}
