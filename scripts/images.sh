# shellcheck shell=bash
# The images: debian:bookworm-slim (made with debootstrap when the engine has
# none), the sandbox image, and the two appliance images of compose/.
#
# Each image is tagged with a content version: the hash of everything its
# build reads (for the sandbox, the Dockerfile, the runners and the npm pins,
# not the README beside them) and of the base image it starts FROM. The
# deployed policy pins the resulting image id. An unchanged version is not
# rebuilt.

debian_mirror() {
	# The machine's own Debian mirror, as apt is configured to use it.
	local m=""
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list)
	fi
	[ -n "$m" ] || die "cannot find a Debian mirror in apt's sources"
	printf '%s\n' "$m"
}

ensure_base_image() {
	"$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1 && return 0
	local root="$CACHE/bookworm-rootfs" t0=$SECONDS
	say "no debian:bookworm-slim image: building it with debootstrap"
	rm -rf "$root"
	mkdir -p "$root"
	logged debootstrap.log 20 "debootstrap failed" \
		debootstrap --variant=minbase bookworm "$root" "$(debian_mirror)"
	# trim what a slim image does not carry
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
	tar -C "$root" -c . | "$DOCKER" import - debian:bookworm-slim >/dev/null \
		|| die "docker import failed"
	rm -rf "$root"
	say "base image built in $((SECONDS - t0)) s"
}

image_version() {
	{
		"$DOCKER" image inspect -f '{{.Id}}' debian:bookworm-slim
		(cd sandbox && find Dockerfile runner npm/package.json npm/package-lock.json -type f -print0 \
			| sort -z | xargs -0 sha256sum)
		sandbox_sources | xargs sha256sum
	} | sha256sum | cut -c1-12
}

# The sandbox image's npm libraries (sandbox/npm/package-lock.json) in
# $CACHE/sandbox-npm/node_modules, installed by the host's npm so that its
# registry, proxy and certificate settings apply (a build container has none
# of them); reused while the pins are unchanged. No install script runs:
# each package is the files the registry holds (sharp's libvips included).
ensure_sandbox_npm() {
	local dir=$CACHE/sandbox-npm want t0=$SECONDS
	want=$(cat sandbox/npm/package.json sandbox/npm/package-lock.json | sha256sum | cut -c1-64)
	if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ]; then
		return 0
	fi
	ensure_npm
	say "installing the sandbox image's npm libraries into $dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp sandbox/npm/package.json sandbox/npm/package-lock.json "$dir/"
	logged npm-sandbox.log 20 "npm ci of the sandbox image's libraries failed" \
		env -C "$dir" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	printf '%s\n' "$want" >"$dir/.installed"
	say "npm libraries installed in $((SECONDS - t0)) s"
}

# The repository's sources the sandbox image compiles (codeward-jail and
# codeward-agent, jail/meson.build), one a line, sorted
sandbox_sources() {
	printf '%s\n' jail/*.c jail/*.h common/frame.c common/frame.h \
		common/ustar.h common/ustar_write.c common/utf8.c common/utf8.h | LC_ALL=C sort
}

# build_sandbox TAG VERSION: the build context is sandbox/ with the npm
# libraries beside the Dockerfile as node_modules/ and sandbox_sources under
# jail/ and common/, sent as one tar stream
build_sandbox() {
	(
		set -o pipefail
		# shellcheck disable=SC2046 # one path a word, no spaces
		tar -c -C sandbox . -C "$CACHE/sandbox-npm" node_modules -C "$PWD" $(sandbox_sources) \
			| env DOCKER_BUILDKIT=0 "$DOCKER" build --force-rm -t "$1" --label codeward.image=sandbox \
				--label "codeward.version=$2" -
	)
}

# codeward-sandbox:VERSION, built unless it exists, tagged :current
build_images() {
	ensure_base_image
	local ver tag t0=$SECONDS
	ver=$(image_version)
	tag="codeward-sandbox:$ver"
	if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
		say "sandbox image $tag is up to date"
	else
		ensure_sandbox_npm
		say "building $tag (all thirteen languages; a few minutes from nothing)"
		logged build-sandbox.log 30 "sandbox image build failed" build_sandbox "$tag" "$ver"
		say "sandbox image built in $((SECONDS - t0)) s ($("$DOCKER" image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.2f GB", $1/1e9}'))"
	fi
	"$DOCKER" tag "$tag" codeward-sandbox:current
}

image_id() { "$DOCKER" image inspect -f '{{.Id}}' "$1"; }

# The sandbox image the policies pin, its id in SANDBOX_ID: the image
# $CODEWARD_SANDBOX_IMAGE names, as it is (it must be on the engine; the test
# suites give the one they test), else codeward-sandbox:current, built or
# found up to date.
ensure_sandbox_image() {
	if [ -n "${CODEWARD_SANDBOX_IMAGE:-}" ]; then
		SANDBOX_ID=$(image_id "$CODEWARD_SANDBOX_IMAGE" 2>/dev/null) \
			|| die "no image $CODEWARD_SANDBOX_IMAGE on the engine"
	else
		build_images
		# shellcheck disable=SC2034 # daemons.sh and compose.sh pin it
		SANDBOX_ID=$(image_id codeward-sandbox:current)
	fi
}

# The appliance images (compose/Dockerfile) are versioned like the sandbox
# image, from what their build reads.
appliance_version() {
	{
		"$DOCKER" image inspect -f '{{.Id}}' debian:bookworm-slim
		find compose/Dockerfile .dockerignore meson.build meson_options.txt \
			common policy frontd privd sockproxy storeproxy supervise jail -type f \
			! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-12
}

# codeward:APPLIANCE_TAG and codeward-sockproxy:APPLIANCE_TAG, built unless
# they exist; sets APPLIANCE_TAG
build_appliance() {
	local t0=$SECONDS target name
	APPLIANCE_TAG=$(appliance_version)
	for target in sockproxy codeward; do
		name=codeward
		[ "$target" = sockproxy ] && name=codeward-sockproxy
		if "$DOCKER" image inspect "$name:$APPLIANCE_TAG" >/dev/null 2>&1; then
			continue
		fi
		say "building $name:$APPLIANCE_TAG"
		logged "build-$target.log" 30 "$name image build failed" \
			env DOCKER_BUILDKIT=0 "$DOCKER" build --force-rm -f compose/Dockerfile --target "$target" \
			-t "$name:$APPLIANCE_TAG" --label codeward.image="$target" \
			--label codeward.version="$APPLIANCE_TAG" .
	done
	say "appliance images $APPLIANCE_TAG ready in $((SECONDS - t0)) s"
}
