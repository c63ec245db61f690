#!/usr/bin/env bash
# bench/s3restore.sh — the restore section of `make bench-s3`: efssync
# restoring from S3 (a job whose source is a bucket and prefix) against
# `aws s3 cp --recursive`, `aws s3 sync` and `rclone copy` at its best
# --transfers, from a local MinIO on tmpfs into tmpfs and into a simulated
# EFS mount (bench/cmd/latencyfs). Writes docs/BENCHMARKS.md between
# <!-- s3restore:begin --> and <!-- s3restore:end --> (bench/s3.sh calls it
# after its own section; it also runs alone).
#
# One run: start MinIO, generate 5,000 files of 1–16 KiB and 2 of 256 MiB,
# archive each set with efssync (so the objects carry the BLAKE3 efssync
# checks on restore), then per tool and target: restore into an empty
# directory, and (small files) the same command again over the unchanged
# tree. GETs are counted from MinIO's own request metrics: efssync's
# unchanged re-run must make none.
#
# Environment (as bench/s3.sh): BENCH_RUNS=3, BENCH_S3_TRANSFERS="8 32 64",
# BENCH_DATASETS="small large", BENCH_OUT=docs/BENCHMARKS.md ("-": stdout),
# BENCH_KEEP=1, BENCH_SMOKE=1 (300 files, 2 x 8 MiB, one run),
# BENCH_RESTORE_TARGETS="tmpfs efs", BENCH_RESTORE_TOOLS="efssync aws-cp aws-sync rclone".
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE="${BENCH_SMOKE:-0}"
RUNS="${BENCH_RUNS:-3}"
[ "$SMOKE" = 1 ] && RUNS=1
TRANSFERS="${BENCH_S3_TRANSFERS:-8 32 64}"
DATASETS="${BENCH_DATASETS:-small large}"
TARGETS="${BENCH_RESTORE_TARGETS:-tmpfs efs}"
TOOLS="${BENCH_RESTORE_TOOLS:-efssync aws-cp aws-sync rclone}"
OUT="${BENCH_OUT:-$REPO/docs/BENCHMARKS.md}"
BEGIN='<!-- s3restore:begin -->'
END='<!-- s3restore:end -->'
BUCKET=restore

# shellcheck source=bench/lib/minio.sh
. "$REPO/bench/lib/minio.sh"
# shellcheck source=bench/lib/s3run.sh
. "$REPO/bench/lib/s3run.sh"
minio_find bench-s3-restore
for tool in aws rclone go curl python3; do
	command -v "$tool" >/dev/null || { echo "bench-s3-restore: $tool missing" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench-s3-restore: /usr/bin/time missing" >&2; exit 2; }

WORK="$(mktemp -d /dev/shm/efssync-bench-restore.XXXXXX)"
mkdir -p "$WORK/bin" "$WORK/src" "$WORK/minio" "$WORK/state" "$WORK/efs" "$WORK/mnt" "$WORK/tmpfs"
MINIO_PID="" LFS_PID=""
cleanup() {
	set +e
	# latencyfs unmounts and exits on SIGTERM; unmounted from outside it
	# would never exit, and waiting for it hung the script at its end.
	if [ -n "$LFS_PID" ]; then
		kill -TERM "$LFS_PID" 2>/dev/null
		wait "$LFS_PID" 2>/dev/null
	fi
	mountpoint -q "$WORK/mnt" && { fusermount3 -u "$WORK/mnt" 2>/dev/null || umount -l "$WORK/mnt"; }
	minio_stop
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench-s3-restore: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s bench-s3-restore: %s\n' "$(date +%T)" "$*" >&2; }
START=$(date +%s)
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

cd "$REPO"
log "building"
build_tools "$WORK"
go build -o "$WORK/bin/latencyfs" ./bench/cmd/latencyfs

# --- MinIO, with its request metrics readable without a token -----------------------
log "starting MinIO"
minio_start bench-s3-restore "$WORK" "$BUCKET"
log "MinIO on $ENDPOINT"

# gets: GetObject requests MinIO has served so far (its own counter). MinIO
# refreshes its metrics every few seconds, so the count is read until it
# held still for 12 s (efssync's runs only: the GETs reported are its own).
gets_now() {
	curl -fsS "$ENDPOINT/minio/v2/metrics/node" |
		awk '/^minio_s3_requests_total\{/ && /api="getobject"/ {s += $NF} END {printf "%d\n", s}'
}
gets() {
	local a b
	a="$(gets_now)"
	for _ in $(seq 30); do
		sleep 12
		b="$(gets_now)"
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$a"
}

# settle waits (at most 60 s) until MinIO has used less than 5% of a CPU for
# two seconds in a row. After archiving 5,000 objects MinIO keeps working in
# the background (measured: about 10% of a CPU for 20-40 s), and whichever
# tool ran first paid for it, so every measured command starts against a
# quiet server.
settle() {
	local a b quiet=0 hz
	hz="$(getconf CLK_TCK)"
	a="$(minio_ticks)"
	for _ in $(seq 60); do
		sleep 1
		b="$(minio_ticks)"
		if [ $(((b - a) * 100)) -lt $((5 * hz)) ]; then quiet=$((quiet + 1)); else quiet=0; fi
		[ "$quiet" -ge 2 ] && return 0
		a=$b
	done
	log "MinIO did not settle within 60 s; measuring anyway"
}

# --- simulated EFS ------------------------------------------------------------------
EFS_OK=0
if [[ " $TARGETS " == *" efs "* ]]; then
	"$WORK/bin/latencyfs" -profile efs -backing "$WORK/efs" -mount "$WORK/mnt" >"$WORK/latencyfs.log" 2>&1 &
	LFS_PID=$!
	for _ in $(seq 100); do mountpoint -q "$WORK/mnt" && break; sleep 0.1; done
	if mountpoint -q "$WORK/mnt"; then EFS_OK=1; else log "latencyfs did not mount; the efs target is left out"; fi
fi
target_dir() { case "$1" in tmpfs) echo "$WORK/tmpfs" ;; efs) echo "$WORK/mnt" ;; esac; }

