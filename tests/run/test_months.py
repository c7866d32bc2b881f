"""Monitoring months at the runner (issue 15): the export date recorded at ingest, the default
as_of_month = the last month the payments cover entirely, and a month beyond it refused (exit 2)
before any kernel starts."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import small_frames, write_export, write_notebook

from perflib.cli import main
from perflib.run import plan, runner
from perflib.store import Store

PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\nas_of_month = None\n"


def _set_mtime(folder: Path, day: dt.date) -> None:
    """The payments file (支出明细.csv) as if the finance system wrote it at noon on ``day``."""
    t = dt.datetime.combine(day, dt.time(12)).timestamp()
    os.utime(folder / "支出明细.csv", (t, t))


def _store(tmp_path: Path, extra=(), exported: dt.date | None = None) -> Path:
    """The small export (2023 payments to 31 July) plus ``extra`` (date, amount) payments of P001."""
    f = small_frames()
    rows = [("P001", 2023, d, amount) for d, amount in extra]
    f["payments"] = pd.concat([f["payments"], pd.DataFrame(rows, columns=f["payments"].columns)],
                              ignore_index=True)
    src = write_export(tmp_path / "export", f)
    if exported is not None:
        _set_mtime(src, exported)
    from perflib.ingest import ingest

    db = tmp_path / "perf.duckdb"
    ingest(src, db)
    return db


@pytest.fixture()
def nbdir(tmp_path, monkeypatch):
    d = tmp_path / "notebooks"
    d.mkdir()
    write_notebook(d / "probe.ipynb", PARAMS, "pass\n")
    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(d))
    return d


def test_ingest_records_the_payments_files_modification_date(tmp_path):
    db = _store(tmp_path, exported=dt.date(2023, 9, 3))
    with Store(db) as s:
        assert s.payments_export_date() == dt.date(2023, 9, 3)
    con = duckdb.connect(str(db), read_only=True)
    dates = dict(con.execute("SELECT table_name, max(export_date) FROM loads GROUP BY 1").fetchall())
    con.close()
    assert set(dates) >= {"payments", "projects"} and all(d is not None for d in dates.values())


def test_a_database_from_before_the_export_date_column_loads_and_falls_back(tmp_path):
    from perflib.ingest import ingest

    db = _store(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE loads DROP COLUMN export_date")  # the loads table as it was
    con.execute("UPDATE loads SET loaded_at = TIMESTAMP '2023-08-02 09:00:00'")
    con.close()
    with Store(db) as s:
        assert s.payments_export_date() == dt.date(2023, 8, 2)  # the load date stands in
    f = small_frames()
    f["payments"].loc[0, "amount"] = 300001  # a changed export: a second load
    src = write_export(tmp_path / "export2", f)
    _set_mtime(src, dt.date(2023, 9, 3))
    ingest(src, db)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT load_id, max(export_date) FROM loads WHERE table_name = 'payments' "
                       "GROUP BY 1 ORDER BY 1").fetchall()
    con.close()
    assert rows == [(1, None), (2, dt.date(2023, 9, 3))]


@pytest.mark.parametrize("extra, exported, month", [
    ((), None, 7),                                              # payments to 31 July, exported today
    (((dt.date(2023, 8, 15), 5.0),), None, 7),                  # one payment on 15 August
    (((dt.date(2023, 8, 28), 5.0),), dt.date(2023, 9, 3), 8),   # to 28 Aug, exported 3 Sep
    (((dt.date(2023, 8, 28), 5.0),), dt.date(2023, 8, 30), 7),  # exported before August ended
])
def test_the_default_month_is_the_last_complete_one(tmp_path, nbdir, extra, exported, month):
    db = _store(tmp_path, extra, exported)
    jobs = plan.plan_jobs(["probe"], db=db, out=tmp_path / "reports", notebooks_dir=nbdir)
    assert [j.params["as_of_month"] for j in jobs] == [month]
    assert jobs[0].display["as_of_month"] == f"{month}月"


def _no_kernel(*a, **k):
    raise AssertionError("a kernel was started")


def test_a_month_after_the_data_is_refused_before_any_kernel(tmp_path, nbdir, monkeypatch, capsys):
    import papermill

    db = _store(tmp_path)
    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    monkeypatch.setattr(runner, "_early_zygote", lambda *a, **k: None)
    monkeypatch.setattr(runner, "run_job", _no_kernel)
    out = tmp_path / "reports"
    code = main(["run", "probe", "-p", "as_of_month=12", "--db", str(db), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "2023 年支付数据只到 7 月 31 日" in err and "不能生成截至 12 月底的监控报告" in err
    assert "as_of_month=7" in err
    assert not out.exists()
    assert main(["run", "probe", "-p", "as_of_month=8", "--db", str(db), "--out", str(out),
                 "--no-progress"]) == 2
    assert "不能生成截至 8 月底" in capsys.readouterr().err
