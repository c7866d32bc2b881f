"""Every benchmark script runs end to end on a tiny scale, so that none can rot unnoticed: each step
exits 0 and reports what its figures are made of. No timing is asserted."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

# end to end (≈ 1.5 min together): in the full suite `make test` runs, not in the fast lane
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_ingest  # noqa: E402
import bench_reports  # noqa: E402
import bench_suite  # noqa: E402
import cpu_by_process  # noqa: E402

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"  # 0.4 s of CPU


def test_bench_ingest_tiny(tmp_path):
    out = tmp_path / "out"
    assert bench_ingest.main(["--out", str(out), "--districts", "1", "--json", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert set(r) == {"demo", "floor_raw", "floor_duckdb", "floor_pandas", "ingest", "again", "bad"}
    for step in ("demo", "floor_raw", "floor_duckdb", "floor_pandas", "ingest", "again"):
        assert r[step]["exit"] == 0, (step, r[step]["stderr_tail"])
    assert r["ingest"]["unchanged"] is False and r["again"]["unchanged"] is True
    assert r["ingest"]["rows"]["payments"] == r["floor_duckdb"]["rows"] > 0
    assert set(r["again"]["vs_raw"]) == {"wall_s", "cpu_s"}
    assert r["bad"]["refused"] and "12x.50" in " ".join(r["bad"]["message"])


def test_bench_reports_tiny(demo_db, tmp_path):
    """One report on the district demo: its analysis alone, ``perflib run --force``, and again."""
    js = tmp_path / "r.json"
    assert bench_reports.main(["--db", str(demo_db), "--out", str(tmp_path / "b"), "--only", "coverage",
                               "--repeat", "1", "--json", str(js)]) == 0
    r = json.loads(js.read_text("utf-8"))
    assert r["coverage.analysis"]["exit"] == 0 and r["coverage.analysis"]["cells_s"]
    run = r["coverage.run"]
    assert run["runs"][0]["exit"] == 0 and r["coverage.again"]["exit"] == 0
    # timed through the executable's exit, without the sampler; the memory from a run of its own
    assert 0 < run["runs"][0]["run_s"] <= run["runs"][0]["wall_s"] and run["runs"][0]["peak_pss_gib"] is None
    assert run["sampled"]["exit"] == 0 and run["max_peak_pss_gib"] == run["sampled"]["peak_pss_gib"] > 0


def test_bench_suite_tiny(demo_db, tmp_path, capsys):
    """One report instead of the suite (on a copy of the session's demo store): naive papermill +
    nbconvert, perflib run twice, the kernel floor."""
    work = tmp_path / "suite"
    work.mkdir()
    shutil.copy(demo_db, work / "perf.duckdb")
    assert bench_suite.main(["--work", str(work), "--only", "coverage", "--floor-repeat", "1"]) == 0
    r = json.loads((work / "results.json").read_text("utf-8"))
    assert r["naive"]["reports"] == r["jobs2"]["reports"] > 0 and not r["naive"]["failed"]
    assert r["jobs2"]["ok"] == r["jobs2"]["reports"] and r["second_run"]["skipped"] == r["jobs2"]["reports"]
    assert r["floor"]["fresh_kernel"] > 0
    assert "speed-up vs naive" in capsys.readouterr().out


def test_compare_cells_tiny(demo_db):
    """benchmarks/compare_cells.sh against this very commit: one line per tree with three times."""
    import subprocess

    def worktrees():
        return subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True).stdout

    before = worktrees()
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "compare_cells.sh"), "HEAD", str(demo_db), "coverage"],
                          env=dict(__import__("os").environ, ROUNDS="1"), capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [ln.split() for ln in proc.stdout.splitlines()]
    assert [ln[:2] for ln in lines] == [["coverage", "base"], ["coverage", "here"]], proc.stdout
    assert all(len(ln) == 5 and all(float(x) >= 0 for x in ln[2:]) for ln in lines), proc.stdout
    assert worktrees() == before  # its worktree is removed


def test_cpu_by_process_tiny(tmp_path):
    """A command whose child burns CPU and exits 3: the child is counted, its exit status passed on."""
    code = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN!r}])\nsys.exit(3)"
    js = tmp_path / "cpu.json"
    assert cpu_by_process.main(["--interval", "0.05", "--json", str(js), "--", sys.executable, "-c", code]) == 3
    r = json.loads(js.read_text("utf-8"))
    assert r["exit"] == 3 and r["kinds"]["other Python"]["processes"] == 2
    assert 0.35 <= r["kinds"]["other Python"]["cpu_s"] <= r["cpu_exact_s"] + 0.05
    assert 0 < r["machine_busy"] <= 1


def test_cpu_by_process_follows_orphans_and_what_they_start(tmp_path):
    """A child that starts a grandchild and exits: the orphaned grandchild and the process it starts
    afterwards (burning 0.4 s) are still counted."""
    done = tmp_path / "done"  # written by the grandchild once what it started has ended
    grandchild = (f"import pathlib, subprocess, sys, time\ntime.sleep(0.6)\n"
                  f"subprocess.run([sys.executable, '-c', {BURN!r}])\npathlib.Path({str(done)!r}).touch()")
    child = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {grandchild!r}])\ntime.sleep(0.3)"
    code = (f"import pathlib, subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {child!r}])\n"
            f"end = time.monotonic() + 60\n"
            f"while not pathlib.Path({str(done)!r}).exists() and time.monotonic() < end: time.sleep(0.05)\n"
            f"time.sleep(0.2)")
    js = tmp_path / "cpu.json"
    assert cpu_by_process.main(["--interval", "0.05", "--json", str(js), "--", sys.executable, "-c", code]) == 0
    r = json.loads(js.read_text("utf-8"))
    assert r["kinds"]["other Python"]["processes"] == 4
    assert r["kinds"]["other Python"]["cpu_s"] >= 0.35


def test_cpu_by_process_tells_the_kinds_apart():
    zygote = "/v/bin/python -m perflib.run.kernels zygote /tmp/plk-1/z.sock /tmp/plk-1/z.json"
    assert cpu_by_process.kind_of(zygote, "/v/bin/python /v/bin/perflib run") == "zygote"
    assert cpu_by_process.kind_of(zygote, zygote) == cpu_by_process.FORKED_KERNEL
    assert cpu_by_process.kind_of("/v/bin/python -m perflib.run.kernels launch /tmp/z.sock -f k.json") == \
        "kernel launcher"
    assert cpu_by_process.kind_of("/v/bin/python -B -c from multiprocessing.spawn import spawn_main") == \
        "report worker (spawned)"
    assert cpu_by_process.kind_of("/usr/lib/chromium/chromium --headless") == "chromium"
    assert cpu_by_process.kind_of("/v/bin/python -m pytest -q tests") == "pytest"
    assert cpu_by_process.kind_of("/v/bin/python -c print(1) /tmp/pytest-of-root/pytest-3/x") == "other Python"
    assert cpu_by_process.kind_of("") == "other"
