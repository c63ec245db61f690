#!/usr/bin/env bash
# Generates what the packages ship beside the binary, into DIR:
#   DIR/man/man1/*.1.gz   man pages of the commands, from the command tree
#   DIR/man/man5/*.5.gz   efssync.yaml(5), from the configuration schema
#   DIR/completions/      bash (efssync.bash), zsh (_efssync), fish (efssync.fish)
#   DIR/systemd/          the units of systemd/, with ExecStart at /usr/bin/efssync
#                         (where the packages install the binary)
# scripts/package.sh runs it:
#   scripts/package-assets.sh DIR VERSION DATE
# It builds efssync to run `efssync docs`; EFSSYNC_BIN names an efssync
# binary to use instead (the package test's, which saves a whole compile;
# its man pages then carry that binary's version).
set -euo pipefail

if [ "$#" -lt 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR [VERSION [DATE]]" >&2
	exit 2
fi
DIR="$1"
VERSION="${2:-dev}"
DATE="${3:-}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Only the subdirectories this script owns are replaced, so stale pages of
# a removed command do not linger.
rm -rf "$DIR/man" "$DIR/completions" "$DIR/systemd"
mkdir -p "$DIR/systemd"

if [ -n "${EFSSYNC_BIN:-}" ]; then
	"$EFSSYNC_BIN" docs "$DIR"
else
	# -trimpath and CGO_ENABLED=0, as in the release build, so the build
	# cache serves both.
	CGO_ENABLED=0 go run -trimpath -ldflags "-X main.version=$VERSION -X main.date=$DATE" ./cmd/efssync docs "$DIR"
fi
gzip -9n "$DIR"/man/man1/*.1 "$DIR"/man/man5/*.5

for unit in systemd/*.service systemd/*.timer; do
	out="$DIR/systemd/$(basename "$unit")"
	sed 's|/usr/local/bin/efssync|/usr/bin/efssync|g' "$unit" >"$out"
	if grep -q '^ExecStart=' "$out" && ! grep -q '^ExecStart=/usr/bin/efssync ' "$out"; then
		echo "$unit: ExecStart does not run /usr/bin/efssync after rewriting" >&2
		exit 1
	fi
done
