#!/usr/bin/env bash
# Builds the release artifacts with the pinned goreleaser into dist/
# (`make package`) or where the given --config says (the package test),
# offline and publishing nothing. Extra arguments go to goreleaser.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
GORELEASER="${GORELEASER:-$REPO/.bin/goreleaser}"

# goreleaser reads the commit with git, but in snapshot mode it throws all
# of git's answers away (commit "none", so `efssync --version` could not name
# it) when `git ls-remote --get-url` fails, as it does in a checkout without
# a remote. Give such a checkout the project's URL for this command only;
# nothing is fetched from it.
if ! git ls-remote --get-url >/dev/null 2>&1 && [ -z "${GIT_CONFIG_COUNT:-}" ]; then
	export GIT_CONFIG_COUNT=1
	export GIT_CONFIG_KEY_0=remote.origin.url
	export GIT_CONFIG_VALUE_0=https://github.com/efssync/efssync
fi

exec "$GORELEASER" release --snapshot --clean "$@"