# --- data sets, archived by efssync ---------------------------------------------------
declare -A NFILES NBYTES
for ds in $DATASETS; do
	case "$ds:$SMOKE" in
	small:1) args=(300 20 1024 16384) ;;
	large:1) args=(2 0 8388608 8388608) ;;
	small:*) args=(5000 200 1024 16384) ;;
	large:*) args=(2 0 268435456 268435456) ;;
	*) echo "bench-s3-restore: unknown data set $ds" >&2; exit 2 ;;
	esac
	log "generating and archiving $ds"
	"$WORK/bin/gendata" -dir "$WORK/src/$ds" -files "${args[0]}" -dirs "${args[1]}" -min "${args[2]}" -max "${args[3]}"
	NFILES[$ds]="$(find "$WORK/src/$ds" -type f | wc -l)"
	NBYTES[$ds]="$(find "$WORK/src/$ds" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
	cat >"$WORK/state/archive-$ds.yaml" <<-EOF
		state_dir: $WORK/state/archive-$ds
		jobs:
		  - name: archive
		    source: $WORK/src/$ds
		    destinations:
		      - {type: s3, bucket: $BUCKET, prefix: $ds, endpoint: "$ENDPOINT", path_style: true, region: us-east-1}
	EOF
	"$WORK/bin/efssync" run --config "$WORK/state/archive-$ds.yaml" >"$WORK/archive.log" 2>&1 ||
		{ tail -20 "$WORK/archive.log" >&2; exit 1; }
done

# --- measuring ------------------------------------------------------------------------
RESULTS="$WORK/results.tsv"
COMMANDS="$WORK/commands.txt"
: >"$RESULTS"
: >"$COMMANDS"
SEQ=0

command_for() { # tool n ds dst state
	case "$1" in
	efssync) echo "$WORK/bin/efssync run --config $5/config.yaml" ;;
	aws-cp) echo "aws --endpoint-url $ENDPOINT s3 cp --recursive --only-show-errors s3://$BUCKET/$3 $4" ;;
	aws-sync) echo "aws --endpoint-url $ENDPOINT s3 sync --only-show-errors s3://$BUCKET/$3 $4" ;;
	rclone) echo "rclone copy -q --transfers $2 --checkers $2 minio:$BUCKET/$3 $4" ;;
	esac
}

