#!/usr/bin/env bash
# Builds the release artifacts (`make package`), offline, publishing nothing:
#   DIST/efssync_VERSION_linux_ARCH.tar.gz   binary, LICENSE, third-party
#                                            licenses, man pages, completions,
#                                            units, example configurations
#   DIST/efssync_VERSION-1_ARCH.deb          (nfpm, packaging/nfpm.yaml)
#   DIST/efssync-VERSION-1.ARCH.rpm
#   DIST/SHA256SUMS
# Settings: DIST (default dist), ARCHES (default "amd64 arm64"), NFPM (an
# nfpm binary; default: built from packaging/tools into .bin once).
#
# It builds only what it ships: efssync once per architecture with plain
# `go build`, and nfpm alone from its own module (packaging/tools), beside
# the first build, so nfpm's modules never enter efssync's go.mod.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
DIST="${DIST:-$REPO/dist}"
ARCHES="${ARCHES:-amd64 arm64}"
STAGE_ROOT="${STAGE_ROOT:-$REPO/build/package}"
HOST_ARCH="$(go env GOARCH)"

# version prints the package version: the tag for a tagged commit (v1.2.3
# gives 1.2.3), the tag and the commits since it after one (1.2.3+git5.
# gabcdef123456), and 0.0.0+git<commit time>.<commit> before any tag. Each
# starts with a digit and orders after the versions built before it, as
# dpkg and rpm compare them; ".dirty" marks a tree with uncommitted changes.
version() {
	local v desc
	if desc="$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null)"; then
		local tag="${desc%-*-g*}" rest="${desc##*-g}" n
		n="${desc%-g*}"
		n="${n##*-}"
		v="${tag#v}"
		[ "$n" = 0 ] || v="$v+git$n.g$rest"
	else
		v="0.0.0+git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S).$(git rev-parse --short=12 HEAD)"
	fi
	if ! git diff --quiet HEAD -- 2>/dev/null; then
		case "$v" in *+*) v="$v.dirty" ;; *) v="$v+dirty" ;; esac
	fi
	echo "$v"
}

VERSION="$(version)"
COMMIT="$(git rev-parse HEAD)"
DATE="$(git log -1 --format=%cI)"
echo "efssync $VERSION ($COMMIT) for $ARCHES into $DIST"

rm -rf "$STAGE_ROOT" "$DIST"
mkdir -p "$STAGE_ROOT" "$DIST" "$REPO/.bin"

# nfpm compiles beside efssync: the two share the machine's cores.
NFPM="${NFPM:-}"
nfpm_pid=""
if [ -z "$NFPM" ]; then
	NFPM="$REPO/.bin/nfpm"
	want="$(sed -n 's|^\tgithub.com/goreleaser/nfpm/v2 \(v[^ ]*\).*|\1|p' packaging/tools/go.mod)"
	if ! go version -m "$NFPM" 2>/dev/null | grep -q "mod	github.com/goreleaser/nfpm/v2	$want"; then
		CGO_ENABLED=0 go build -C packaging/tools -trimpath -o "$NFPM" github.com/goreleaser/nfpm/v2/cmd/nfpm &
		nfpm_pid=$!
	fi
fi

ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"
builds="$ARCHES"
case " $ARCHES " in *" $HOST_ARCH "*) ;; *) builds="$HOST_ARCH $builds" ;; esac
for arch in $builds; do
	mkdir -p "$STAGE_ROOT/$arch"
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "$ldflags" -o "$STAGE_ROOT/$arch/efssync" ./cmd/efssync
done

# Man pages, completions and units come from the host's binary; they are
# the same for every architecture.
common="$STAGE_ROOT/common"
EFSSYNC_BIN="$STAGE_ROOT/$HOST_ARCH/efssync" bash scripts/package-assets.sh "$common" "$VERSION" "$DATE"
go build -C packaging/tools -o "$STAGE_ROOT/copyright-tool" ./copyright

# A Debian package carries a changelog (changelog.Debian.gz: the package
# revision -1 makes it non-native); this one names the commit.
changelog="$common/changelog"
{
	echo "efssync ($VERSION-1) unstable; urgency=medium"
	echo
	echo "  * Built from commit $COMMIT."
	echo
	echo " -- efssync maintainers <maintainers@efssync.invalid>  $(date -u -R -d "$DATE")"
} >"$changelog"
gzip -9n "$changelog"

if [ -n "$nfpm_pid" ]; then
	wait "$nfpm_pid"
fi

epoch="$(git log -1 --format=%ct)"
for arch in $ARCHES; do
	stage="$STAGE_ROOT/$arch"
	cp -r "$common/man" "$common/completions" "$common/systemd" "$common/changelog.gz" "$stage/"
	"$STAGE_ROOT/copyright-tool" -modcache "$(go env GOMODCACHE)" -goroot "$(go env GOROOT)" "$stage/efssync" >"$stage/copyright"

	name="efssync_${VERSION}_linux_$arch"
	tree="$STAGE_ROOT/tar/$name"
	mkdir -p "$tree/examples"
	cp "$stage/efssync" LICENSE README.md "$tree/"
	cp "$stage/copyright" "$tree/LICENSE-THIRD-PARTY"
	cp examples/config.yaml "$tree/examples/config.yaml"
	cp packaging/live.yaml "$tree/examples/live.yaml"
	# The units as in the repository: ExecStart=/usr/local/bin/efssync,
	# where a tarball's binary is installed by hand.
	cp -r systemd "$stage/man" "$stage/completions" "$tree/"
	tar -C "$STAGE_ROOT/tar" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -cf - "$name" |
		gzip -9n >"$DIST/$name.tar.gz"

	# nfpm expands variables in some fields only, so the ${VAR}s of
	# packaging/nfpm.yaml are filled in here.
	sed -e "s|\${ARCH}|$arch|g" -e "s|\${VERSION}|$VERSION|g" -e "s|\${STAGE}|$stage|g" packaging/nfpm.yaml >"$stage/nfpm.yaml"
	for packager in deb rpm; do
		SOURCE_DATE_EPOCH="$epoch" "$NFPM" package --config "$stage/nfpm.yaml" --packager "$packager" --target "$DIST/"
	done
done

(cd "$DIST" && sha256sum -- *.tar.gz *.deb *.rpm >SHA256SUMS)
ls -l "$DIST"
