#!/usr/bin/env bash
# Installs what efssync's tests need that Go modules alone do not provide.
# Idempotent: each part skips work already done. Binaries go to <repo>/.bin
# (gitignored), where the test harnesses in internal/ look for them.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$REPO/.bin"
mkdir -p "$BIN"

# --- S3 test servers (MinIO, Toxiproxy) ---------------------------------------
# Owned by the transfer/s3dest maintainers. Pinned versions, built from source
# with `go install` (prebuilt downloads are not reachable from CI).
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
TOXIPROXY_MODULE="github.com/Shopify/toxiproxy/v2"
TOXIPROXY_VERSION="v2.5.0"

# has_version BINARY MODULE VERSION: true when BINARY was built from MODULE@VERSION.
has_version() {
	[ -x "$1" ] && go version -m "$1" 2>/dev/null | awk -v m="$2" -v v="$3" '$1=="mod" && $2==m && $3==v {found=1} END {exit !found}'
}

install_minio() {
	if has_version "$BIN/minio" "$MINIO_MODULE" "$MINIO_VERSION"; then
		echo "minio $MINIO_VERSION already in $BIN"
		return
	fi
	echo "building minio $MINIO_VERSION into $BIN (takes several minutes)"
	GOBIN="$BIN" go install "$MINIO_MODULE@$MINIO_VERSION"
}

install_toxiproxy() {
	local dst="$BIN/toxiproxy-server"
	if has_version "$dst" "$TOXIPROXY_MODULE" "$TOXIPROXY_VERSION"; then
		echo "toxiproxy-server $TOXIPROXY_VERSION already in $BIN"
		return
	fi
	echo "building toxiproxy-server $TOXIPROXY_VERSION into $BIN"
	# cmd/server installs as "server"; build in a scratch GOBIN and rename.
	local tmp
	tmp="$(mktemp -d)"
	GOBIN="$tmp" go install "$TOXIPROXY_MODULE/cmd/server@$TOXIPROXY_VERSION"
	mv "$tmp/server" "$dst"
	rmdir "$tmp"
}

install_s3_test_servers() {
	install_minio
	install_toxiproxy
}
# --- end S3 test servers -------------------------------------------------------

# --- FUSE and benchmark peers (apt) -------------------------------------------
# Owned by the internal/faultfs and bench maintainers. fuse3 gives /dev/fuse
# users fusermount3 (faultfs tests); the rest are the peers bench/run.sh
# compares against and the tools of the end-to-end tests; time is GNU time
# for peak RSS. systemd (systemd-analyze verify of the units), man-db
# (man --warnings on the generated pages) and dpkg (dpkg-deb) are for the
# packaging tests in cmd/efssync.
APT_PACKAGES=(fuse3 rsync rclone lsyncd fpart ffmpeg time systemd man-db dpkg)

install_apt_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$p")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		echo "apt packages already installed: ${APT_PACKAGES[*]}"
		return
	fi
	if ! command -v apt-get >/dev/null; then
		echo "missing packages ${missing[*]} and no apt-get; install them by hand" >&2
		return 1
	fi
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	echo "installing ${missing[*]} with apt-get"
	"${sudo[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}
# --- end FUSE and benchmark peers ----------------------------------------------

# --- packaging tools (goreleaser, nfpm) ----------------------------------------
# Owned by the packaging maintainers (`make package`, cmd/efssync's package
# test). Pinned, built from source with `go install`. goreleaser builds the
# .deb and .rpm with nfpm as a library: v2.15.1 is built against nfpm
# v2.45.2, the same version as the standalone nfpm installed beside it.
GORELEASER_MODULE="github.com/goreleaser/goreleaser/v2"
GORELEASER_VERSION="v2.15.1"
NFPM_MODULE="github.com/goreleaser/nfpm/v2"
NFPM_VERSION="v2.45.2"

install_packaging_tools() {
	if has_version "$BIN/goreleaser" "$GORELEASER_MODULE" "$GORELEASER_VERSION"; then
		echo "goreleaser $GORELEASER_VERSION already in $BIN"
	else
		echo "building goreleaser $GORELEASER_VERSION into $BIN (takes several minutes)"
		GOBIN="$BIN" go install "$GORELEASER_MODULE@$GORELEASER_VERSION"
	fi
	if has_version "$BIN/nfpm" "$NFPM_MODULE" "$NFPM_VERSION"; then
		echo "nfpm $NFPM_VERSION already in $BIN"
	else
		echo "building nfpm $NFPM_VERSION into $BIN"
		GOBIN="$BIN" go install "$NFPM_MODULE/cmd/nfpm@$NFPM_VERSION"
	fi
}
# --- end packaging tools -------------------------------------------------------

# --- live-stream players (dash.js in headless Chromium) ----------------------
# Owned by the live-streaming maintainers (internal/playertest, make
# bench-live). The DASH-IF reference player, pinned, from npm into .bin
# (gitignored), and Debian's chromium to run it headless.
DASHJS_VERSION="5.2.1"

install_live_players() {
	if ! command -v chromium >/dev/null; then
		local sudo=()
		if [ "$(id -u)" -ne 0 ]; then
			sudo=(sudo)
		fi
		echo "installing chromium with apt-get"
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium ||
			{ "${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium; }
	fi
	if [ "$(cat "$BIN/dashjs/VERSION" 2>/dev/null)" = "$DASHJS_VERSION" ]; then
		echo "dash.js $DASHJS_VERSION already in $BIN/dashjs"
		return
	fi
	echo "installing dash.js $DASHJS_VERSION into $BIN/dashjs"
	mkdir -p "$BIN/dashjs"
	npm install --silent --no-audit --no-fund --prefix "$BIN/dashjs" "dashjs@$DASHJS_VERSION"
	echo "$DASHJS_VERSION" >"$BIN/dashjs/VERSION"
}
# --- end live-stream players ---------------------------------------------------

# With arguments, only the named parts run (e.g. install_packaging_tools).
main() {
	if [ "$#" -gt 0 ]; then
		local part
		for part in "$@"; do
			"$part"
		done
		return
	fi
	install_apt_packages
	install_s3_test_servers
	install_packaging_tools
	install_live_players
}

main "$@"
