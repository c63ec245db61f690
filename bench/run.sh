#!/usr/bin/env bash
# bench/run.sh — compare efssync with cp -a, rsync -a, fpsync and rclone copy,
# on tmpfs and on a simulated EFS mount (latencyfs), and regenerate
# docs/BENCHMARKS.md below its generated marker. Run as `make bench`.
#
# Environment:
#   BENCH_RUNS=3         runs per measurement on tmpfs (medians are reported;
#                        fpsync always runs once per N)
#   BENCH_FUSE_RUNS=1    runs per measurement on the simulated EFS mount
#   BENCH_PROFILE=efs    latencyfs profile: efs (0.25 ms reads, 2.7 ms writes) or nfs
#   BENCH_PARALLEL="8 32" N values tried for fpsync -n N and rclone --transfers N
#   BENCH_DATASETS="small medium large"  data sets to run
#   BENCH_SCALE=1        also run the 1,000,000-file data set ("huge"; slow)
#   BENCH_FULL=1         on the mount, also run the serial peers (cp -a, rsync)
#                        on the 20,000-file set and cp -a re-runs (adds ~15 min)
#   BENCH_OUT=docs/BENCHMARKS.md
#   BENCH_KEEP=1         keep the work directory
#   BENCH_SMOKE=1        tiny data sets (500/1,000 files, 2 x 16 MiB) to test the harness
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${BENCH_RUNS:-3}"
FUSE_RUNS="${BENCH_FUSE_RUNS:-1}"
PROFILE="${BENCH_PROFILE:-efs}"
PARALLEL="${BENCH_PARALLEL:-8 32}"
DATASETS="${BENCH_DATASETS:-small medium large}"
if [ "${BENCH_SCALE:-0}" = 1 ]; then DATASETS="$DATASETS huge"; fi
FULL="${BENCH_FULL:-0}"
OUT="${BENCH_OUT:-$REPO/docs/BENCHMARKS.md}"

for tool in cp rsync fpsync fpart rclone go; do
	command -v "$tool" >/dev/null || { echo "bench: $tool missing; run scripts/install-test-deps.sh" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/efssync-bench.XXXXXX)"
T="$WORK/tmpfs"      # everything the tools read and write lives here
MNT="$WORK/mnt"      # the simulated EFS mount (latencyfs over $T/efs)
mkdir -p "$T" "$MNT" "$WORK/bin"
TMPFS_MOUNTED=0
LFS_PID=""

cleanup() {
	set +e
	if [ -n "$LFS_PID" ]; then
		kill -TERM "$LFS_PID" 2>/dev/null
		wait "$LFS_PID" 2>/dev/null
	fi
	mountpoint -q "$MNT" && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
	if [ "$TMPFS_MOUNTED" = 1 ]; then umount "$T" || umount -l "$T"; fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

# --- tmpfs -------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=75% efssync-bench "$T" 2>/dev/null; then
	TMPFS_MOUNTED=1
else
	# Not root: fall back to /dev/shm, which is a tmpfs on Linux.
	T="$(mktemp -d /dev/shm/efssync-bench.XXXXXX)"
	trap 'cleanup; rm -rf "$T"' EXIT
fi
mkdir -p "$T/src" "$T/dst" "$T/efs" "$T/state"

# --- build -------------------------------------------------------------------
cd "$REPO"
log "building"
go build -o "$WORK/bin/latencyfs" ./bench/cmd/latencyfs
go build -o "$WORK/bin/gendata" ./bench/cmd/gendata
go build -o "$WORK/bin/benchreport" ./bench/cmd/benchreport
EFSSYNC_OK=1
if ! CGO_ENABLED=0 go build -o "$WORK/bin/efssync" ./cmd/efssync 2>"$WORK/efssync-build.log"; then
	log "efssync does not build; its rows will be empty (see below)"
	cat "$WORK/efssync-build.log" >&2
	EFSSYNC_OK=0
fi
EFSSYNC_VERSION="$( [ "$EFSSYNC_OK" = 1 ] && "$WORK/bin/efssync" version 2>/dev/null | head -1 || echo unavailable)"
EFSSYNC_COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# --- data sets -----------------------------------------------------------------
declare -A NFILES
gen() { # name files dirs min max
	log "generating $1: $2 files"
	"$WORK/bin/gendata" -dir "$T/src/$1" -files "$2" -dirs "$3" -min "$4" -max "$5"
	NFILES[$1]="$2"
}
SMOKE="${BENCH_SMOKE:-0}"
for ds in $DATASETS; do
	if [ "$SMOKE" = 1 ]; then
		case "$ds" in
		small) gen small 500 20 1024 16384 ;;
		medium) gen medium 1000 20 1024 16384 ;;
		large) gen large 2 0 16777216 16777216 ;;
		huge) gen huge 5000 50 1024 16384 ;;
		esac
		continue
	fi
	case "$ds" in
	small) gen small 5000 200 1024 16384 ;;
	medium) gen medium 20000 200 1024 16384 ;;
	large) gen large 2 0 268435456 268435456 ;;
	huge) gen huge 1000000 1000 1024 4096 ;;
	*) echo "bench: unknown data set $ds" >&2; exit 2 ;;
	esac
