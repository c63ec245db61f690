# bench/lib/s3run.sh — sourced by the S3 benchmarks (bench/s3.sh,
# bench/s3restore.sh, bench/s3net.sh): one way to time a tool and read its
# GNU time figures, and one way to write a section into docs/BENCHMARKS.md.
#
# time_fields FILE
#   Prints "wall-seconds peak-RSS-KiB CPU-seconds" (user + system) from the
#   output of `/usr/bin/time -v -o FILE`.
# cpu_seconds TICKS0 TICKS1
#   Prints the CPU seconds between two readings of /proc/PID/stat ticks.
# proc_ticks PID
#   A process's user + system CPU so far, in clock ticks.
# go_module_version BIN
#   The module path and version a Go binary was built from, as `go version
#   -m` reads them ("github.com/minio/mc v0.0.0-2025..."), else "unknown".
# splice_section OUT SECTION BEGIN END [BEFORE]
#   Replaces the text between the markers BEGIN and END in OUT with the
#   file SECTION. Without the markers, the section goes above the line
#   BEFORE when given and present (bench/run.sh rewrites all below its
#   marker), else at the end.

time_fields() {
	awk -F': ' '
		/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]}
		/Maximum resident set size/ {r = $2}
		/User time/ {c += $2} /System time/ {c += $2}
		END {printf "%.2f %d %.2f\n", s, r, c}' "$1"
}

cpu_seconds() { awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}'; }

proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

splice_section() {
	python3 - "$@" <<'PY'
import os, sys
out, section_path, begin, end = sys.argv[1:5]
before = sys.argv[5] if len(sys.argv) > 5 else None
section = open(section_path).read().rstrip("\n")
doc = open(out).read() if os.path.exists(out) else "# Benchmarks\n"
b, e = doc.find(begin), doc.find(end)
if b >= 0 and e > b:
    doc = doc[:b] + section + doc[e + len(end):]
elif before and doc.find(before) >= 0:
    g = doc.find(before)
    doc = doc[:g] + section + "\n\n" + doc[g:]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
open(out + ".tmp", "w").write(doc)
os.replace(out + ".tmp", out)
PY
}

# build_tools WORK
#   Builds gendata and efssync into WORK/bin (efssync: a copy of
#   $BENCH_S3_BIN when set, to measure a binary built elsewhere) and sets
#   EFSSYNC_COMMIT to the checkout's short commit.
build_tools() {
	go build -o "$1/bin/gendata" ./bench/cmd/gendata
	if [ -n "${BENCH_S3_BIN:-}" ]; then cp "$BENCH_S3_BIN" "$1/bin/efssync"; else CGO_ENABLED=0 go build -o "$1/bin/efssync" ./cmd/efssync; fi
	EFSSYNC_COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}

go_module_version() {
	local v
	v="$(go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $2, $3}')"
	echo "${v:-unknown}"
}
