"""Faults: SIGKILL during ``perflib ingest`` and ``perflib run``, and a notebook that hangs.

* Ingest: the demo database (seed 0) is being replaced by a load of another export (seed 1) when the
  process is killed — at fixed points (during the read, at validation, during the build, just before
  and just after the atomic ``os.replace``) and after pseudo-random delays over the whole load. After
  every kill the database file is either byte-for-byte the previous one (sha256 equal) or — only when
  the kill came after the replace — the complete new one (same row counts and sums as a clean load);
  it opens and answers queries, and a new ingest completes (and removes the dead load's temp file).
* Run: ``perflib run`` killed while kernels execute and while a report is being published leaves
  under ``reports/`` only complete files (every visible .html/.ipynb/.facts.json/.xlsx parses) or
  none; temp files are hidden (dot files) and the next run removes those of dead runs; the next run
  completes; the kernel of the killed run does not outlive it. ``perflib run --jobs 2`` stopped by
  SIGTERM, or by Ctrl-C (exit 130, 「已中断」 and no worker's traceback), leaves no process behind.
* A notebook cell that sleeps for an hour is stopped by the per-cell timeout: a failure page, exit 1,
  well within a minute, and no kernel left behind.

Figures (printed with -s): faults injected and survived.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import duckdb
import nbformat
import pytest
from conftest import small_frames, write_export
from conftest import write_notebook as report_notebook

from perflib.schema import TABLE_ORDER

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

TABLES = (*TABLE_ORDER, "loads")
SURVIVED: list[str] = []  # one line per injected fault that the store or the run survived


@pytest.fixture(scope="module", autouse=True)
def figures():
    """Print the figures at the end of the module (run with -s to see them)."""
    yield
    print(f"\nfaults injected and survived: {len(SURVIVED)}")
    for line in SURVIVED:
        print("  " + line)

# Runs an ingest in a fresh interpreter; prints a marker when each phase starts, and kills itself
# at the fault point named on the command line (or is killed from outside after a delay).
INGEST_HARNESS = textwrap.dedent(r'''
    import os, signal, sys, threading
    src, db, point, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    import perflib.ingest.load as ing

    def mark(phase):
        print("PHASE", phase, flush=True)

    def die():
        mark("killed:" + point)
        os.kill(os.getpid(), signal.SIGKILL)

    def arm(seconds):
        t = threading.Timer(seconds, die)
        t.daemon = True
        t.start()

    def wrap(name, phase, before=None, after=None):
        original = getattr(ing, name)
        def wrapper(*args, **kwargs):
            mark(phase)
            if before:
                before(*args)
            result = original(*args, **kwargs)
            if after:
                after(*args)
            return result
        setattr(ing, name, wrapper)

    wrap("read_export", "read", before=(lambda *a: arm(delay)) if point == "read" else None)
    wrap("examine", "validate", before=(lambda *a: die()) if point == "validate" else None)
    wrap("_build", "build")
    if point == "build":  # mid-build, deterministically: the third table's new rows are going in
        # (converted by the Python reader's path, or a staged table installed by the DuckDB
        # reader's, whichever the export's file sizes chose), so some tables of the temp database
        # are filled and the rest are not yet (a timer could fire after a fast build had finished)
        from perflib.ingest.bulk import stage as bulk_stage
        filled = []
        def third():
            filled.append(1)
            if len(filled) == 3:
                die()
        real_to_arrow = ing._to_arrow
        def to_arrow(*args, **kwargs):
            third()
            return real_to_arrow(*args, **kwargs)
        ing._to_arrow = to_arrow
        real_install = bulk_stage.BulkExport.install
        def install(self, con, name):
            brought = real_install(self, con, name)
            if brought:
                third()
            return brought
        bulk_stage.BulkExport.install = install
    wrap("create_schema", "schema", after=(lambda *a: die()) if point == "schema" else None)
    real_replace = os.replace
    def replace(a, b, *args, **kwargs):
        if os.path.abspath(b) != os.path.abspath(db):
            return real_replace(a, b, *args, **kwargs)
        mark("replace")
        if point == "before_replace":
            die()
        real_replace(a, b, *args, **kwargs)
        mark("replaced")
        if point == "after_replace":
            die()
    os.replace = replace
    mark("start")
    ing.ingest(src, db)
    mark("done")
''')


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def signature(db: Path) -> dict:
    """Row counts per table and the money sums a complete load determines (opened read-only)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        out["payments.amount"] = str(con.execute("SELECT sum(amount) FROM payments").fetchone()[0])
        out["projects.budget"] = str(con.execute("SELECT sum(budget_amount) FROM projects").fetchone()[0])
        out["loads.max"] = con.execute("SELECT max(load_id) FROM loads").fetchone()[0]
        return out
    finally:
        con.close()