done

# --- simulated EFS --------------------------------------------------------------
COUNTS="$WORK/counts.json"
"$WORK/bin/latencyfs" -profile "$PROFILE" -backing "$T/efs" -mount "$MNT" -counts "$COUNTS" >"$WORK/latencyfs.log" 2>&1 &
LFS_PID=$!
for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.1; done
mountpoint -q "$MNT" || { cat "$WORK/latencyfs.log" >&2; echo "bench: latencyfs did not mount" >&2; exit 1; }

# dump_counts: ask latencyfs for its counters and print them as one line.
dump_counts() {
	rm -f "$COUNTS"
	kill -USR1 "$LFS_PID"
	for _ in $(seq 100); do [ -s "$COUNTS" ] && break; sleep 0.05; done
	tr -d ' \n' <"$COUNTS"
}

# --- measuring ------------------------------------------------------------------
RESULTS="$WORK/results.tsv"
COMMANDS="$WORK/commands.txt"
: >"$RESULTS"
: >"$COMMANDS"
SEQ=0

# target_dir TARGET NAME: where tools write (through the mount for efs), and
# backing_dir: the same directory seen without FUSE (for seeding, cleanup).
target_dir() { if [ "$1" = efs ]; then echo "$MNT/$2"; else echo "$T/dst/$2"; fi; }
backing_dir() { if [ "$1" = efs ]; then echo "$T/efs/$2"; else echo "$T/dst/$2"; fi; }

# command_for TOOL N SRC DST STATE: the exact command line.
command_for() {
	local tool=$1 n=$2 src=$3 dst=$4 state=$5
	case "$tool" in
	efssync) echo "$WORK/bin/efssync run --config $state/config.yaml" ;;
	cp) echo "cp -a $src/. $dst/" ;;
	rsync) echo "rsync -a $src/ $dst/" ;;
	fpsync)
		local f=$(( (NFILES[$CUR_DS] + 2 * n - 1) / (2 * n) ))
		[ "$f" -lt 50 ] && f=50
		echo "fpsync -n $n -f $f -o -lptgoD\\ --numeric-ids -t $state/fpsync $src/ $dst/" ;;
	rclone) echo "rclone copy --config $WORK/rclone.conf -q --transfers $n --checkers $n $src $dst" ;;
	esac
}
: >"$WORK/rclone.conf"

