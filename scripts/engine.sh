# shellcheck shell=bash
# The Docker engine: gVisor registered in daemon.json, and dockerd started
# as our own background process when no engine answers.

engine_answers() { timeout 10 "$DOCKER" version >/dev/null 2>&1; }

# /etc/docker/daemon.json as we want it; status 0 when it was changed
write_daemon_json() {
	# gVisor (runsc) registered as an extra runtime; runc stays the default.
	# --platform=ptrace works on machines without KVM; gVisor's own network
	# stack is switched off, as the sandboxes have no network anyway.
	local want
	want=$(cat <<'JSON'
{
  "runtimes": {
    "runsc": {
      "path": "/usr/bin/runsc",
      "runtimeArgs": ["--platform=ptrace", "--network=none"]
    }
  }
}
JSON
)
	mkdir -p /etc/docker
	if [ ! -f /etc/docker/daemon.json ] || [ "$(cat /etc/docker/daemon.json)" != "$want" ]; then
		printf '%s\n' "$want" >/etc/docker/daemon.json.tmp
		mv /etc/docker/daemon.json.tmp /etc/docker/daemon.json
		return 0
	fi
	return 1
}

ensure_engine() {
	local changed=0
	write_daemon_json && changed=1
	if engine_answers; then
		if [ "$changed" = 1 ] && [ -f "$RUNDIR/dockerd.pid" ]; then
			say "daemon.json changed: reloading dockerd"
			kill -HUP "$(cat "$RUNDIR/dockerd.pid")" 2>/dev/null || true
		fi
		return 0
	fi
	command -v dockerd >/dev/null || die "dockerd is not installed"
	say "starting dockerd"
	mkdir -p "$LOGDIR" "$RUNDIR"
	# no init system is assumed: dockerd runs as our own background process.
	setsid dockerd --pidfile "$RUNDIR/dockerd.pid" >>"$LOGDIR/dockerd.log" 2>&1 </dev/null &
	for _ in $(seq 1 60); do
		engine_answers && return 0
		sleep 1
	done
	tail -20 "$LOGDIR/dockerd.log" >&2 || true
	die "no Docker engine answers on $DOCKER_SOCK after 60 s"
}
