"""Markdown section of bench/s3restore.sh from its results.tsv."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from s3report import fmt, load, median as med  # noqa: E402

results, meta_path, commands_path, begin, end = sys.argv[1:6]
rows, meta, labels, commands = load(results, meta_path, commands_path)

acc = {}
for ds, target, tool, n, phase, run, secs, rss, cpu, ok, gets, srv in rows:
    a = acc.setdefault((ds, target, tool, n, phase), {"s": [], "r": [], "c": [], "g": [], "m": [], "f": 0})
    if ok == "1":
        a["s"].append(float(secs)); a["r"].append(float(rss)); a["c"].append(float(cpu)); a["g"].append(int(gets))
        a["m"].append(float(srv))
    else:
        a["f"] += 1
cells = {k: {"s": med(a["s"]), "r": med(a["r"]), "c": med(a["c"]), "m": med(a["m"]),
             "g": max(a["g"]) if a["g"] else None, "f": a["f"]}
         for k, a in acc.items()}


def best_n(ds, target):
    c = [(v["s"], k[3]) for k, v in cells.items()
         if k[:3] == (ds, target, "rclone") and k[4] == "first" and v["s"] is not None]
    return min(c)[1] if c else None


def cell(ds, target, tool, phase):
    n = best_n(ds, target) if tool == "rclone" else ""
    return cells.get((ds, target, tool, n or "", phase)), n


ds_names = {"small": "5,000 objects of 1–16 KiB", "large": "2 objects of 256 MiB"}
if "smoke" in dict(meta):  # tiny data sets: name them as generated
    ds_names.update(labels)
tools = ("efssync", "aws-cp", "aws-sync", "rclone")
out = [begin, "", "## S3 restore: efssync vs aws s3 cp/sync and rclone copy (`bench/s3restore.sh`)", "",
       "From a local MinIO (tmpfs, same machine) into an empty directory on tmpfs and on the simulated EFS mount; "
       "the objects were archived by efssync first, so they carry the BLAKE3 a restore checks. *first* restores "
       "into an empty directory, *rerun* runs the same command over the unchanged tree. Cells: median wall time "
       "(÷ efssync's in brackets: above 1× means efssync is faster); GETs from MinIO's own request counter.", "",
       "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in meta]
out += ["", "| target | data set | run | efssync | aws s3 cp --recursive | aws s3 sync | rclone copy (best N) | efssync GETs |",
        "|---|---|---|---:|---:|---:|---:|---:|"]
targets = sorted({k[1] for k in cells}, key=lambda t: (t != "tmpfs", t))
for target in targets:
    for ds in ("small", "large"):
        for phase in ("first", "rerun"):
            ref = cells.get((ds, target, "efssync", "", phase))
            line, seen = f"| {target} | {ds_names[ds]} | {phase} |", False
            for tool in tools:
                c, n = cell(ds, target, tool, phase)
                seen = seen or c is not None
                line += " " + fmt(c, ref) + (f" [{n}]" if n and c else "") + " |"
            line += f" {ref['g'] if ref and ref['g'] is not None else '—'} |"
            if seen:
                out.append(line)


def verdict(ds, target, tool, want, phase="first"):
    e, c = cells.get((ds, target, "efssync", "", phase)), cell(ds, target, tool, phase)[0]
    if not e or not c or e["s"] is None or c["s"] is None:
        return None
    r = c["s"] / e["s"]
    return f"{'met' if r >= want else 'MISSED'} ({r:.2f}×)"


out += ["", "CPU seconds (user + system, median) of the tool and of MinIO during the same command:", "",
        "| target | data set | run | efssync | MinIO | rclone (best N) | MinIO |", "|---|---|---|---:|---:|---:|---:|"]
cpu_s = lambda c, k: f"{c[k]:.2f}" if c and c.get(k) is not None else "—"
for target in targets:
    for ds in ("small", "large"):
        for phase in ("first", "rerun"):
            e, r = cells.get((ds, target, "efssync", "", phase)), cell(ds, target, "rclone", phase)[0]
            if e or r:
                out.append(f"| {target} | {ds_names[ds]} | {phase} | {cpu_s(e, 'c')} | {cpu_s(e, 'm')} | "
                           f"{cpu_s(r, 'c')} | {cpu_s(r, 'm')} |")
out += ["", "Targets (first restore; ratio = peer time ÷ efssync time):", ""]
for target in targets:
    for label, args in (("small objects: at least 2× faster than `aws s3 cp`", ("small", "aws-cp", 2.0)),
                        ("small objects: at least 2× faster than `aws s3 sync`", ("small", "aws-sync", 2.0)),
                        ("small objects: at least 1.2× rclone's best", ("small", "rclone", 1.2)),
                        ("large objects: at least as fast as rclone", ("large", "rclone", 1.0))):
        v = verdict(args[0], target, args[1], args[2])
        if v:
            out.append(f"- {target}, {label}: {v}")
    e = cells.get(("small", target, "efssync", "", "rerun"))
    if e and e["g"] is not None:
        out.append(f"- {target}, unchanged re-run makes no GET: {'met' if e['g'] == 0 else 'MISSED'} ({e['g']} GETs)")
out += ["", "Exact commands (`$DST` an empty directory on the target, `$STATE` a fresh directory; the efssync job is "
        "`source: {type: s3, bucket: restore, prefix: <data set>, endpoint: $ENDPOINT, path_style: true}` into "
        "one fs destination `$DST`):", "", "```", commands, "```", "", end]
print("\n".join(out))
