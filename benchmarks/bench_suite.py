"""The full report suite on the district demo: ``perflib run --jobs N`` against the naive sequence of
CLI calls per report (``papermill nb out.ipynb -p …`` then ``jupyter nbconvert --to html out.ipynb``),
side by side in one run; then the same run again with nothing changed (incremental), and the floor
of one kernel start per report.

    .venv/bin/python benchmarks/bench_suite.py            # naive, --jobs 2, second run, floor
    .venv/bin/python benchmarks/bench_suite.py --all      # also --jobs 1 and --jobs 2 without preload
    .venv/bin/python benchmarks/bench_suite.py --only overview --floor-repeat 1   # tiny (tests)

Results: a table on stdout and ``benchmarks/out/suite/results.json``. Wall times depend on what
else the machine runs: the load average is recorded beside each phase, and so is the CPU time of
all the processes of the phase (load-independent).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = ROOT / "notebooks"


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load() -> float:
    return round(os.getloadavg()[0], 2)


def phase(name: str, fn) -> dict:
    """Run ``fn`` and record its wall time, the CPU time of the processes it waited for, and the
    1-minute load average before and after."""
    print(f"-- {name} …", file=sys.stderr, flush=True)
    before_load, cpu0, t0 = load(), cpu_children(), time.perf_counter()
    extra = fn() or {}
    wall = time.perf_counter() - t0
    res = {"wall": round(wall, 2), "cpu": round(cpu_children() - cpu0, 2), "load_before": before_load,
           "load_after": load(), **extra}
    print(f"   {name}: {res['wall']:.1f} s wall, {res['cpu']:.1f} s CPU", file=sys.stderr, flush=True)
    return res


def sh(args: list[str], cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)


def prepare(work: Path) -> Path:
    db = work / "perf.duckdb"
    if not db.exists():
        export = work / "export"
        shutil.rmtree(export, ignore_errors=True)
        for args in (["demo", export], ["ingest", export, "--db", db]):
            done = sh([BIN / "perflib", *args])
            if done.returncode:
                sys.exit(f"perflib {args[0]} failed:\n{done.stderr}")
    return db


def naive_commands(db: Path, out: Path, only: list[str] | None = None) -> list[tuple[str, list, list]]:
    """Per report: the papermill call and the nbconvert call a person would type (same notebooks,
    same parameter values as perflib run plans; strings with -r, numbers with -p)."""
    from perflib.run import plan

    jobs = plan.plan_jobs(only, db=db, out=out, notebooks_dir=NOTEBOOKS)
    cmds = []
    for j in jobs:
        target = out / f"{j.stem.replace('/', '_')}.ipynb"
        args: list = [BIN / "papermill", Path(j.path).name, target, "--no-progress-bar", "--log-level", "WARNING",
                      "-r", "db", db, "-p", "year", j.year]
        for k, v in j.params.items():
            if v is None:
                continue
            args += (["-p", k, v] if isinstance(v, (int, float)) and not isinstance(v, bool) else ["-r", k, v])
        cmds.append((j.stem, args, [BIN / "jupyter", "nbconvert", "--to", "html", target, "--log-level", "WARN"]))
    return cmds


def run_naive(db: Path, out: Path, only: list[str] | None = None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    failed, per = [], []
    for stem, pm, nbc in naive_commands(db, out, only):
        t0 = time.perf_counter()
        a = sh(pm, cwd=NOTEBOOKS)
        t1 = time.perf_counter()
        b = sh(nbc, cwd=NOTEBOOKS) if a.returncode == 0 else a
        t2 = time.perf_counter()
        if a.returncode or b.returncode:
            failed.append(stem)
        per.append({"stem": stem, "papermill": round(t1 - t0, 2), "nbconvert": round(t2 - t1, 2)})
    return {"reports": len(per), "failed": failed, "per_report": per,
            "papermill": round(sum(p["papermill"] for p in per), 2),
            "nbconvert": round(sum(p["nbconvert"] for p in per), 2)}


def run_perflib(db: Path, out: Path, jobs: int, *, fresh: bool = False, force: bool = True,
                preload: bool = True, only: list[str] | None = None) -> dict:
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PERFLIB_PRELOAD="1" if preload else "0")
    args = [BIN / "perflib", "run", *(only or []), "--db", db, "--out", out, "--jobs", str(jobs), "--no-progress"]
    done = sh(args + (["--force"] if force else []), env=env)
    if done.returncode:
        sys.exit(f"perflib run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    state = json.loads((out / ".index.json").read_text("utf-8"))
    log_lines = [line for line in done.stderr.splitlines() if "perflib.runner" in line]
    statuses = [e["status"] for e in state.values()]
    skipped = sum("跳过" in line for line in log_lines)
    return {"reports": len(state), "ok": statuses.count("ok"), "skipped": skipped,
            "timing": breakdown(state) if not skipped else None}


def breakdown(state: dict) -> dict:
    """Seconds summed over reports (across workers): kernel start, cells, papermill overhead
    (saving the notebook after each cell, shutdown), rendering and publishing."""
    tot = {"kernel": 0.0, "cells": 0.0, "papermill": 0.0, "render": 0.0, "total": 0.0}
    for e in state.values():
        t = e.get("timing") or {}
        tot["kernel"] += t.get("kernel", 0)
        tot["cells"] += t.get("cells", 0)
        tot["papermill"] += t.get("execute", 0) - t.get("cells", 0)
        tot["render"] += t.get("render", 0)
        tot["total"] += t.get("total", 0)
    return {k: round(v, 1) for k, v in tot.items()}


def setup_cells(out: Path) -> float:
    """Seconds in each report's first cell after the parameters (imports, open_report): where a
    fresh kernel pays its imports."""
    total = 0.0
    for p in sorted(out.rglob("*.ipynb")):
        nb = json.loads(p.read_text("utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"
                and not set(c.get("metadata", {}).get("tags", [])) & {"parameters", "injected-parameters"}]
        if code:
            total += float(code[0].get("metadata", {}).get("papermill", {}).get("duration") or 0)
    return round(total, 1)


def kernel_floor(repeat: int = 5) -> dict:
    """Seconds from asking for a kernel to the end of a trivial cell: fresh kernels, and kernels
    forked from a zygote that has imported what the notebooks import."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    from perflib.run import deps
    from perflib.run import kernels

    def once(zygote: str | None) -> float:
        nb = new_notebook(cells=[new_code_cell("1")], metadata={"kernelspec": {
            "name": "python3", "display_name": "Python 3", "language": "python"}})
        t0 = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", kernel_manager_class=kernels.kernel_manager_class(zygote=zygote),
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        return time.perf_counter() - t0

    fresh = [once(None) for _ in range(repeat)]
    t0 = time.perf_counter()
    z = kernels.Zygote(deps.preload_modules(sorted(NOTEBOOKS.glob("*.ipynb")))).start()
    try:
        first = once(z.address)  # waits for the zygote's imports
        zygote_ready = time.perf_counter() - t0
        forked = [once(z.address) for _ in range(repeat)]
    finally:
        z.close()
    return {"fresh_kernel": round(min(fresh), 2), "forked_kernel": round(min(forked), 2),
            "zygote_first_kernel": round(zygote_ready, 2), "first_forked": round(first, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "out" / "suite")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--all", action="store_true", help="also --jobs 1 and --jobs N with fresh kernels")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--only", help="comma-separated reports instead of the whole suite (e.g. a tiny run for tests)")
    ap.add_argument("--floor-repeat", type=int, default=5, help="kernel starts per kind for the floor (minimum shown)")
    args = ap.parse_args(argv)
    only = args.only.split(",") if args.only else None
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    results["setup"] = phase("demo + ingest (setup, not compared)", lambda: {"db": str(prepare(work))})
    db = Path(results["setup"]["db"])
    if not args.skip_naive:
        results["naive"] = phase("naive: papermill + jupyter nbconvert per report",
                                 lambda: run_naive(db, work / "naive", only))
    out = work / "reports"
    results[f"jobs{args.jobs}"] = phase(f"perflib run --jobs {args.jobs} (cold)",
                                        lambda: run_perflib(db, out, args.jobs, fresh=True, only=only))
    results[f"jobs{args.jobs}"]["setup_cells"] = setup_cells(out)
    results["second_run"] = phase("perflib run again, nothing changed",
                                  lambda: run_perflib(db, out, args.jobs, force=False, only=only))
    if args.all:
        results["jobs1"] = phase("perflib run --jobs 1 (cold)", lambda: run_perflib(db, work / "r1", 1, fresh=True, only=only))
        results[f"jobs{args.jobs}_no_preload"] = phase(
            f"perflib run --jobs {args.jobs}, PERFLIB_PRELOAD=0 (fresh kernels)",
            lambda: run_perflib(db, work / "r0", args.jobs, fresh=True, preload=False, only=only))
        results[f"jobs{args.jobs}_no_preload"]["setup_cells"] = setup_cells(work / "r0")
    results["floor"] = phase("kernel start floor", lambda: kernel_floor(args.floor_repeat))
    (work / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    report(results, args.jobs)
    return 0


def report(r: dict, jobs: int) -> None:
    ours = r[f"jobs{jobs}"]
    n = ours["reports"]
    rows = []
    if "naive" in r:
        rows.append(("naive papermill + nbconvert CLI", r["naive"]))
    rows.append((f"perflib run --jobs {jobs}", ours))
    for key, label in (("jobs1", "perflib run --jobs 1"), (f"jobs{jobs}_no_preload", f"perflib run --jobs {jobs}, fresh kernels"),
                       ("second_run", "second run, nothing changed")):
        if key in r:
            rows.append((label, r[key]))
    print(f"\n{n} reports (district demo)\n")
    print("| run | wall s | CPU s | load before→after |")
    print("|---|---:|---:|---|")
    for label, x in rows:
        print(f"| {label} | {x['wall']:.1f} | {x['cpu']:.1f} | {x['load_before']}→{x['load_after']} |")
    if "naive" in r:
        print(f"\nspeed-up vs naive: {r['naive']['wall'] / ours['wall']:.1f}× wall, "
              f"{r['naive']['cpu'] / max(ours['cpu'], 0.01):.1f}× CPU")
    t = ours["timing"]
    f = r["floor"]
    print(f"\nwhere --jobs {jobs} spends its time (seconds summed over reports): kernel start {t['kernel']}, "
          f"cells {t['cells']} (of which first cells {ours['setup_cells']}), papermill overhead {t['papermill']}, "
          f"render+publish {t['render']}")
    print(f"kernel start + trivial cell: fresh {f['fresh_kernel']} s, forked {f['forked_kernel']} s; "
          f"zygote ready for its first kernel after {f['zygote_first_kernel']} s")
    print(f"floor (one fresh kernel start per report, {jobs} at a time): {n * f['fresh_kernel'] / jobs:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
