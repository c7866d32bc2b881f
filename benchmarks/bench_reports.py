"""Province-scale report benchmark: the monitoring, coverage and cost reports on the province store.

    .venv/bin/python benchmarks/bench_reports.py                      # after bench_ingest.py
    .venv/bin/python benchmarks/bench_reports.py --only monitoring --timeout 600

For each report, two measurements, each in its own process tree (wall seconds, CPU seconds, peak
resident memory of the tree sampled every 50 ms):

* ``analysis``: the notebook's code cells executed in a plain Python process (its perflib calls,
  charts and HTML tables; no kernel, no nbconvert, no xlsx) — what the analysis costs. It also
  records the largest frame any ``Store.sql``/``Store.table`` call returned and fails if anything
  reads the whole payments table into pandas;
* ``perflib run``: the real command (kernel, execution, HTML, xlsx, facts, leak checks; the
  executable's entry point, its exit included), stopped after ``--timeout`` seconds: ``--repeat``
  timed runs without the memory sampler, whose reads of every process's memory map would slow
  them, then one more run sampled for the peak memory.

Results and the exact commands are in ``benchmarks/README.md``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_ingest import measure, show  # noqa: E402

REPORTS = {
    "monitoring": {},
    "coverage": {},
    "cost": {"project_type": "道路保洁"},
}

ANALYSIS = textwrap.dedent("""
    import io, json, contextlib, time
    from perflib.store import Store
    largest = {{"rows": 0, "what": ""}}
    _sql, _table = Store.sql, Store.table
    def sql(self, query, params=None):
        df = _sql(self, query, params)
        if len(df) > largest["rows"]:
            largest.update(rows=len(df), what=" ".join(query.split())[:90])
        return df
    def table(self, name, year=None):
        if name == "payments":
            raise AssertionError("an analysis read the whole payments table into pandas")
        df = _table(self, name, year)
        if len(df) > largest["rows"]:
            largest.update(rows=len(df), what=f"Store.table({{name!r}}, {{year!r}})")
        return df
    Store.sql, Store.table = sql, table
    nb = json.load(open({notebook!r}, encoding="utf-8"))
    g = {{}}
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"])
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(src, g)
        if "parameters" in c.get("metadata", {{}}).get("tags", []):
            g["db"] = {db!r}
            g.update({params!r})
            continue
        cells.append(round(time.perf_counter() - t, 2))
    print("RESULT " + json.dumps({{"cells_s": cells, "largest_frame": largest}}, ensure_ascii=False))
""")

# the ``perflib`` executable itself (perflib.cli:console, its exit included), with the seconds
# from the start of the command to the end of its work printed on the way out
RUN = textwrap.dedent("""
    import atexit, sys, json, time
    t = time.perf_counter()
    atexit.register(lambda: print("RESULT " + json.dumps({{"run_s": round(time.perf_counter() - t, 2)}}),
                                  flush=True))
    sys.argv = ["perflib", *{argv!r}]
    from perflib import cli
    if hasattr(cli, "console"):
        cli.console()
    else:  # a commit from before perflib.cli:console (comparisons with an older tree)
        sys.exit(cli.main())
""")


def _report_timing(out: Path) -> dict:
    """The runner's own split of the report's time (kernel start, cells, render) from .index.json."""
    try:
        state = json.loads((out / ".index.json").read_text("utf-8"))
        return next(iter(state.values())).get("timing", {})
    except (OSError, ValueError, StopIteration):
        return {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=HERE / "out" / "province.duckdb")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "reports")
    ap.add_argument("--only", default=",".join(REPORTS))
    ap.add_argument("--timeout", type=int, default=900, help="seconds before perflib run is stopped")
    ap.add_argument("--skip-run", action="store_true", help="measure the analysis only")
    ap.add_argument("--repeat", type=int, default=3, help="forced runs per report (the median is shown)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    db = args.db.resolve()
    results = {}
    for name in args.only.split(","):
        params = REPORTS[name]
        r = measure(ANALYSIS.format(notebook=str(ROOT / "notebooks" / f"{name}.ipynb"), db=str(db),
                                    params=params))
        results[f"{name}.analysis"] = r
        show(f"{name}: analysis (notebook cells, no kernel/render)", r)
        print(f"   cells: {r.get('cells_s')}; largest frame: {r.get('largest_frame')}", flush=True)
        if args.skip_run:
            continue
        out = args.out / name
        shutil.rmtree(out, ignore_errors=True)
        cli = ["run", name, "--db", str(db), "--out", str(out), "--no-progress", "--force"]
        for k, v in params.items():
            cli += ["-p", f"{k}={v}"]
        label = f"{name}: perflib run {' '.join(cli[1:2] + cli[7:])}"
        # timed runs without the memory sampler (it would slow them: see measure), then one run
        # sampled for the peak memory
        runs = []
        for i in range(max(1, args.repeat)):
            r = measure(RUN.format(argv=cli), timeout=args.timeout, sample=False)
            r["timing"] = _report_timing(out)
            runs.append(r)
            show(f"{label} #{i + 1}" + (" (stopped: timeout)" if r.get("timed_out") else ""), r,
                 keys=("wall_s", "cpu_s", "run_s"))
            print(f"   in the report: {r['timing']}", flush=True)
        sampled = measure(RUN.format(argv=cli), timeout=args.timeout)
        show(f"{label}, memory sampled", sampled)
        walls = sorted(x["wall_s"] for x in runs)
        results[f"{name}.run"] = {"runs": runs, "median_wall_s": walls[len(walls) // 2], "sampled": sampled,
                                  "max_peak_rss_gib": sampled["peak_rss_gib"],
                                  "max_peak_pss_gib": sampled["peak_pss_gib"]}
        print(f"   median wall {walls[len(walls) // 2]} s of {walls}; peak RSS "
              f"{sampled['peak_rss_gib']} GiB, PSS {sampled['peak_pss_gib']} GiB "
              f"(sampled run: {sampled['wall_s']} s)", flush=True)
        again = [c for c in cli if c != "--force"]
        r = measure(RUN.format(argv=again), timeout=args.timeout, sample=False)
        results[f"{name}.again"] = r
        show(f"{name}: the same run again, nothing changed", r, keys=("wall_s", "cpu_s", "run_s"))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