# measure DS TARGET TOOL N PHASE RUN SRC DST STATE: run once, append a row.
measure() {
	local ds=$1 target=$2 tool=$3 n=$4 phase=$5 run=$6 src=$7 dst=$8 state=$9
	local cmd ok=1 secs rss ops="{}"
	cmd="$(command_for "$tool" "$n" "$src" "$dst" "$state")"
	local shown="${cmd//$state/\$STATE}"
	shown="${shown//$dst/\$DST}"
	shown="${shown//$src/\$SRC}"
	shown="${shown//$WORK/\$WORK}"
	grep -qxF "$shown" "$COMMANDS" || echo "$shown" >>"$COMMANDS"
	[ "$target" = efs ] && kill -USR2 "$LFS_PID"
	sync
	if ! eval "/usr/bin/time -f '%e %M' -o '$WORK/time.out' $cmd" >"$WORK/tool.log" 2>&1; then
		ok=0
		log "FAILED: $cmd"; tail -5 "$WORK/tool.log" >&2
	fi
	[ "$target" = efs ] && ops="$(dump_counts)"
	read -r secs rss < <(tail -1 "$WORK/time.out")
	# A run that leaves files missing does not count, however fast.
	local got
	got="$(find "$(backing_dir "$target" "$(basename "$dst")")" -type f | wc -l)"
	if [ "$got" -ne "${NFILES[$ds]}" ]; then
		ok=0
		log "INCOMPLETE: $tool $ds $target $phase: $got of ${NFILES[$ds]} files"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$target" "$tool" "$n" "$phase" "$run" "$secs" "$rss" "$ok" "$ops" >>"$RESULTS"
	log "$ds $target $tool${n:+ N=$n} $phase #$run: ${secs}s ${rss}KB ok=$ok"
}

# efssync_config STATE SRC DST: the one-job configuration every efssync row uses.
efssync_config() {
	cat >"$1/config.yaml" <<-EOF
		state_dir: $1/efssync
		jobs:
		  - name: bench
		    source: $2
		    destinations:
		      - type: fs
		        path: $3
	EOF
}

# bench_adopt DS: efssync's first run, with no manifest, against a replica
# rsync -a seeded behind the mount's back (issue 12): it must write nothing
# through the mount (write_bytes in the latencyfs counters) and beat
# efssync's own first copy of the set at least 5x (benchreport checks both).
bench_adopt() {
	local ds=$1
	[ "$EFSSYNC_OK" = 0 ] && return 0
	CUR_DS=$ds
	SEQ=$((SEQ + 1))
	local name="$ds-adopt-$SEQ" state="$T/state/$ds-adopt-$SEQ" src="$T/src/$ds" dst
	dst="$(target_dir efs "$name")"
	mkdir -p "$state" "$(backing_dir efs "$name")"
	efssync_config "$state" "$src" "$dst"
	rsync -a "$src/" "$(backing_dir efs "$name")/"
	measure "$ds" efs efssync "" adopt 1 "$src" "$dst" "$state"
	rm -rf "$(backing_dir efs "$name")" "$state"
}

# bench_tool DS TARGET TOOL N ROUND FIRST RERUN: run number ROUND: sync into
# an empty destination (if FIRST=1) and sync again unchanged (if RERUN=1).
# When the first sync is skipped the destination is seeded behind the
# mount's back.
bench_tool() {
	local ds=$1 target=$2 tool=$3 n=$4 r=$5 first=$6 rerun=$7
	[ "$tool" = efssync ] && [ "$EFSSYNC_OK" = 0 ] && return 0
	CUR_DS=$ds
	SEQ=$((SEQ + 1))
	local name="$ds-$tool$n-$SEQ" state="$T/state/$ds-$tool$n-$SEQ"
	local dst src="$T/src/$ds"
	dst="$(target_dir "$target" "$name")"
	mkdir -p "$state/fpsync"
	[ "$tool" = efssync ] && efssync_config "$state" "$src" "$dst"
	if [ "$first" = 1 ]; then
		mkdir -p "$dst"
		measure "$ds" "$target" "$tool" "$n" first "$r" "$src" "$dst" "$state"
	else
		cp -a "$src/." "$(backing_dir "$target" "$name")/"
	fi
	if [ "$rerun" = 1 ]; then
		measure "$ds" "$target" "$tool" "$n" rerun "$r" "$src" "$dst" "$state"
	fi
	rm -rf "$(backing_dir "$target" "$name")" "$state"
}

