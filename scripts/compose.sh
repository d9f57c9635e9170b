# shellcheck shell=bash
# The compose deployment (compose/README.md): `compose setup` builds the
# appliance images and writes the configuration the compose files read;
# `compose up|down|...` runs docker-compose with it.
#
# The configuration, in $COMPOSE_CONFIG:
#   codeward/   mounted read-only into the codeward container (policies, key
#               hashes, the JWT public key); sockproxy gets the policy only.
#               The policies are written once: the admin's from then on
#   librechat/  LibreChat's secrets, its JWT signing key among them (never
#               mounted into codeward)
#   store/      compose/scale.yaml's object store: MinIO's root and the
#               nodes' key pair, each mounted as a secret (0700, files 0600)
#   api-key     the API key in clear, for the admin (0600)
#   compose.env the settings docker-compose reads (--env-file)
# The host may have no C compiler here: the tools run from the codeward image.

in_image() {
	# a tool of the codeward image, with no network and nothing mounted
	"$DOCKER" run --rm -i --network none --entrypoint "$1" "codeward:$APPLIANCE_TAG" "${@:2}"
}

# codeward-policy of the codeward image, with codeward/ mounted at its own
# path, so that its FILE:LINE messages name the admin's files
policy_tool() {
	local cw=$COMPOSE_CONFIG/codeward
	"$DOCKER" run --rm --network none -v "$cw:$cw" \
		--entrypoint /usr/local/sbin/codeward-policy "codeward:$APPLIANCE_TAG" "$@"
}

# the API key: printed once by the setup, only its hash in codeward/
write_compose_key() {
	local cfg=$COMPOSE_CONFIG cw=$COMPOSE_CONFIG/codeward
	if [ -n "${CODEWARD_API_KEY:-}" ]; then
		printf '%s\n' "$CODEWARD_API_KEY" >"$cfg/api-key"
	elif [ ! -s "$cfg/api-key" ]; then
		in_image /usr/local/sbin/codeward-keytool new >"$cfg/api-key.tmp"
		mv "$cfg/api-key.tmp" "$cfg/api-key"
	fi
	chmod 0600 "$cfg/api-key"
	in_image /usr/local/sbin/codeward-keytool hash <"$cfg/api-key" >"$cw/keys.tmp"
	chmod 0600 "$cw/keys.tmp"
	mv "$cw/keys.tmp" "$cw/keys"
}

# LibreChat's Code API token key pair (Ed25519): the private half stays with
# LibreChat, codeward gets the public half (PEM SPKI)
write_compose_jwt_key() {
	local cw=$COMPOSE_CONFIG/codeward lc=$COMPOSE_CONFIG/librechat
	if [ ! -s "$lc/jwt-private.pem" ]; then
		(umask 077; openssl genpkey -algorithm ed25519 -out "$lc/jwt-private.pem.tmp") \
			|| die "openssl genpkey failed"
		mv "$lc/jwt-private.pem.tmp" "$lc/jwt-private.pem"
	fi
	openssl pkey -in "$lc/jwt-private.pem" -pubout -out "$cw/jwt-public.pem" \
		|| die "openssl pkey failed"
	chmod 0644 "$cw/jwt-public.pem"
}

