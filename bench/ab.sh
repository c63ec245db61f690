#!/usr/bin/env bash
# bench/ab.sh OLD NEW — A/B of two efssync binaries on the same tmpfs data,
# interleaved (old, new, old, new, ...), so load from other work falls on
# both alike. Prints wall and CPU (user+sys) seconds of every run and the
# medians. Used to check a hot-path change before and after:
#   git worktree add /tmp/old REV && (cd /tmp/old && CGO_ENABLED=0 go build -o /tmp/efssync-old ./cmd/efssync)
#   CGO_ENABLED=0 go build -o /tmp/efssync-new ./cmd/efssync
#   sudo bash bench/ab.sh /tmp/efssync-old /tmp/efssync-new
# Environment: ROUNDS (default 5), AB_WORK (default a new directory in /tmp).
set -euo pipefail
OLD=$1 NEW=$2
ROUNDS=${ROUNDS:-5}
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
W=${AB_WORK:-$(mktemp -d /tmp/efssync-ab.XXXXXX)}
T=$W/t
mkdir -p "$T"
mountpoint -q "$T" || mount -t tmpfs -o size=4g efssync-ab "$T" 2>/dev/null || echo "ab: not root; using $T on its own file system" >&2
go build -o "$W/gendata" "$REPO/bench/cmd/gendata"
[ -d "$T/src/small" ] || "$W/gendata" -dir "$T/src/small" -files 20000 -dirs 200 -min 1024 -max 16384
[ -d "$T/src/large" ] || "$W/gendata" -dir "$T/src/large" -files 2 -dirs 0 -min 268435456 -max 268435456 -seed 2
run() { # label binary data-set phase
	local st=$T/state/$1-$3 dst=$T/dst/$1-$3
	if [ "$4" = first ]; then
		rm -rf "$dst" "$st"
		mkdir -p "$dst" "$st"
		printf 'state_dir: %s\njobs:\n  - name: bench\n    source: %s\n    destinations:\n      - {type: fs, path: %s}\n' \
			"$st" "$T/src/$3" "$dst" >"$st/config.yaml"
	fi
	/usr/bin/time -f "%e %U %S" -o "$W/time.out" "$2" run --config "$st/config.yaml" >/dev/null 2>"$W/err.out" ||
		{ echo "ab: $1 $3 $4 failed" >&2; cat "$W/err.out" >&2; exit 1; }
	read -r e u s <"$W/time.out"
	echo "$1 $3 $4 $e $(echo "$u + $s" | bc)"
}
for _ in $(seq "$ROUNDS"); do
	for side in old new; do
		bin=$OLD; [ $side = new ] && bin=$NEW
		run $side "$bin" small first
		run $side "$bin" small rerun
		run $side "$bin" large first
	done
done | tee "$W/runs.txt"
echo "median wall / cpu seconds:"
# Plain awk (mawk has no asort): each key's values are sorted by sort(1)
# first, so the median is picked by position.
median() { # column
	sort -k1,3 -k"$1","$1"n "$W/runs.txt" | awk -v c="$1" '
		{ k = $1 " " $2 " " $3; n[k]++; v[k, n[k]] = $c }
		END { for (k in n) { m = n[k]; printf "%s %s\n", k, (m % 2 ? v[k, (m+1)/2] : (v[k, m/2] + v[k, m/2+1]) / 2) } }' | sort
}
join <(median 4 | sed 's/ /_/; s/ /_/') <(median 5 | sed 's/ /_/; s/ /_/') |
	awk '{ split($1, k, "_"); printf "%-20s wall %.2f  cpu %.2f\n", k[1] " " k[2] " " k[3], $2, $3 }'
