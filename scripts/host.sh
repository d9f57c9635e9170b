# shellcheck shell=bash
# The host: Debian packages and the daemons' system users.

# runsc is gVisor, registered with dockerd (engine.sh) for policies that say
# 'runtime runsc'.
PKGS=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev
	libmicrohttpd-dev libcjson-dev libseccomp-dev libsodium-dev libcurl4-openssl-dev
	docker.io runsc debootstrap python3 curl ca-certificates openssl
	docker-compose python3-prometheus-client)
# what the compose deployment needs on the host (the code builds in Docker)
# shellcheck disable=SC2034 # compose.sh installs them
COMPOSE_PKGS=(docker.io runsc docker-compose debootstrap openssl ca-certificates curl)

# install_packages [PACKAGE...]: those not installed yet (default: PKGS)
install_packages() {
	local missing=() p
	[ $# -gt 0 ] || set -- "${PKGS[@]}"
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	apt_install apt.log "apt-get install failed" "${missing[@]}"
}

# ensure_npm: node and npm on the host (Debian's, when it has none); they
# install the sandbox image's npm libraries (images.sh) and LibreChat's
# client (client.sh)
ensure_npm() {
	command -v node >/dev/null && command -v npm >/dev/null && return 0
	say "installing nodejs and npm"
	apt_install apt-node.log "installing nodejs and npm failed" nodejs npm
}

# apt_install LOG MESSAGE PACKAGE...
apt_install() {
	local log=$1 msg=$2
	shift 2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	# docker.io's maintainer scripts may try to start a service; there may be
	# no init system here, which is fine: we start dockerd ourselves.
	logged "$log" 20 "$msg" apt-get install -y -qq --no-install-recommends "$@"
}

ensure_users() {
	local u
	for u in codeward-front codeward-priv codeward-proxy codeward-store; do
		id -u "$u" >/dev/null 2>&1 && continue
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --user-group "$u" || die "useradd $u failed"
	done
}
