"""What the S3 benchmark reports (bench/s3restore_report.py, bench/s3net_report.py) share:
reading a run's results.tsv, meta.txt and commands.txt, and taking medians."""
import statistics


def load(results, meta_path, commands_path):
    """Rows of results.tsv split on tabs; meta.txt as (key, value) pairs
    without the label_ lines; the data set labels from those; the commands."""
    rows = [l.rstrip("\n").split("\t") for l in open(results) if l.strip()]
    meta = [l.rstrip("\n").split("=", 1) for l in open(meta_path) if "=" in l]
    labels = {k[len("label_"):]: v for k, v in meta if k.startswith("label_")}
    meta = [(k, v) for k, v in meta if not k.startswith("label_")]
    return rows, meta, labels, open(commands_path).read().rstrip("\n")


def median(v):
    """The median of v, or None when v is empty (every run failed)."""
    return statistics.median(v) if v else None


def fmt(c, ref):
    """A cell's median wall time, with its ratio to ref's (the efssync cell
    of its row) and the count of failed runs; "—" for no cell."""
    if c is None:
        return "—"
    if c["s"] is None:
        return "failed"
    s = f"{c['s']:.2f} s"
    if ref and ref["s"] and c is not ref:
        s += f" ({c['s'] / ref['s']:.2f}×)"
    if c["f"]:
        s += f" ({c['f']} failed)"
    return s
