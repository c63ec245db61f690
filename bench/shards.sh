#!/usr/bin/env bash
# bench/shards.sh — one migration split into N = 1, 2, 4 shards, into the
# simulated EFS mount. Each shard is its own efssync process writing through
# its own latencyfs process over one shared backing directory, as separate
# hosts mounting one EFS file system would. Reports the aggregate files/s,
# the per-shard balance (files each shard copied) and the CPU per file of
# the efssync processes and of the latencyfs processes. Run as
# `make bench-shards`.
#
# On a machine with few cores the aggregate is CPU-bound: the N agents and
# the N FUSE servers share the same cores, so files/s grows with N only
# while cores are idle. The CPU-per-file columns show where the time goes.
#
# Environment:
#   BENCH_SHARDS="1 2 4"   shard counts to run
#   BENCH_FILES=20000      files in the data set (BENCH_DIRS directories,
#   BENCH_DIRS=200         1..16 KiB each)
#   BENCH_BIG=4            also this many big files of about 5% of the data
#                          set's bytes each (sparse): the long tail the
#                          partition balances bytes over (0 for none)
#   BENCH_PROFILE=efs      latencyfs profile: efs (0.25 ms reads, 2.7 ms writes) or nfs
#   BENCH_OUT=             also write the table to this file
#   BENCH_KEEP=1           keep the work directory
#   BENCH_SMOKE=1          1,000 files in 20 directories, to test the harness
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARDS="${BENCH_SHARDS:-1 2 4}"
FILES="${BENCH_FILES:-20000}"
DIRS="${BENCH_DIRS:-200}"
BIG="${BENCH_BIG:-4}"
PROFILE="${BENCH_PROFILE:-efs}"
if [ "${BENCH_SMOKE:-0}" = 1 ]; then FILES=1000 DIRS=20; fi

for tool in go fusermount3 mountpoint; do
	command -v "$tool" >/dev/null || { echo "bench: $tool missing; run scripts/install-test-deps.sh" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/efssync-shards.XXXXXX)"
T="$(mktemp -d /dev/shm/efssync-shards.XXXXXX)" # tmpfs: source, backing, state
LFS_PIDS=()
MOUNTS=()

