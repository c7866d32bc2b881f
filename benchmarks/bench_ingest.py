"""Province-scale ingest benchmark: generation, DuckDB/pandas floors, the validated ingest, a refused
ingest (one bad row near the end of a 15 M-row file), each measured in its own process.

    .venv/bin/python benchmarks/bench_ingest.py            # everything (about 5 minutes)
    .venv/bin/python benchmarks/bench_ingest.py --only ingest,bad
    .venv/bin/python benchmarks/bench_ingest.py --only demo,ingest,again --districts 1   # tiny (tests)

Data goes to ``benchmarks/out/`` (git-ignored): ``province/`` (``perflib demo --scale province``),
``province-onefile/`` (the same folder with the payments in one 15 M-row ``支出明细.csv``, other
files hard-linked) and its copy with a bad amount near the end. ``floors`` (and ``again``) include
the raw load the issue compares with: DuckDB ``read_csv`` of every CSV into a table (types detected
by DuckDB; pandas for the GBK ones), ``pandas.read_excel`` of every xlsx, no checks; the ingest and the unchanged re-ingest
are printed as ratios of it. Each step prints wall seconds, CPU
seconds (all threads) and the peak resident memory (the process tree, sampled every 50 ms).
Results and the commands that gave them are in ``benchmarks/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
STEPS = ("demo", "floors", "ingest", "again", "bad")


def measure(code: str, *, cwd: Path = ROOT, timeout: float | None = None, sample: bool = True) -> dict:
    """Run ``code`` in a fresh Python process; its wall and CPU time and the peak memory of its
    process tree (stopped after ``timeout`` seconds). The child may print one JSON line starting
    with ``RESULT `` to report more.

    ``sample=False``: no memory sampling (``peak_*`` are None). The sampler reads every process's
    ``smaps_rollup`` every 50 ms, which costs the kernel of a 1 GiB tree ~1.5 s of CPU over a 9 s
    report: on two cores it slows the run it measures by ~0.3 s.

    ``cpu_s``: user + system time of the process and of every descendant it (or they) waited for
    (``getrusage(RUSAGE_CHILDREN)`` before and after: a kernel forked from the zygote counts once).
    ``peak_rss_gib``: the largest sum of the tree's resident sets, which counts a page shared by
    forked processes (the zygote and its kernels share their imports) once per process;
    ``peak_pss_gib``: the largest sum of their proportional sets (each shared page split among its
    sharers): the memory the tree occupies."""
    import resource

    import psutil

    def children_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    cpu_before = children_cpu()

    start = time.perf_counter()
    proc = subprocess.Popen([PY, "-c", code], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    ps = psutil.Process(proc.pid)
    peak = peak_pss = 0
    timed_out = False
    while proc.poll() is None:
        if not sample:
            try:
                proc.wait(timeout=None if timeout is None else max(0.0, timeout - (time.perf_counter() - start)))
            except subprocess.TimeoutExpired:
                pass
            if proc.poll() is not None:
                break
        if timeout is not None and time.perf_counter() - start > timeout:
            timed_out = True
            for p in ps.children(recursive=True) + [ps]:   # the tree this function started
                try:
                    p.kill()
                except psutil.Error:
                    pass
            break
        try:
            tree = [ps] + ps.children(recursive=True)
            rss = pss = 0
            for p in tree:
                try:
                    mem = p.memory_full_info()  # Linux: from /proc/<pid>/smaps_rollup
                    rss += mem.rss
                    pss += getattr(mem, "pss", mem.rss)
                except psutil.Error:
                    pass
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    res = {"wall_s": round(wall, 2), "cpu_s": round(children_cpu() - cpu_before, 1),
           "peak_rss_gib": round(peak / 2**30, 2) if sample else None,
           "peak_pss_gib": round(peak_pss / 2**30, 2) if sample else None, "exit": proc.returncode}
    if timed_out:
        res["timed_out"] = True
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res.update(json.loads(line[7:]))
    if proc.returncode and "expect_fail" not in code:
        print(err[-3000:], file=sys.stderr)
    res["stderr_tail"] = err[-2000:]
    return res


def show(label: str, res: dict, keys=("wall_s", "cpu_s", "peak_rss_gib", "peak_pss_gib")) -> None:
    print(f"{label:48s} " + "  ".join(f"{k}={res.get(k)}" for k in keys), flush=True)


def demo(out: Path, districts: int) -> dict:
    if out.exists():
        shutil.rmtree(out)
    return measure(f"from perflib.demo import write_demo; write_demo({str(out)!r}, 0, 'province', "
                   f"districts={districts})")


def one_file(src: Path, dst: Path, bad: bool) -> Path:
    """``src`` with its payments in one file (other files hard-linked); with ``bad``, the amount of
    the second-to-last row is unreadable (``12x.50``)."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    parts = sorted(src.glob("支出明细-*.csv"))
    for p in src.iterdir():   # hard links: a symbolic link out of the export folder is refused
        if p not in parts:
            try:
                os.link(p, dst / p.name)
            except OSError:
                shutil.copy2(p, dst / p.name)
    with open(dst / "支出明细.csv", "wb") as out:
        for i, p in enumerate(parts):
            data = p.read_bytes()
            if i:
                data = data[data.index(b"\n") + 1:]
            if bad and i == len(parts) - 1:
                lines = data.split(b"\n")
                k = len(lines) - 3                      # the second-to-last data line
                lines[k] = lines[k].rsplit(b",", 1)[0] + b",12x.50"
                data = b"\n".join(lines)
            out.write(data)
    return dst / "支出明细.csv"