# The policies, one per overlay, are the admin's: each is made once (the
# shipped default with the sandbox image pinned, API keys and LibreChat's
# tokens accepted; gvisor.policy with runtime runsc, gpu.policy with every
# GPU) and never rewritten, but for the pins of a rebuilt sandbox image,
# moved as `up` moves them (scripts/daemons.sh, deploy_policy), and, under
# isolation jail, the pin of the workers' seccomp profile, moved to the
# tree's jail/seccomp-worker.json (the file the sockproxy image carries) when
# it is another's. Every edit goes through codeward-policy (one `set` per
# policy: only its result must parse, as runtime runsc, isolation jail and
# jail-runsc-caps need one another). A policy that does not check stops the
# setup with its FILE:LINE errors.
write_compose_policies() {
	local cw=$COMPOSE_CONFIG/codeward base p out caps sum old
	base=$cw/default.policy.tmp
	for p in codeward gvisor gpu scale; do
		[ -e "$cw/$p.policy" ] && continue
		if [ ! -e "$base" ]; then
			cp policy/default.policy "$base"
			policy_tool pin-images "$SANDBOX_ID" "$base" \
				|| die "cannot pin the sandbox image in the policy"
			policy_tool set auth keys /etc/codeward/keys \
				auth jwt-public-key /etc/codeward/jwt-public.pem \
				auth mode api-key+jwt "$base" || die "cannot edit the policy"
		fi
		cp "$base" "$cw/$p.policy.tmp"
		# isolation jail under runsc: gVisor's capabilities for the jail's helper
		caps=none pids=256
		if [ "$(policy_value sandbox isolation "$base")" = jail ]; then
			caps=$JAIL_RUNSC_CAPS pids=1024
		fi
		case "$p" in
			# gVisor's own threads count against pids (policy/README.md,
			# notes; under jail they grow with a worker's jobs: 1024)
			gvisor) policy_tool set sandbox pids "$pids" sandbox runtime runsc \
				sandbox jail-runsc-caps "$caps" "$cw/$p.policy.tmp" ;;
			gpu) policy_tool set sandbox gpu all "$cw/$p.policy.tmp" ;;
			# scale.yaml's nodes: the object store of that file, the
			# credentials its secret mounts (write_compose_store)
			scale) policy_tool set store backend s3 \
				store endpoint http://objectstore:9000 store bucket codeward \
				store region us-east-1 store credentials /run/secrets/codeward-s3 \
				"$cw/$p.policy.tmp" ;;
		esac || die "cannot edit $cw/$p.policy.tmp"
		chmod 0644 "$cw/$p.policy.tmp"
		mv "$cw/$p.policy.tmp" "$cw/$p.policy"
		say "wrote $cw/$p.policy; it is yours now (compose/README.md, \"The policies\")"
	done
	rm -f "$base"
	sum=$(jail_profile_sum)
	for p in codeward gvisor gpu scale; do
		policy_tool check "$cw/$p.policy" >/dev/null || die "$cw/$p.policy does not check (above)"
		old=$(policy_value sandbox jail-seccomp "$cw/$p.policy")
		if [ "$(policy_value sandbox isolation "$cw/$p.policy")" = jail ] && [ "$old" != "$sum" ]; then
			cp -p "$cw/$p.policy" "$cw/$p.policy.prev"
			policy_tool set sandbox jail-seccomp "$sum" "$cw/$p.policy" \
				|| die "cannot pin the workers' seccomp profile in $cw/$p.policy"
			say "$cw/$p.policy: jail-seccomp $old -> $sum, the profile of the" \
				"sockproxy image (the file before: $p.policy.prev)"
		fi
		out=$(policy_tool repin sandbox "$SANDBOX_ID" "$cw/$p.policy") \
			|| die "cannot re-pin the sandbox image in $cw/$p.policy"
		if [ -n "$out" ]; then
			say "the sandbox image changed; only its pins in $cw/$p.policy moved (the file before: $p.policy.prev):"
			printf '%s\n' "$out" >&2
		fi
	done
}

# compose/scale.yaml's object store, made once, root's, 0600: MinIO's root
# (store/objectstore-root, for MinIO and objectstore-init only) and the
# nodes' own key pair (store/s3-credentials, in the format of the policy's
# [store] credentials), which objectstore-init makes a user of the bucket
write_compose_store() {
	local st=$COMPOSE_CONFIG/store
	mkdir -p "$st"
	chmod 0700 "$st"
	if [ ! -s "$st/objectstore-root" ]; then
		(umask 077; printf 'export MINIO_ROOT_USER=%s\nexport MINIO_ROOT_PASSWORD=%s\n' \
			"root$(openssl rand -hex 8)" "$(openssl rand -hex 24)" >"$st/objectstore-root.tmp") \
			|| die "cannot write $st/objectstore-root"
		mv "$st/objectstore-root.tmp" "$st/objectstore-root"
	fi
	if [ ! -s "$st/s3-credentials" ]; then
		(umask 077; printf 'access_key_id = %s\nsecret_access_key = %s\n' \
			"codeward$(openssl rand -hex 6)" "$(openssl rand -hex 20)" >"$st/s3-credentials.tmp") \
			|| die "cannot write $st/s3-credentials"
		mv "$st/s3-credentials.tmp" "$st/s3-credentials"
	fi
	chmod 0600 "$st/objectstore-root" "$st/s3-credentials"
}