def temp_files(db: Path) -> list[Path]:
    return [p for p in db.parent.iterdir() if p.name.startswith(".") and "ingest-tmp" in p.name]


def _loads(root: Path, old: Path, new_src: Path) -> dict:
    from perflib.ingest import ingest

    ref = root / "ref" / "perf.duckdb"
    ref.parent.mkdir(parents=True)
    shutil.copyfile(old, ref)
    started = time.monotonic()
    ingest(new_src, ref)
    seconds = time.monotonic() - started
    return {"root": root, "old": old, "old_sha": sha256_of(old), "old_sig": signature(old),
            "new_src": new_src, "new_sig": signature(ref), "seconds": seconds}


@pytest.fixture(scope="module")
def demo_loads(tmp_path_factory, demo_db):
    """The previous database (the session's demo, seed 0), the export that replaces it (seed 1),
    and the signature and duration of a clean replacing load."""
    from perflib.demo import write_demo

    root = tmp_path_factory.mktemp("faults")
    old = root / "old" / "perf.duckdb"
    old.parent.mkdir()
    shutil.copyfile(demo_db, old)
    return _loads(root, old, write_demo(root / "seed1", seed=1))


@pytest.fixture(scope="module")
def small_loads(tmp_path_factory):
    """The same with the small export: a previous database and a re-export with other amounts."""
    from perflib.ingest import ingest

    root = tmp_path_factory.mktemp("faults-small")
    old = root / "old" / "perf.duckdb"
    ingest(write_export(root / "v1", small_frames()), old)
    frames = small_frames()
    frames["projects"]["budget_amount"] = frames["projects"]["budget_amount"] * 2
    frames["payments"] = frames["payments"].iloc[:-1]
    return _loads(root, old, write_export(root / "v2", frames))