# best_n DS TARGET TOOL: the N with the lowest median first-sync time so far.
best_n() {
	awk -F'\t' -v d="$1" -v t="$2" -v tool="$3" '$1==d && $2==t && $3==tool && $5=="first" && $9==1 {print $4, $7}' "$RESULTS" |
		sort -k1,1n -k2,2n | awk '{v[$1]=v[$1] " " $2; c[$1]++} END {for (n in v) {split(substr(v[n],2), a, " "); print a[int((c[n]+1)/2)], n}}' |
		sort -n | head -1 | awk '{print $2}'
}

run_target() { # TARGET RUNS
	local target=$1 runs=$2 ds tool n serial_first cp_rerun
	for ds in $DATASETS; do
		serial_first=1
		cp_rerun=1
		if [ "$target" = efs ] && [ "$FULL" != 1 ]; then
			cp_rerun=0
			case "$ds" in medium | huge) serial_first=0 ;; esac
		fi
		if [ "$ds" = huge ]; then runs=1; fi
		# Rounds are interleaved (every tool once, then again), so a change
		# in the machine's load during the data set falls on every tool
		# alike instead of on whichever ran at the time.
		for r in $(seq "$runs"); do
			bench_tool "$ds" "$target" efssync "" "$r" 1 1
			[ "$serial_first" = 1 ] && bench_tool "$ds" "$target" cp "" "$r" 1 "$cp_rerun"
			bench_tool "$ds" "$target" rsync "" "$r" "$serial_first" 1
			for tool in fpsync rclone; do
				# fpsync's time is dominated by its fixed 0.2 s polling loop
				# and 1 s pause, not by the copy: one run per N keeps the
				# default run short.
				[ "$tool" = fpsync ] && [ "$r" -gt 1 ] && continue
				if [ "$ds" = small ] || [ "$FULL" = 1 ]; then
					for n in $PARALLEL; do bench_tool "$ds" "$target" "$tool" "$n" "$r" 1 1; done
				else
					# Larger sets: only the best N found on "small" (same target).
					n="$(best_n small "$target" "$tool")"
					bench_tool "$ds" "$target" "$tool" "${n:-${PARALLEL##* }}" "$r" 1 1
				fi
			done
		done
	done
}

START=$(date +%s)
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "tmpfs: $RUNS runs each"
run_target tmpfs "$RUNS"
log "simulated EFS ($PROFILE profile): $FUSE_RUNS runs each"
run_target efs "$FUSE_RUNS"
case " $DATASETS " in *" medium "*)
	log "simulated EFS: adopting an rsync-seeded replica"
	bench_adopt medium ;;
esac
ELAPSED=$(( $(date +%s) - START ))

# --- report -----------------------------------------------------------------------
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "nproc=$(nproc)"
	echo "kernel=$(uname -sr)"
	echo "memory=$(free -h | awk '/^Mem:/ {print $2}')"
	echo "efssync=$EFSSYNC_VERSION ($EFSSYNC_COMMIT)"
	echo "efssync_built=$EFSSYNC_OK"
	echo "peers=$(cp --version | head -1); $(rsync --version | head -1 | awk '{print $1, $2, $3}'); fpsync $(fpart -V 2>&1 | head -1 | awk '{print $2}'); $(rclone version 2>/dev/null | head -1)"
	echo "profile=$PROFILE"
	echo "runs=$RUNS"
	echo "fuse_runs=$FUSE_RUNS"
	echo "parallel=$PARALLEL"
	echo "full=$FULL"
	echo "elapsed=${ELAPSED}s"
	echo "loadavg=$LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end (above nproc means other work shared the CPUs)"
	for ds in $DATASETS; do echo "files_$ds=${NFILES[$ds]}"; done
	[ "$SMOKE" = 1 ] && echo "smoke=1 (tiny data sets: the file counts in the headings are wrong)"
} >"$WORK/meta.txt"
"$WORK/bin/benchreport" -results "$RESULTS" -meta "$WORK/meta.txt" -commands "$COMMANDS" -out "$OUT"
log "wrote $OUT (benchmarks took ${ELAPSED}s)"