INGEST = textwrap.dedent("""
    import json, os, time
    from perflib.ingest import bulk
    from perflib.ingest import ingest
    from perflib.exceptions import InputError
    db = {db!r}
    for p in (db, db + ".wal"):
        if {fresh} and os.path.exists(p): os.remove(p)
    t = time.perf_counter()
    try:
        s = ingest({src!r}, db)
        out = {{"rows": s.rows, "unchanged": s.unchanged}}
    except InputError as e:   # expect_fail
        out = {{"refused": True, "message": str(e).splitlines()[:4], "problems": len(e.problems)}}
    out["ingest_s"] = round(time.perf_counter() - t, 2)
    phases = {{}}
    for ph, what, w, c in bulk.TIMINGS:
        a = phases.setdefault(ph, [0.0, 0.0]); a[0] += w; a[1] += c
    out["phases"] = {{k: [round(v[0], 2), round(v[1], 2)] for k, v in phases.items()}}
    print("RESULT " + json.dumps(out, ensure_ascii=False))
""")

FLOOR_DUCKDB = textwrap.dedent("""
    import duckdb, os, json
    db = {db!r}
    for p in (db, db + ".wal"):
        if os.path.exists(p): os.remove(p)
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE TABLE payments AS SELECT * FROM read_csv({src!r})")
    con.execute("CHECKPOINT")
    print("RESULT " + json.dumps({{"rows": con.execute("SELECT count(*) FROM payments").fetchall()[0][0]}}))
""")

FLOOR_RAW = textwrap.dedent("""
    import duckdb, os, json, glob
    import pandas as pd
    db = {db!r}
    for p in (db, db + ".wal"):
        if os.path.exists(p): os.remove(p)
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    rows = 0
    for i, f in enumerate(sorted(glob.glob(os.path.join({src!r}, "*.csv")))):
        try:
            con.execute(f"CREATE TABLE t{{i}} AS SELECT * FROM read_csv(?)", [f])
        except duckdb.InvalidInputException:   # a GBK file: DuckDB reads UTF-8 only without extensions
            df = pd.read_csv(f, encoding="gb18030")
            con.execute(f"CREATE TABLE t{{i}} AS SELECT * FROM df")
        rows += con.execute(f"SELECT count(*) FROM t{{i}}").fetchone()[0]
    for f in sorted(glob.glob(os.path.join({src!r}, "*.xlsx"))):
        rows += sum(len(df) for df in pd.read_excel(f, sheet_name=None).values())
    con.execute("CHECKPOINT")
    print("RESULT " + json.dumps({{"rows": rows}}))
""")

FLOOR_PANDAS = textwrap.dedent("""
    import pandas as pd, json
    df = pd.read_csv({src!r})
    print("RESULT " + json.dumps({{"rows": len(df)}}))
""")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--districts", type=int, default=150,
                    help="districts of the generated export (150: the province; 1: a tiny one for tests)")
    ap.add_argument("--only", default=",".join(STEPS), help="comma-separated: " + ",".join(STEPS))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    steps = set(args.only.split(","))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    src = out / "province"
    db = str(out / "province.duckdb")
    results = {}
    if "demo" in steps or not src.exists():
        results["demo"] = r = demo(src, args.districts)
        show("perflib demo --scale province", r)
    size = sum(p.stat().st_size for p in src.iterdir())
    print(f"export: {len(list(src.iterdir()))} files, {size / 2**20:.0f} MiB", flush=True)
    onefile = out / "province-onefile"
    if "floors" in steps or "bad" in steps:
        one_file(src, onefile, bad=False)
    if "floors" in steps or "again" in steps:   # the raw load every ratio is taken against
        results["floor_raw"] = r = measure(FLOOR_RAW.format(db=str(out / "raw.duckdb"), src=str(src)))
        show(f"floor: raw load of every file ({r.get('rows') or 0:,} rows)", r)
        (out / "raw.duckdb").unlink(missing_ok=True)
    if "floors" in steps:
        pay = str(onefile / "支出明细.csv")
        results["floor_duckdb"] = r = measure(FLOOR_DUCKDB.format(db=str(out / "floor.duckdb"), src=pay))
        show(f"floor: DuckDB read_csv → table ({r.get('rows'):,} rows)", r)
        results["floor_pandas"] = r = measure(FLOOR_PANDAS.format(src=pay))
        show(f"floor: pandas read_csv ({r.get('rows'):,} rows)", r)
        (out / "floor.duckdb").unlink(missing_ok=True)
    if "ingest" in steps:
        results["ingest"] = r = measure(INGEST.format(db=db, src=str(src), fresh=True))
        show("perflib ingest (province, validated, new db)", r)
        print("   phases [wall, cpu]:", r.get("phases"), flush=True)
        print("   rows:", r.get("rows"), flush=True)
    if "again" in steps:
        results["again"] = r = measure(INGEST.format(db=db, src=str(src), fresh=False))
        show("perflib ingest again (same files: unchanged)", r)
        print(f"   unchanged: {r.get('unchanged')}", flush=True)
    raw = results.get("floor_raw")
    if raw and raw.get("exit") == 0:
        for step in ("ingest", "again"):
            if step in results:
                ratio = {k: round(results[step][k] / max(raw[k], 0.01), 2) for k in ("wall_s", "cpu_s")}
                results[step]["vs_raw"] = ratio
                print(f"   {step} / raw load: wall {ratio['wall_s']}×, cpu {ratio['cpu_s']}×", flush=True)
    if "bad" in steps:
        bad = out / "province-bad"
        one_file(src, bad, bad=True)
        results["bad"] = r = measure(INGEST.format(db=str(out / "bad.duckdb"), src=str(bad), fresh=True))
        show("perflib ingest refused (bad row near the end)", r)
        print("   " + "\n   ".join(r.get("message") or [r.get("stderr_tail", "")]), flush=True)
        shutil.rmtree(bad)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