unmount_all() {
	local pid m
	for pid in "${LFS_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${LFS_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for m in "${MOUNTS[@]}"; do
		if mountpoint -q "$m"; then fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; fi
	done
	LFS_PIDS=()
	MOUNTS=()
}
cleanup() {
	set +e
	unmount_all
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $WORK and $T"; else rm -rf "$WORK" "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

cd "$REPO"
log "building"
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/latencyfs" ./bench/cmd/latencyfs
go build -o "$WORK/bin/gendata" ./bench/cmd/gendata
CGO_ENABLED=0 go build -o "$WORK/bin/efssync" ./cmd/efssync

log "generating $FILES files in $DIRS directories"
"$WORK/bin/gendata" -dir "$T/src" -files "$FILES" -dirs "$DIRS" -min 1024 -max 16384
if [ "$BIG" -gt 0 ]; then
	# Each big file is 5% of the final total: small / (1 - 0.05 * BIG) / 20.
	small=$(du -sb --apparent-size "$T/src" | cut -f1)
	big=$(awk -v s="$small" -v b="$BIG" 'BEGIN { printf "%d", s / (1 - 0.05 * b) / 20 }')
	log "adding $BIG big files of $big bytes"
	for ((i = 0; i < BIG; i++)); do truncate -s "$big" "$T/src/big-$i.bin"; done
	FILES=$((FILES + BIG))
fi

# cpu_of FILE: user + system seconds from a /usr/bin/time -f '%e %U %S' file.
cpu_of() { awk '{ printf "%.3f", $2 + $3 }' "$1"; }
# proc_cpu PID: user + system seconds a running process has used so far.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

ROWS="$WORK/rows.md"
: >"$ROWS"
for n in $SHARDS; do
	log "N=$n: mounting $n latencyfs over one backing directory"
	backing="$T/efs-$n"
	mkdir -p "$backing"
	for ((i = 0; i < n; i++)); do
		m="$WORK/mnt-$n-$i"
		mkdir -p "$m"
		"$WORK/bin/latencyfs" -profile "$PROFILE" -backing "$backing" -mount "$m" >"$WORK/lfs-$n-$i.log" 2>&1 &
		LFS_PIDS+=("$!")
		MOUNTS+=("$m")
	done
	for m in "${MOUNTS[@]}"; do
		for _ in $(seq 100); do mountpoint -q "$m" && break; sleep 0.1; done
		mountpoint -q "$m" || { cat "$WORK"/lfs-"$n"-*.log >&2; echo "bench: latencyfs did not mount $m" >&2; exit 1; }
	done
	for ((i = 0; i < n; i++)); do
		mkdir -p "$T/state-$n-$i"
		cat >"$T/state-$n-$i/config.yaml" <<-EOF
			state_dir: $T/state-$n-$i
			jobs:
			  - name: bench
			    source: $T/src
			    destinations:
			      - type: fs
			        path: $WORK/mnt-$n-$i
		EOF
	done

	log "N=$n: running $n shards"
	start=$(date +%s.%N)
	pids=()
	for ((i = 0; i < n; i++)); do
		/usr/bin/time -f '%e %U %S' -o "$WORK/run-$n-$i.time" \
			"$WORK/bin/efssync" run --config "$T/state-$n-$i/config.yaml" --shard "$i/$n" 2>"$WORK/run-$n-$i.log" &
		pids+=("$!")
	done
	failed=0
	for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
	end=$(date +%s.%N)
	[ "$failed" = 0 ] || { tail -5 "$WORK"/run-"$n"-*.log >&2; echo "bench: a shard failed (N=$n)" >&2; exit 1; }
	fuse_cpu=0
	for pid in "${LFS_PIDS[@]}"; do
		fuse_cpu=$(awk -v a="$fuse_cpu" -v b="$(proc_cpu "$pid")" 'BEGIN { print a + b }')
	done
	unmount_all

	copied=() bytes=() agent_cpu=0 total=0
	for ((i = 0; i < n; i++)); do
		c=$(grep -o '"copied":[0-9]*' "$WORK/run-$n-$i.log" | tail -1 | cut -d: -f2)
		b=$(grep '"run finished"' "$WORK/run-$n-$i.log" | grep -o '"bytes":[0-9]*' | tail -1 | cut -d: -f2)
		copied+=("${c:-0}")
		bytes+=("${b:-0}")
		total=$((total + ${c:-0}))
		agent_cpu=$(awk -v a="$agent_cpu" -v b="$(cpu_of "$WORK/run-$n-$i.time")" 'BEGIN { print a + b }')
	done
	[ "$total" = "$FILES" ] || { echo "bench: N=$n copied $total files, the data set has $FILES" >&2; exit 1; }
	awk -v n="$n" -v s="$start" -v e="$end" -v files="$total" -v acpu="$agent_cpu" -v fcpu="$fuse_cpu" \
		-v per="${copied[*]}" -v perb="${bytes[*]}" 'BEGIN {
		wall = e - s
		k = split(per, c, " "); mean = files / k; dev = 0
		for (i = 1; i <= k; i++) { d = (c[i] - mean) / mean; if (d < 0) d = -d; if (d > dev) dev = d }
		split(perb, b, " "); sum = 0; for (i = 1; i <= k; i++) sum += b[i]; meanb = sum / k; devb = 0
		for (i = 1; i <= k; i++) { d = meanb ? (b[i] - meanb) / meanb : 0; if (d < 0) d = -d; if (d > devb) devb = d }
		printf "| %d | %.2f | %.0f | %s | ±%.1f%% | ±%.1f%% | %.0f | %.0f |\n", n, wall, files / wall, per, 100 * dev, 100 * devb, 1e6 * acpu / files, 1e6 * fcpu / files
	}' >>"$ROWS"
	rm -rf "$backing"
done

{
	echo "Sharded migration into the simulated EFS mount (profile $PROFILE): $FILES files of 1–16 KiB in $DIRS directories"
	echo "and $BIG big files of about 5% of the bytes each,"
	echo "each shard its own efssync process through its own latencyfs process over one backing directory, on $(nproc) cores."
	echo
	echo "| shards | wall s | aggregate files/s | files per shard | worst shard vs mean: files | bytes | efssync CPU µs/file | latencyfs CPU µs/file |"
	echo "|---|---|---|---|---|---|---|---|"
	cat "$ROWS"
} | tee "${BENCH_OUT:-/dev/null}"
