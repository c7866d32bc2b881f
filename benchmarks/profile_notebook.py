"""Profile a report notebook's own cells (no kernel): each code cell exec'd in one namespace under
cProfile, the parameters cell's ``db`` replaced; prints per-cell seconds (stderr) and the top
functions by cumulative time, and writes ``benchmarks/out/<notebook>.prof`` for ``pstats``.

    .venv/bin/python benchmarks/profile_notebook.py monitoring benchmarks/out/province.duckdb
    .venv/bin/python benchmarks/profile_notebook.py fiscal data/perf.duckdb '{"street": "东风街道办事处"}'
    NOPROF=1 .venv/bin/python benchmarks/profile_notebook.py coverage benchmarks/out/province.duckdb  # times only
"""
from __future__ import annotations

import contextlib
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name, db = argv[0], argv[1]
    params = json.loads(argv[2]) if len(argv) > 2 else {}
    nb = json.loads((HERE.parent / "notebooks" / f"{name}.ipynb").read_text("utf-8"))
    profile = not os.environ.get("NOPROF")
    pr = cProfile.Profile()
    g: dict = {}
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"])
        if "parameters" in c.get("metadata", {}).get("tags", []):
            exec(src, g)
            g["db"] = db
            g.update(params)
            continue
        t = time.perf_counter()
        if profile:
            pr.enable()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(src, g)
        if profile:
            pr.disable()
        print(f"{time.perf_counter() - t:6.2f}s  {src.splitlines()[0][:80]}", file=sys.stderr)
    if profile:
        out = HERE / "out" / f"{name}.prof"
        out.parent.mkdir(exist_ok=True)
        pr.dump_stats(out)
        stats = pstats.Stats(pr)
        stats.sort_stats("cumulative").print_stats("perflib", 40)
        stats.sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
