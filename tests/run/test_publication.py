"""A report is published as one unit (SECURITY.md §4): its four files appear together or none do,
whatever fails between two file operations and whenever the process is killed, and the index never
lists a report whose files are incomplete or come from two runs.

The publications here are the runner's own (``publish.write_report``, ``publish.update_index``,
``withdraw.prepare_output``) with small hand-made files, each naming the run that wrote it, so that
every file operation can be failed or killed in turn without starting kernels.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from perflib.run import publish, units
from perflib.run.plan import ReportResult
from perflib.run.withdraw import prepare_output

STEMS = ("2023/alpha", "2023/beta-东风街道")
SUFFIXES = (".html", ".ipynb", ".facts.json", ".xlsx")
RUN = re.compile(rb"run=([A-Za-z0-9]+);")


def outputs(run: str, stem: str) -> dict[str, bytes]:
    """A report's four files, each stating the run that wrote it (and sized unlike each other)."""
    return {
        ".html": f"<!DOCTYPE html><html><p>run={run};</p><p>{stem}</p></html>".encode(),
        ".ipynb": json.dumps({"metadata": {"perflib": "run=" + run + ";"}, "cells": []}).encode(),
        ".facts.json": json.dumps({"rendered_at": "run=" + run + ";", "facts": {"x": 1}}).encode(),
        ".xlsx": b"PK\x03\x04" + f"run={run};".encode() + os.urandom(64),
    }


def result(run: str, stem: str, ok: bool = True) -> ReportResult:
    return ReportResult(notebook=Path(stem).name.split("-")[0], stem=stem, year=2023, display={},
                        status="ok" if ok else "failed", seconds=0.1, rendered_at=f"run={run};",
                        error=None if ok else "失败", fingerprint="f")


def publish_run(out: Path, run: str, stems=STEMS) -> None:
    """What a run does for each report: publish its files, then the index."""
    for stem in stems:
        publish.write_report(out, stem, outputs(run, stem), meta={"rendered_at": f"run={run};"})
        publish.update_index(out, [result(run, stem)])


def shown(out: Path, stem: str) -> dict[str, bytes]:
    """The runs named by the files a reader opens at the report's names (missing ones left out)."""
    found = {}
    for suffix in SUFFIXES:
        path = out / f"{stem}{suffix}"
        if path.exists():
            m = RUN.search(path.read_bytes())
            assert m, f"{path.name}: a file that is not whole"
            found[suffix] = m.group(1)
    return found


def assert_one_run_per_report(out: Path, index_current: bool = True) -> dict[str, bytes | None]:
    """Every report shows all four files of one run, or none; the index lists only complete
    reports and links only files that are there; with ``index_current`` (after the index was
    rewritten: not between a switch and the index update that follows it) each entry names the
    publication and time its files come from. Returns {stem: run or None}."""
    runs = {}
    for stem in STEMS:
        files = shown(out, stem)
        assert len(files) in (0, 4), f"{stem}: some files without the others {sorted(files)}"
        assert len(set(files.values())) <= 1, f"{stem}: files from two runs {files}"
        runs[stem] = next(iter(files.values()), None)
    state_path = out / ".index.json"
    if state_path.exists():
        state = json.loads(state_path.read_text("utf-8"))
        page = out / "index.html"
        if not page.exists():  # killed between the first run's state file and its first page:
            assert not index_current  # nothing lists a report yet; the next run writes both
        index = page.read_text("utf-8") if page.exists() else ""
        links = {unquote(link) for link in re.findall(r'href="([^"#]+)"', index)}
        for link in links:
            assert (out / link).is_file(), f"index.html links {link}, which is not there"
        for stem, entry in state.items():
            assert runs.get(stem) is not None, f"the index lists {stem}, which shows no files"
            folder, key = publish.split_stem(out, stem)
            m = units.manifest(folder, key)
            if index_current and m is not None and m["kind"] == "report":
                assert entry["publication"] == m["version"]
                assert entry["last_good_at"] == f"run={runs[stem].decode()};"
                assert f"{stem}.html" in links
    return runs


def assert_tidy(out: Path) -> None:
    """After recovery: no version that is not shown, no temp file or link, no link to nothing."""
    for folder, key in units.units_under(out):
        store = units.store_of(folder, key)
        assert sorted(p.name for p in store.iterdir()) == sorted(
            ["current", units.current_version(folder, key).name])
    assert not [p for p in out.rglob("*.tmp")]
    assert not [p for p in out.rglob("*") if p.is_symlink() and not p.exists()]


class Injected(OSError):
    pass


def test_a_published_report_is_four_links_through_one_switch(tmp_path):
    out = tmp_path / "reports"
    publish_run(out, "A")
    for stem in STEMS:
        folder, key = publish.split_stem(out, stem)
        for suffix in SUFFIXES:
            link = folder / f"{key}{suffix}"
            assert link.is_symlink() and os.readlink(link) == f".published/{key}/current/{key}{suffix}"
        m = units.manifest(folder, key)
        assert m["kind"] == "report" and sorted(m["files"]) == sorted(f"{key}{s}" for s in SUFFIXES)
        for name, digest in m["files"].items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert assert_one_run_per_report(out) == {s: b"A" for s in STEMS}
    publish_run(out, "B")
    assert assert_one_run_per_report(out) == {s: b"B" for s in STEMS}
    assert_tidy(out)  # the old version is gone after the switch