def _killed_ingest(loads, name: str, point: str, delay: float = 0.0, outside_after: float | None = None):
    """Copy the previous database into a fresh folder, run the harness, kill it; return (db, phases)."""
    db = loads["root"] / name / "perf.duckdb"
    db.parent.mkdir()
    shutil.copyfile(loads["old"], db)
    proc = subprocess.Popen([sys.executable, "-c", INGEST_HARNESS, str(loads["new_src"]), str(db), point,
                             str(delay)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    phases = []
    try:
        while True:  # imports done: the load proper starts now
            line = proc.stdout.readline()
            if not line:
                break
            phases.append(line.split()[-1])
            if phases[-1] == "start":
                break
        if outside_after is not None:
            time.sleep(outside_after)
            proc.kill()  # SIGKILL from outside, wherever the load is
        proc.wait(timeout=120)  # the markers are a few lines: the pipe cannot fill
        out = proc.stdout.read()  # (communicate() would drop what readline already buffered)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    phases += [ln.split()[-1] for ln in out.splitlines() if ln.startswith("PHASE")]
    assert proc.returncode in (-signal.SIGKILL, 0), out[-2000:]
    return db, phases, proc.returncode


def _check_survived(loads, db: Path, phases: list[str], code: int, label: str) -> str:
    """The database is the previous one or the complete new one, and answers queries."""
    from perflib.store import Store

    replaced = "replaced" in phases
    if sha256_of(db) == loads["old_sha"]:
        state = "previous database intact (sha256 equal)"
        assert signature(db) == loads["old_sig"]
    else:
        assert replaced, f"{label}: database changed although the replace never happened ({phases})"
        assert signature(db) == loads["new_sig"], label
        state = "new database complete"
    store = Store(db)
    try:
        assert store.years() and len(store.projects(store.latest_year())) > 0
    finally:
        store.close()
    con = duckdb.connect(str(db))  # opens read-write too (no damaged log to replay)
    con.execute("SELECT count(*) FROM payments").fetchone()
    con.close()
    last = [p for p in phases if p not in ("start",)][-1:] or ["(before start)"]
    SURVIVED.append(f"ingest SIGKILL {label} (last phase {last[0]}, exit {code}): {state}")
    return state


INGEST_POINTS = [  # (where, data, delay after the phase starts)
    ("read", "demo", 0.3),            # reading the demo export's files
    ("build", "demo", 0.0),           # copying kept rows and inserting new ones into the temp database
    ("validate", "small", 0.0),
    ("schema", "small", 0.0),         # the temp database has its tables, no rows yet
    ("before_replace", "small", 0.0),
    ("after_replace", "small", 0.0),  # the new file is in place; its old log not yet removed
]


@pytest.mark.parametrize("point, data, delay", INGEST_POINTS, ids=[p[0] for p in INGEST_POINTS])
def test_ingest_killed_at_a_fixed_point_leaves_a_usable_database(request, point, data, delay):
    from perflib.ingest import ingest

    loads = request.getfixturevalue(f"{data}_loads")
    db, phases, code = _killed_ingest(loads, point, point, delay)
    assert code == -signal.SIGKILL and f"killed:{point}" in phases, phases
    state = _check_survived(loads, db, phases, code, f"at {point} ({data})")
    assert state.startswith("new") == (point == "after_replace"), (point, state)
    if point in ("build", "schema", "before_replace"):
        assert temp_files(db), "the killed load's temp file should be there (hidden)"
    assert all(p.name.startswith(".") for p in temp_files(db))
    if data == "small" or point == "build":
        ingest(loads["new_src"], db)  # the next load completes and removes the dead one's temp file
        assert signature(db) == dict(loads["new_sig"], **{"loads.max": signature(db)["loads.max"]})
        assert not temp_files(db)


def test_ingest_killed_after_random_delays_leaves_a_usable_database(demo_loads):
    rng = random.Random(20240907)
    span = demo_loads["seconds"] * 1.1
    delays = sorted(rng.uniform(0.05, span) for _ in range(3))
    states = []
    for i, delay in enumerate(delays):
        db, phases, code = _killed_ingest(demo_loads, f"random{i}", "none", outside_after=delay)
        states.append(_check_survived(demo_loads, db, phases, code, f"after {delay:.2f}s from outside"))
    assert len(states) == 3


# --- perflib run killed -------------------------------------------------------------------------
PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\n"
REPORT_BODY = '''from perflib.present.notebook import open_report
import time

rep = open_report("probe", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("故障测试报告", 1)
rep.heading("项目")
rep.table(rep.store.projects(rep.year)[["project_id", "project_name", "budget"]], "项目表", sheet="项目")
time.sleep(1.0)
rep.text("正文")
rep.facts({"probe.n": 1})
'''


def write_notebook(path: Path, body: str, params: str = PARAMS) -> Path:
    return report_notebook(path, params, body)


def processes_tagged(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment carries ``PERFLIB_TEST_TAG=tag``: a run's
    runner, zygote, launchers and kernels all inherit it, wherever they are reparented."""
    mark = f"PERFLIB_TEST_TAG={tag}".encode()
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            env = (p / "environ").read_bytes()
            state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark in env.split(b"\0") and state != "Z":
            pids.append(int(p.name))
    return pids


def _wait_gone(tag: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not processes_tagged(tag):
            return []
        time.sleep(0.2)
    return processes_tagged(tag)


def _describe(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
            ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        out.append(f"{pid} (parent {ppid}): {cmd}")
    return out


def _kill_all(pids: list[int]) -> None:
    for pid in pids:  # our own leftovers: clean up before failing
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _none_left(tag: str, seconds: float, what: str) -> None:
    """Fails, naming them, if processes of the run ``tag`` outlive it by ``seconds`` (killed first)."""
    left = _wait_gone(tag, seconds)
    seen = _describe(left)
    _kill_all(left)
    assert not left, f"processes outlived {what}: {seen}"


def check_outputs_complete(out: Path) -> int:
    """Every visible report file parses; returns how many there are."""
    n = 0
    for p in out.rglob("*"):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(out).parts):
            continue  # hidden: temp files, locks, the index state
        n += 1
        data = p.read_bytes()
        if p.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), p
        elif p.suffix == ".ipynb":
            nbformat.validate(nbformat.reads(data.decode("utf-8"), as_version=4))
        elif p.name.endswith(".facts.json"):
            assert "facts" in json.loads(data)
        elif p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                assert z.testzip() is None
        else:
            raise AssertionError(f"unexpected visible file {p}")
    return n


@pytest.fixture(scope="module")
def run_env(tmp_path_factory):
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("runfaults")
    db = base / "perf.duckdb"
    ingest(write_export(base / "export", small_frames()), db)
    nbdir = base / "notebooks"
    nbdir.mkdir()
    for name in ("alpha", "beta", "gamma"):
        write_notebook(nbdir / f"{name}.ipynb", REPORT_BODY)
    write_notebook(nbdir / "hang.ipynb", "import time\ntime.sleep(3600)\n")
    return {"base": base, "db": db, "nbdir": nbdir}


def _run(run_env, out: Path, *names: str, tag: str, extra=(), hook: str | None = None, group: bool = False):
    code = "from perflib.cli import main; import sys; sys.exit(main(sys.argv[1:]))"
    if hook:
        code = hook + "\n" + code
    argv = [sys.executable, "-c", code, "run", *names, "--db", str(run_env["db"]), "--out", str(out),
            "--no-progress", *extra]
    env = dict(os.environ, PERFLIB_NOTEBOOKS_DIR=str(run_env["nbdir"]), PERFLIB_TEST_TAG=tag,
               PYTHONUNBUFFERED="1")
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=group)  # group: its own process group, as in a terminal


# Kills the run in the middle of publishing a report: while the temp file of its .xlsx is half written.
PUBLISH_HOOK = textwrap.dedent('''
    import os, signal
    import perflib.files as _render
    _real = _render.atomic_write_bytes
    def _dying_write(path, data, **kw):
        if str(path).endswith("beta.xlsx"):
            import tempfile
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp",
                                       dir=os.path.dirname(path))
            os.write(fd, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return _real(path, data, **kw)
    _render.atomic_write_bytes = _dying_write
''')


def test_run_killed_mid_report_leaves_only_complete_files_and_the_next_run_completes(run_env):
    out = run_env["base"] / "reports-killed"
    rng = random.Random(7)
    kills = 0
    # 1. killed while publishing beta (its .ipynb and .facts.json are out, the .xlsx half written)
    proc = _run(run_env, out, "alpha", "beta", "gamma", tag="publish", hook=PUBLISH_HOOK)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    kills += 1
    stale = [p for p in out.rglob("*.tmp")]
    assert stale and all(p.name.startswith(".") for p in stale)  # the partial file is hidden
    assert (out / "2023" / "alpha.html").exists() and not (out / "2023" / "beta.html").exists()
    n = check_outputs_complete(out)
    _none_left("publish", 45, "the killed run")
    SURVIVED.append(f"run SIGKILL while publishing beta.xlsx: {n} visible files all complete, "
                    f"{len(stale)} hidden temp file(s), no process left")
    # 2. killed from outside at random moments while kernels run (the runner only: its kernel is orphaned)
    for i, delay in enumerate(sorted(rng.uniform(1.5, 6.0) for _ in range(2))):
        proc = _run(run_env, out, "alpha", "beta", "gamma", tag=f"outside{i}", extra=["--force"])
        time.sleep(delay)
        proc.kill()
        proc.communicate(timeout=60)
        kills += 1
        n = check_outputs_complete(out)
        _none_left(f"outside{i}", 45, "the killed run")  # a zygote still importing notices at its next module
        SURVIVED.append(f"run SIGKILL from outside after {delay:.1f}s: {n} visible files all complete, "
                        "no process left")
    # 3. the next run completes, and removes the temp files of the dead runs (their pid is gone)
    proc = _run(run_env, out, "alpha", "beta", "gamma", tag="next")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    for name in ("alpha", "beta", "gamma"):
        for suffix in (".html", ".ipynb", ".facts.json", ".xlsx"):
            assert (out / "2023" / f"{name}{suffix}").exists()
    assert check_outputs_complete(out) >= 13
    assert not list(out.rglob("*.tmp")), "temp files of the killed runs are left behind"
    state = json.loads((out / ".index.json").read_text("utf-8"))
    assert {s: e["status"] for s, e in state.items()} == {f"2023/{n}": "ok" for n in ("alpha", "beta", "gamma")}
    assert not _wait_gone("next", 10)
    assert kills == 3


def _two_workers_running(run_env, out: Path, tag: str, names=("hang", "alpha", "beta"), group: bool = False):
    """``perflib run --jobs 2`` of ``names``, returned once a worker's kernel runs (``hang``
    sleeps an hour)."""
    proc = _run(run_env, out, *names, tag=tag, extra=["--jobs", "2"], group=group)
    deadline = time.monotonic() + 120
    while True:
        running = _describe(processes_tagged(tag))
        if any("spawn_main" in c for c in running) and any("kernels launch" in c for c in running):
            break
        assert proc.poll() is None and time.monotonic() < deadline, "no worker started a kernel"
        time.sleep(0.2)
    return proc


def _nothing_left(tag: str, out: Path, what: str) -> None:
    _none_left(tag, 30, "the stopped run")
    n = check_outputs_complete(out) if out.exists() else 0
    SURVIVED.append(f"{what}: {n} visible files all complete, no worker, kernel or zygote left")


def test_a_two_worker_run_stopped_by_a_scheduler_leaves_no_process(run_env):
    """``perflib run --jobs 2`` sent SIGTERM (what a scheduler sends when a run overstays; the
    runner does not catch it, so it ends as under SIGKILL) while a worker's kernel runs: the
    workers, their kernels and the zygote all go, no worker waits for work for ever."""
    out = run_env["base"] / "reports-term"
    proc = _two_workers_running(run_env, out, "term")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM  # not communicate(): a leftover holds its pipes
    _nothing_left("term", out, "run --jobs 2 SIGTERM while a worker's kernel ran")


def test_ctrl_c_on_a_two_worker_run_says_interrupted_once(run_env):
    """Ctrl-C in a terminal (SIGINT to the whole process group) on ``perflib run --jobs 2``: exit
    130 and the one line 「已中断」, no worker's traceback (one worker is in its kernel, the other
    done and waiting for work); nothing of the run is left."""
    out = run_env["base"] / "reports-int"
    proc = _two_workers_running(run_env, out, "int", names=("hang", "alpha"), group=True)
    deadline = time.monotonic() + 120
    while not (out / "2023" / "alpha.html").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "alpha was not published"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # a leftover holds its pipes: clean up, then fail
        _kill_all(processes_tagged("int"))
        raise
    assert proc.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "已中断"
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-3000:]
    _nothing_left("int", out, "Ctrl-C on run --jobs 2 while a worker's kernel ran")


def test_a_hanging_cell_is_stopped_by_the_timeout(run_env):
    out = run_env["base"] / "reports-hang"
    started = time.monotonic()
    proc = _run(run_env, out, "hang", "alpha", tag="hang", extra=["--timeout", "5"])
    stdout, stderr = proc.communicate(timeout=240)
    seconds = time.monotonic() - started
    assert proc.returncode == 1, stderr[-2000:]
    assert seconds < 90, seconds  # the cell would sleep an hour
    page = (out / "2023" / "hang.failed.html").read_text("utf-8")
    assert "超时" in page and "time.sleep(3600)" in page
    assert not (out / "2023" / "hang.html").exists()
    assert (out / "2023" / "alpha.html").exists()  # the other report still rendered
    assert "失败" in stdout and "hang" in stdout
    _none_left("hang", 10, "the timed-out cell (its kernel)")
    SURVIVED.append(f"hanging cell (time.sleep(3600)) stopped by --timeout 5 in {seconds:.0f}s: failure page")