measure() { # ds target tool n phase run dst state
	local ds=$1 target=$2 tool=$3 n=$4 phase=$5 run=$6 dst=$7 state=$8 ok=1 g0 g1 m0 m1 srv
	local cmd shown
	cmd="$(command_for "$tool" "$n" "$ds" "$dst" "$state")"
	shown="${cmd//$state/\$STATE}"
	shown="${shown//$dst/\$DST}"
	shown="${shown//$ENDPOINT/\$ENDPOINT}"
	shown="${shown//$WORK/\$WORK}"
	grep -qxF "$shown" "$COMMANDS" || echo "$shown" >>"$COMMANDS"
	g0=0 g1=0
	[ "$tool" = efssync ] && g0="$(gets)"
	settle
	m0="$(minio_ticks)"
	if ! eval "/usr/bin/time -v -o '$WORK/time.out' $cmd" >"$WORK/tool.log" 2>&1; then
		ok=0
		log "FAILED: $cmd"
		tail -5 "$WORK/tool.log" >&2
	fi
	m1="$(minio_ticks)"
	srv="$(cpu_seconds "$m0" "$m1")"
	[ "$tool" = efssync ] && g1="$(gets)"
	read -r secs rss cpu < <(time_fields "$WORK/time.out")
	local got
	got="$(find "$dst" -type f ! -name '.efssync-*' -printf '%s\n' | awk '{n++; s+=$1} END {print n+0, s+0}')"
	if [ "$got" != "${NFILES[$ds]} ${NBYTES[$ds]}" ]; then
		ok=0
		log "INCOMPLETE: $tool $ds $target $phase: $got files/bytes, want ${NFILES[$ds]} ${NBYTES[$ds]}"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$target" "$tool" "$n" "$phase" "$run" "$secs" "$rss" "$cpu" "$ok" "$((g1 - g0))" "$srv" >>"$RESULTS"
	log "$ds $target $tool${n:+ N=$n} $phase #$run: ${secs}s ${rss}KB cpu=${cpu}s minio=${srv}s GETs=$((g1 - g0)) ok=$ok"
}

bench_once() { # ds target tool n run
	local ds=$1 target=$2 tool=$3 n=$4 r=$5
	SEQ=$((SEQ + 1))
	local dst state
	dst="$(target_dir "$target")/$ds-$tool$n-$SEQ" state="$WORK/state/r-$SEQ"
	mkdir -p "$dst" "$state"
	if [ "$tool" = efssync ]; then
		cat >"$state/config.yaml" <<-EOF
			state_dir: $state/efssync
			jobs:
			  - name: restore
			    source: {type: s3, bucket: $BUCKET, prefix: $ds, endpoint: "$ENDPOINT", path_style: true, region: us-east-1}
			    destinations:
			      - {type: fs, path: $dst}
		EOF
	fi
	measure "$ds" "$target" "$tool" "$n" first "$r" "$dst" "$state"
	[ "$ds" = small ] && measure "$ds" "$target" "$tool" "$n" rerun "$r" "$dst" "$state"
	rm -rf "$dst" "$state"
}

ENTRIES=()
for tool in $TOOLS; do
	case "$tool" in
	rclone) for n in $TRANSFERS; do ENTRIES+=("rclone:$n"); done ;;
	efssync | aws-cp | aws-sync) ENTRIES+=("$tool:") ;;
	*) echo "bench-s3-restore: unknown tool $tool" >&2; exit 2 ;;
	esac
done
for r in $(seq "$RUNS"); do
	for target in $TARGETS; do
		[ "$target" = efs ] && [ "$EFS_OK" = 0 ] && continue
		for ds in $DATASETS; do
			for i in $(seq 0 $((${#ENTRIES[@]} - 1))); do
				e="${ENTRIES[$(((i + r - 1) % ${#ENTRIES[@]}))]}"
				bench_once "$ds" "$target" "${e%%:*}" "${e#*:}" "$r"
			done
		done
	done
done
ELAPSED=$(($(date +%s) - START))

# --- report ---------------------------------------------------------------------------
cat >"$WORK/meta.txt" <<-EOF
	date=$(date -u '+%Y-%m-%d %H:%M UTC')
	cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	nproc=$(nproc)
	efssync=$EFSSYNC_COMMIT
	peers=$(aws --version 2>&1 | head -1); $(rclone version 2>/dev/null | head -1)
	runs=$RUNS
	efs_target=$([ "$EFS_OK" = 1 ] && echo "latencyfs -profile efs (0.25 ms reads, 2.7 ms writes)" || echo "not measured (no FUSE)")
	elapsed=${ELAPSED}s
	load=$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1, 5, 15 min)
EOF
[ "$SMOKE" = 1 ] && echo "smoke=1 (tiny data sets, one run: checks the harness, not the targets)" >>"$WORK/meta.txt"
# The data sets as generated, for the report's row labels.
for ds in $DATASETS; do echo "label_$ds=${NFILES[$ds]} objects, $((NBYTES[$ds] / 1048576)) MiB" >>"$WORK/meta.txt"; done
python3 "$REPO/bench/s3restore_report.py" "$RESULTS" "$WORK/meta.txt" "$COMMANDS" "$BEGIN" "$END" >"$WORK/section.md"

if [ "$OUT" = - ]; then
	cat "$WORK/section.md"
	exit 0
fi
splice_section "$OUT" "$WORK/section.md" "$BEGIN" "$END"
log "wrote the restore section of $OUT (${ELAPSED}s)"