def _operations(out: Path, run: str, stem: str) -> list[tuple[str, str]]:
    """The file operations one publication makes (recorded through units._step)."""
    seen = []
    real = units._step
    units._step = lambda op, path: seen.append((op, Path(path).name))
    try:
        publish.write_report(out, stem, outputs(run, stem), meta={"rendered_at": f"run={run};"})
    finally:
        units._step = real
    return seen


@pytest.mark.parametrize("start", [pytest.param("fresh", marks=pytest.mark.slow), "published",
                                   pytest.param("older perflib", marks=pytest.mark.slow)])
def test_a_failure_between_any_two_operations_leaves_one_run_per_report(tmp_path, monkeypatch, start):
    """For each operation of a publication in turn, the publication fails just before it (disk
    full, a bug): every report still shows one run's four files (or none), the index only complete
    reports; after the next run's recovery nothing is left over, and the next publication works."""
    base = tmp_path / "base" / "reports"
    base.mkdir(parents=True)
    if start == "published":
        publish_run(base, "A")
    elif start == "older perflib":  # regular files, as perflib wrote them before units
        for stem in STEMS:
            for suffix, data in outputs("A", stem).items():
                (base / f"{stem}{suffix}").parent.mkdir(parents=True, exist_ok=True)
                (base / f"{stem}{suffix}").write_bytes(data)
    probe = tmp_path / "probe" / "reports"
    shutil.copytree(base, probe, symlinks=True)
    ops = _operations(probe, "B", STEMS[1])
    assert len(ops) >= 8 and ("rename", "current") in ops
    expected_before = {s: (None if start == "fresh" else b"A") for s in STEMS}
    commit = len(ops) - 1 - ops[::-1].index(("rename", "current"))  # the last switch: the new version
    for k in range(len(ops)):
        out = tmp_path / f"k{k}" / "reports"
        shutil.copytree(base, out, symlinks=True)
        calls = []

        def failing(op, path, k=k, calls=calls):
            calls.append(op)
            if len(calls) == k + 1:
                raise Injected(f"injected before {op} {Path(path).name}")

        monkeypatch.setattr(units, "_step", failing)
        try:
            publish_run(out, "B", stems=[STEMS[1]])
            raised = False
        except Injected:
            raised = True
            publish.update_index(out, [result("B", STEMS[1], ok=False)])  # the runner's failed result
        monkeypatch.setattr(units, "_step", lambda op, path: None)
        # before the switch the publication fails; after it, it is done (tidying is left over)
        assert raised == (k <= commit), (k, ops[k])
        runs = assert_one_run_per_report(out)
        assert runs[STEMS[0]] == expected_before[STEMS[0]]
        assert runs[STEMS[1]] == (b"B" if k > commit else expected_before[STEMS[1]]), (k, ops[k])
        prepare_output(out, [])  # the next run, before it publishes anything
        assert assert_one_run_per_report(out) == runs
        assert_tidy(out)
        publish_run(out, "C")
        assert assert_one_run_per_report(out) == {s: b"C" for s in STEMS}
        assert_tidy(out)


def test_the_commit_rename_itself_failing_keeps_the_old_report(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    publish_run(out, "A")
    real = os.replace

    def refuse_switch(src, dst):
        if Path(dst).name == "current":
            raise Injected("rename(2) refused")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", refuse_switch)
    with pytest.raises(Injected):
        publish_run(out, "B")
    monkeypatch.setattr(os, "replace", real)
    assert assert_one_run_per_report(out) == {s: b"A" for s in STEMS}
    assert_tidy(out)  # the failed publication removed its own version


# --- SIGKILL at random moments -------------------------------------------------------------------
DRIVER = textwrap.dedent('''
    import random, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from perflib.run import units
    import test_publication as t
    rng = random.Random(int(sys.argv[2]))
    units._step = lambda op, path: time.sleep(rng.uniform(0, 0.004))  # kills land between operations
    out = Path(sys.argv[1])
    print("ready", flush=True)
    for n in range(1000):
        t.publish_run(out, f"R{sys.argv[2]}x{n}")
''')


@pytest.mark.slow
def test_recovery_removes_an_index_temp_file_of_a_killed_writer(tmp_path):
    """A writer killed between writing ``index.html``'s temp file and renaming it leaves the temp
    file; the next run's recovery (``prepare_output``) removes it and keeps a live writer's."""
    out = tmp_path / "reports"
    publish_run(out, "one")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    left = out / f".index.html.{dead}.k1ll3d_x.tmp"
    live = out / f".index.html.{os.getpid()}.writing.tmp"
    left.write_text("<html>half", "utf-8")
    live.write_text("<html>being written", "utf-8")
    prepare_output(out, [])
    assert not left.exists() and live.exists()
    live.unlink()
    assert_tidy(out)


def test_sigkill_at_random_moments_leaves_one_run_per_report(tmp_path):
    """A process publishing run after run is killed at random moments (12 kills): each time every
    report shows one run's four files or none and the index lists only those; the next run's
    recovery leaves nothing over; a final run completes."""
    out = tmp_path / "reports"
    rng = random.Random(22)
    here = str(Path(__file__).parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(publish.__file__).parents[2]), here]))
    seen_states = set()
    for i in range(12):
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(out), str(i), here], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        runs = assert_one_run_per_report(out, index_current=False)
        seen_states.add(tuple(runs.values()))
        prepare_output(out, [])
        assert assert_one_run_per_report(out) == runs
        assert_tidy(out)
    assert len(seen_states) >= 6  # the kills landed at different points
    publish_run(out, "final")
    assert assert_one_run_per_report(out) == {s: b"final" for s in STEMS}
    assert_tidy(out)
