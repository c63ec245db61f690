#!/usr/bin/env bash
# bench/s3ab.sh OLD NEW — A/B of two efssync binaries on the S3 paths, as
# bench/ab.sh is for the file-system path: one local MinIO on tmpfs, 5,000
# files of 1–16 KiB, rounds interleaved (old, new, old, new, ...) so load
# from other work falls on both alike. Each round, each binary archives
# the set to a fresh prefix, then restores one archived copy into a fresh
# tmpfs directory. Prints wall, client CPU and MinIO CPU seconds of every
# run, and the medians. Build the binaries as bench/ab.sh says, then:
#   bash bench/s3ab.sh /tmp/efssync-old /tmp/efssync-new
# Environment: ROUNDS (default 5), AB_WORK (default a new directory in /tmp).
set -euo pipefail
OLD=$1 NEW=$2
ROUNDS=${ROUNDS:-5}
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO/bench/lib/minio.sh"
W=${AB_WORK:-$(mktemp -d /tmp/efssync-s3ab.XXXXXX)}
T=$W/t
mkdir -p "$T"
mountpoint -q "$T" || mount -t tmpfs -o size=2g efssync-s3ab "$T" 2>/dev/null || echo "s3ab: not root; using $T on its own file system" >&2
minio_find s3ab
trap minio_stop EXIT
minio_start s3ab "$T" s3ab
go build -o "$W/gendata" "$REPO/bench/cmd/gendata"
[ -d "$T/src" ] || "$W/gendata" -dir "$T/src" -files 5000 -dirs 200 -min 1024 -max 16384

config() { # state-dir source-yaml destination-yaml
	printf 'state_dir: %s\njobs:\n  - name: ab\n    source: %s\n    destinations:\n      - %s\n' "$1" "$2" "$3" >"$1.yaml"
}
s3() { printf '{type: s3, bucket: s3ab, prefix: %s, endpoint: "%s", path_style: true, region: us-east-1}' "$1" "$ENDPOINT"; }
run() { # label binary phase state-dir
	local m0
	m0=$(minio_ticks)
	/usr/bin/time -f "%e %U %S" -o "$W/time.out" "$2" run --config "$4.yaml" >/dev/null 2>"$W/err.out" ||
		{ echo "s3ab: $1 $3 failed" >&2; cat "$W/err.out" >&2; exit 1; }
	read -r e u s <"$W/time.out"
	echo "$1 $3 $e $(echo "$u + $s" | bc) $(echo "($(minio_ticks) - $m0) / $(getconf CLK_TCK)" | bc -l | xargs printf '%.2f')"
}
# The objects restored: archived once, by NEW, so both read the same ones.
config "$T/seed" "$T/src" "$(s3 seed)"
"$NEW" run --config "$T/seed.yaml" >/dev/null 2>&1
n=0
for _ in $(seq "$ROUNDS"); do
	for side in old new; do
		bin=$OLD; [ $side = new ] && bin=$NEW
		n=$((n + 1))
		config "$T/a$n" "$T/src" "$(s3 "a$n")"
		run $side "$bin" archive "$T/a$n"
		mkdir -p "$T/r$n"
		config "$T/rs$n" "$(s3 seed)" "{type: fs, path: $T/r$n}"
		run $side "$bin" restore "$T/rs$n"
		rm -rf "$T/r$n" "$T/rs$n" "$T/a$n"
	done
done | tee "$W/runs.txt"
echo "medians (wall, client CPU, MinIO CPU seconds):"
for k in "old archive" "new archive" "old restore" "new restore"; do
	grep "^$k " "$W/runs.txt" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split()[2:])) for l in sys.stdin]
print("%-12s" % sys.argv[1], " ".join("%.2f" % statistics.median(c) for c in zip(*rows)), "(%d runs)" % len(rows))' "$k"
done
