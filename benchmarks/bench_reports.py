"""Province-scale report benchmark: the monitoring, coverage and cost reports on the province store.

    .venv/bin/python benchmarks/bench_reports.py                      # after bench_ingest.py
    .venv/bin/python benchmarks/bench_reports.py --only monitoring --timeout 600

For each report, two measurements, each in its own process tree (wall seconds, CPU seconds, peak
resident memory of the tree sampled every 50 ms):

* ``analysis``: the notebook's code cells executed in a plain Python process (its perflib calls,
  charts and HTML tables; no kernel, no nbconvert, no xlsx) — what the analysis costs. It also
  records the largest frame any ``Store.sql``/``Store.table`` call returned and fails if anything
  reads the whole payments table into pandas;
* ``perflib run``: the real command (kernel, execution, HTML, xlsx, facts, leak checks), stopped
  after ``--timeout`` seconds.

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

RUN = textwrap.dedent("""
    import sys, json, time
    from perflib.cli import main
    t = time.perf_counter()
    code = main({argv!r})
    print("RESULT " + json.dumps({{"exit_code": code, "run_s": round(time.perf_counter() - t, 2)}}))
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
        runs = []
        for i in range(max(1, args.repeat)):
            r = measure(RUN.format(argv=cli), timeout=args.timeout)
            r["timing"] = _report_timing(out)
            runs.append(r)
            show(f"{label} #{i + 1}" + (" (stopped: timeout)" if r.get("timed_out") else ""), r)
            print(f"   in the report: {r['timing']}", flush=True)
        walls = sorted(x["wall_s"] for x in runs)
        results[f"{name}.run"] = {"runs": runs, "median_wall_s": walls[len(walls) // 2],
                                  "max_peak_rss_gib": max(x["peak_rss_gib"] for x in runs),
                                  "max_peak_pss_gib": max(x["peak_pss_gib"] for x in runs)}
        print(f"   median wall {walls[len(walls) // 2]} s of {walls}; peak RSS ≤ "
              f"{results[f'{name}.run']['max_peak_rss_gib']} GiB, PSS ≤ "
              f"{results[f'{name}.run']['max_peak_pss_gib']} GiB", flush=True)
        again = [c for c in cli if c != "--force"]
        r = measure(RUN.format(argv=again), timeout=args.timeout)
        results[f"{name}.again"] = r
        show(f"{name}: the same run again, nothing changed", r)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
