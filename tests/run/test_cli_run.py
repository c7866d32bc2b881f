"""``perflib run`` around the reports (issue 21): an unreachable ``--dask`` address is reported
within seconds, before planning ends; the index keeps, for a skipped report, when it was rendered
and how long that took. No kernel starts here.
"""
from __future__ import annotations

import json
import socket
import time
from types import SimpleNamespace

import pytest

from perflib.cli import main
from perflib.run import publish
from perflib.run.plan import ReportResult


def test_an_unreachable_dask_address_is_exit_2_within_seconds_before_planning(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")  # the [dask] extra; installed in the project environment
    from perflib.run import plan

    def no_planning(*a, **k):
        raise AssertionError("planning started before the Dask address was checked")

    monkeypatch.setenv("PERFLIB_PRELOAD", "0")
    monkeypatch.setattr(plan, "plan_jobs", no_planning)
    import perflib.run.runner as runner

    monkeypatch.setattr(runner, "plan_jobs", no_planning)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # a closed local port: nothing listens there
    started = time.monotonic()
    code = main(["run", "--dask", f"tcp://127.0.0.1:{port}", "--db", str(tmp_path / "none.duckdb"),
                 "--out", str(tmp_path / "reports"), "--no-progress"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert f"无法连接 Dask 调度器 tcp://127.0.0.1:{port}" in err and "dask scheduler" in err
    assert elapsed < 10, elapsed  # coarse guard: Dask's own default wait is 30 s
    assert not (tmp_path / "reports").exists()


def _job(out, stem, fingerprint="fp"):
    return SimpleNamespace(out=str(out), stem=stem, fingerprint=fingerprint, tables={"projects": "t1"},
                           notebook="probe", year=2023, display={"dept": None}, pdf=None, documents={})


def test_the_index_shows_when_a_skipped_report_was_rendered_and_how_long_it_took(tmp_path):
    out, stem = tmp_path / "reports", "2023/probe"
    files = {s: f"<p>{s}</p>".encode() for s in (".html", ".ipynb", ".facts.json", ".xlsx")}
    publish.write_report(out, stem, files, meta={"rendered_at": "2024-03-05 06:00:12"})
    first = ReportResult(notebook="probe", stem=stem, year=2023, display={"dept": None}, status="ok",
                         seconds=12.34, rendered_at="2024-03-05 06:00:12", fingerprint="fp",
                         tables={"projects": "t1"}, timing={"total": 12.34})
    publish.update_index(out, [first])
    hit = publish.cached_result(_job(out, stem))
    assert hit is not None and hit.status == "cached"
    assert (hit.rendered_at, hit.seconds) == ("2024-03-05 06:00:12", 12.34)
    publish.update_index(out, [hit])  # the next run skips it
    state = json.loads((out / ".index.json").read_text("utf-8"))[stem]
    assert (state["rendered_at"], state["seconds"], state["skipped"]) == ("2024-03-05 06:00:12", 12.34, True)
    html = (out / "index.html").read_text("utf-8")
    row = html[html.index("2024-03-05 06:00:12") - 400:html.index("2024-03-05 06:00:12") + 200]
    assert "12.3" in row and "未变化，沿用" in row and "0.0<" not in row
    # a third run skips it again: still the first rendering's time and duration
    again = publish.cached_result(_job(out, stem))
    assert (again.rendered_at, again.seconds) == ("2024-03-05 06:00:12", 12.34)
    # rendered again: no longer marked as skipped
    fresh = ReportResult(notebook="probe", stem=stem, year=2023, display={"dept": None}, status="ok",
                         seconds=3.0, rendered_at="2024-04-05 06:00:00", fingerprint="fp2", tables={})
    publish.update_index(out, [fresh])
    state = json.loads((out / ".index.json").read_text("utf-8"))[stem]
    assert state["skipped"] is False and state["seconds"] == 3.0
    assert "未变化" not in (out / "index.html").read_text("utf-8")
