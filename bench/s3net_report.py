"""Markdown section of bench/s3net.sh (S3 through the network model) from its results.tsv."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from s3report import fmt, load, median as med  # noqa: E402

results, meta_path, commands_path, begin, end = sys.argv[1:6]
rows, meta, labels, commands = load(results, meta_path, commands_path)

acc = {}
for d, ds, tool, n, phase, run, secs, rss, cpu, ok, srv, tox in rows:
    a = acc.setdefault((d, ds, tool, n, phase), {"s": [], "r": [], "c": [], "m": [], "t": [], "f": 0})
    if ok == "1":
        for k, v in (("s", secs), ("r", rss), ("c", cpu), ("m", srv), ("t", tox)):
            a[k].append(float(v))
    else:
        a["f"] += 1
cells = {k: {**{x: med(a[x]) for x in "srcmt"}, "f": a["f"], "n": len(a["s"])} for k, a in acc.items()}

# The peers in column order; efssync variants (bench/s3net.sh's
# BENCH_NET_VARIANTS) follow efssync.
known = ["efssync", "rclone", "rclone-tuned", "aws", "mc"]
variants = sorted({k[2] for k in cells} - set(known))
tools = [t for t in known[:1] + variants + known[1:] if any(k[2] == t for k in cells)]
names = {"efssync": "efssync", "rclone": "rclone copy (best N)", "rclone-tuned": "rclone tuned",
         "aws": "aws s3 cp --recursive", "mc": "mc mirror"}


def best_n(d, ds, tool):
    c = [(v["s"], k[3]) for k, v in cells.items()
         if k[:3] == (d, ds, tool) and k[4] == "first" and v["s"] is not None]
    return min(c)[1] if c else None


def cell(d, ds, tool, phase):
    n = best_n(d, ds, tool) if tool == "rclone" else None
    if tool == "rclone":
        return cells.get((d, ds, tool, n or "", phase)), n
    for k, v in cells.items():
        if k[:3] == (d, ds, tool) and k[4] == phase:
            return v, None
    return None, None


out = [begin, "", "## S3 through a network model: archive and restore (`bench/s3net.sh`)", "",
       "`BENCH_NET=model make bench-s3`. Every tool talks to MinIO through one Toxiproxy proxy whose toxics "
       "model what a client on EC2 meets: each response waits 15 ms ± 5 ms for its first byte, and each "
       "connection carries at most 16 MB/s each way (EC2's ~90 MB/s per connection, scaled down so that "
       "MinIO, the proxy and the tool keep up on two cores; the instance's total bandwidth is not modelled). "
       "*archive* copies local files (tmpfs) into a fresh prefix, *restore* copies objects archived by "
       "efssync into an empty directory (tmpfs); *rerun* runs the same command again over the unchanged "
       "result. Cells: median wall time (÷ efssync's in brackets: above 1× means efssync is faster). "
       "MinIO, Toxiproxy and the tool share the machine's CPUs.", "",
       "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in meta]

for d in ("archive", "restore"):
    out += ["", f"**{d}**", "", "| data set | run | " + " | ".join(names.get(t, "efssync " + t) for t in tools) + " |",
            "|---|---|" + "---:|" * len(tools)]
    for ds in ("small", "large"):
        for phase in ("first", "rerun"):
            ref = cell(d, ds, "efssync", phase)[0]
            line, seen = f"| {labels.get(ds, ds)} | {phase} |", False
            for t in tools:
                c, n = cell(d, ds, t, phase)
                seen = seen or c is not None
                line += " " + fmt(c, ref) + (f" [N={n}]" if n and c is not None else "") + " |"
            if seen:
                out.append(line)

out += ["", "Client CPU seconds (user + system), client peak RSS, and the CPU seconds MinIO and Toxiproxy spent "
        "during the run, medians:", "",
        "| direction | data set | run | " + " | ".join(names.get(t, "efssync " + t) for t in tools) + " |",
        "|---|---|---|" + "---:|" * len(tools)]
for d in ("archive", "restore"):
    for ds in ("small", "large"):
        for phase in ("first", "rerun"):
            line, seen = f"| {d} | {labels.get(ds, ds)} | {phase} |", False
            for t in tools:
                c, _ = cell(d, ds, t, phase)
                if c is None or c["s"] is None:
                    line += " — |"
                    continue
                seen = True
                line += f" {c['c']:.2f} s, {c['r'] / 1024:.0f} MiB; MinIO {c['m']:.1f} s, proxy {c['t']:.1f} s |"
            if seen:
                out.append(line)

ns = sorted({k[3] for k in cells if k[2] == "rclone"}, key=int)
if ns:
    out += ["", "rclone copy by `--transfers N --checkers N` (median wall time):", "",
            "| direction | data set | run | " + " | ".join(f"N={n}" for n in ns) + " |", "|---|---|---|" + "---:|" * len(ns)]
    for d in ("archive", "restore"):
        for ds in ("small", "large"):
            for phase in ("first", "rerun"):
                cs = [cells.get((d, ds, "rclone", n, phase)) for n in ns]
                if any(cs):
                    out.append(f"| {d} | {labels.get(ds, ds)} | {phase} | " + " | ".join(fmt(c, None) for c in cs) + " |")


def ratio(d, ds, peer, phase="first"):
    e, c = cell(d, ds, "efssync", phase)[0], cell(d, ds, peer, phase)[0]
    if not e or not c or e["s"] is None or c["s"] is None:
        return None
    return c["s"] / e["s"]


def check(label, r, want):
    if r is not None:
        out.append(f"- {label}: {'met' if r >= want else 'MISSED'} ({r:.2f}×, want ≥ {want}×)")


out += ["", "Targets of issue 23 (first runs; ratio = peer's median ÷ efssync's):", ""]
for d in ("archive", "restore"):
    check(f"{d}, small: rclone best N", ratio(d, "small", "rclone"), 1.3)
    check(f"{d}, small: aws s3 cp", ratio(d, "small", "aws"), 3.0)
check("restore, large: rclone best N", ratio("restore", "large", "rclone"), 3.0)
check("archive, large: rclone tuned", ratio("archive", "large", "rclone-tuned"), 1.2)
for d in ("archive", "restore"):
    e, c = cell(d, "small", "efssync", "first")[0], cell(d, "small", "rclone", "first")[0]
    if e and c and e["c"] is not None and c["c"] is not None:
        out.append(f"- {d}, small: client CPU at most rclone's: {'met' if e['c'] <= c['c'] else 'MISSED'} "
                   f"({e['c']:.2f} s against {c['c']:.2f} s)")

out += ["", "Exact commands (`$SRC` the data set on tmpfs, `$DST` a fresh directory, `$PREFIX` a fresh prefix, "
        "`$ENDPOINT` the proxy; rclone's remote `minio:` and mc's alias `net` point at the proxy too). "
        "efssync's configuration is a job whose source is `$SRC` and destination the S3 block "
        "`{type: s3, bucket: net, prefix: $PREFIX, endpoint: $ENDPOINT, path_style: true, region: us-east-1}` "
        "(archive), or whose source is that block with the seeded prefix and destination `{type: fs, path: $DST}` "
        "(restore), with the defaults unless a variant above says otherwise.", "", "```", commands, "```", "", end]
print("\n".join(out))