# LibreChat's own secrets, made once (CREDS_KEY encrypts what it stores)
write_librechat_env() {
	local lc=$COMPOSE_CONFIG/librechat key
	if [ ! -s "$lc/librechat.env" ]; then
		key=$(cat "$COMPOSE_CONFIG/api-key")
		cat >"$lc/librechat.env.tmp" <<ENV
# LibreChat's secrets, written once by ./codeward compose setup. The wiring to
# codeward (LIBRECHAT_CODE_BASEURL and the CODEAPI_JWT_* settings that are not
# secret) is in compose/librechat.yaml.
CREDS_KEY=$(openssl rand -hex 32)
CREDS_IV=$(openssl rand -hex 16)
JWT_SECRET=$(openssl rand -hex 32)
JWT_REFRESH_SECRET=$(openssl rand -hex 32)
# Code API tokens: LibreChat signs them with this key (EdDSA); codeward checks
# them with the public half only.
CODEAPI_JWT_PRIVATE_KEY_BASE64=$(base64 -w0 "$lc/jwt-private.pem")
# For LibreChat versions before Code API tokens (@librechat/agents <= 3.1)
LIBRECHAT_CODE_API_KEY=$key
# Each user enters their own key in LibreChat; or put a key here for all
OPENAI_API_KEY=user_provided
ENV
		chmod 0600 "$lc/librechat.env.tmp"
		mv "$lc/librechat.env.tmp" "$lc/librechat.env"
	fi
	if [ ! -s "$lc/meili.env" ]; then
		(umask 077; printf 'MEILI_MASTER_KEY=%s\n' "$(openssl rand -hex 24)" >"$lc/meili.env")
	fi
}

# the settings the compose files read; the admin's own lines are kept
write_compose_env() {
	local cfg=$COMPOSE_CONFIG
	{
		cat <<ENV
CODEWARD_CONFIG=$cfg
CODEWARD_TAG=$APPLIANCE_TAG
CODEWARD_INSTANCE=${CODEWARD_INSTANCE:-compose}
CODEWARD_BIND=${CODEWARD_BIND:-127.0.0.1}
CODEWARD_PORT=${CODEWARD_PORT:-8000}
ENV
		if [ -f "$cfg/compose.env" ]; then grep -v '^CODEWARD_' "$cfg/compose.env" || true; fi
	} >"$cfg/compose.env.tmp"
	mv "$cfg/compose.env.tmp" "$cfg/compose.env"
	# docker-compose reads compose/.env by itself: for the default place only
	if [ -z "${CODEWARD_CONFIG:-}" ]; then
		cp "$cfg/compose.env" "$COMPOSE_DIR/.env"
	fi
}

compose_setup() {
	need_root
	mkdir -p "$CACHE"
	install_packages "${COMPOSE_PKGS[@]}"
	ensure_engine
	ensure_sandbox_image
	build_appliance
	mkdir -p "$COMPOSE_CONFIG/codeward" "$COMPOSE_CONFIG/librechat"
	chmod 0755 "$COMPOSE_CONFIG/codeward"
	chmod 0700 "$COMPOSE_CONFIG/librechat"
	write_compose_key
	write_compose_jwt_key
	write_compose_policies
	write_compose_store
	write_librechat_env
	write_compose_env
	say "compose configuration in $COMPOSE_CONFIG"
	cat <<TXT
Images:  codeward:$APPLIANCE_TAG  codeward-sockproxy:$APPLIANCE_TAG
API key: $(cat "$COMPOSE_CONFIG/api-key")
Start:   ./codeward compose up              (the appliance alone)
         ./codeward compose up librechat    (with LibreChat, MongoDB, Meilisearch)
         ./codeward compose up scale        (three nodes behind HAProxy, files in MinIO)
TXT
}

# docker-compose with the configuration's settings and the chosen overlays:
# compose_run SUBCOMMAND [librechat|gvisor|gpu|scale]... [ARGS...]
compose_run() {
	local sub=$1 files=(-f "$COMPOSE_DIR/compose.yaml")
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
			librechat|gvisor|gpu|scale) files+=(-f "$COMPOSE_DIR/$1.yaml"); shift ;;
			*) break ;;
		esac
	done
	[ -s "$COMPOSE_CONFIG/compose.env" ] || die "no $COMPOSE_CONFIG/compose.env: run ./codeward compose setup"
	# Debian's client first: docker-compose may call 'docker' to build
	PATH=/usr/bin:$PATH DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 \
		docker-compose --env-file "$COMPOSE_CONFIG/compose.env" \
		-p "${CODEWARD_PROJECT:-codeward}" "${files[@]}" "$sub" "$@"
}
