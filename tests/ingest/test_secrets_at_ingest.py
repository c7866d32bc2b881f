"""Ingest refuses data the redaction of classified projects cannot handle (SECURITY.md §11, §12):
a project code that begins with the redaction label 涉密项目-, and a classified name too short for
the leak guard to scan. Each is a located Chinese problem, exit 2, the store unchanged, word for word
the same from the Python reader and from the DuckDB bulk reader."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import sha256_of, small_frames, write_export
from perflib.exceptions import InputError
from perflib.ingest import folder
from perflib.ingest.bulk import BulkReader
from perflib.ingest.checks import MIN_CLASSIFIED_NAME
from perflib.ingest.load import ingest
from perflib.ingest.reader import PythonReader

NEVER = 1 << 62


def _export(tmp_path: Path, change) -> Path:
    """The small export, every table as CSV (so the bulk reader can take each), ``change``d."""
    frames = small_frames()
    change(frames["projects"])
    return write_export(tmp_path / "export", frames)


def _refused_both_ways(export: Path, tmp_path: Path) -> str:
    """The message of the refused load, the same from both readers; each store left unchanged."""
    messages = []
    for mode, threshold in (("py", NEVER), ("bulk", 0)):
        db = tmp_path / f"{mode}.duckdb"
        ingest(write_export(tmp_path / "good", small_frames()), db)
        before = sha256_of(db)
        with pytest.raises(InputError) as exc:
            ingest(export, db, readers=[BulkReader(min_bytes=threshold), PythonReader()])
        assert sha256_of(db) == before
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    return messages[0]


def test_a_code_beginning_with_the_redaction_label_is_refused(tmp_path, capsys, monkeypatch):
    """An unclassified project coded 涉密项目-01 (in every table) is refused at its row."""
    frames = small_frames()
    for name, df in frames.items():
        if "project_id" in df.columns:
            df.loc[df["project_id"] == "P003", "project_id"] = "涉密项目-01"
    export = write_export(tmp_path / "export", frames)
    msg = _refused_both_ways(export, tmp_path)
    assert "文件 项目.csv，第 6 行，列「项目编码」" in msg and "项目编码" in msg and "涉密项目-01" in msg
    assert "以「涉密项目-」开头" in msg and "不以「涉密项目-」开头的项目编码" in msg
    assert msg.count("以「涉密项目-」开头：") == 1   # reported once, at the project

    from perflib.cli import main
    db = tmp_path / "cli.duckdb"
    ingest(write_export(tmp_path / "good2", small_frames()), db)
    before = sha256_of(db)
    monkeypatch.setattr(folder, "default_readers", lambda: [BulkReader(min_bytes=0), PythonReader()])
    assert main(["ingest", str(export), "--db", str(db)]) == 2
    assert "涉密项目-01" in capsys.readouterr().err
    assert sha256_of(db) == before


@pytest.mark.parametrize("name", ["保障", "保障费"])
def test_a_classified_name_too_short_to_scan_is_refused(tmp_path, name):
    """A classified project named with two or three characters is refused, with the reason."""
    export = _export(tmp_path, lambda df: df.__setitem__(
        "project_name", df["project_name"].where(df["project_id"] != "P004", name)))
    msg = _refused_both_ways(export, tmp_path)
    assert "文件 项目.csv，第 7 行，列「项目名称」" in msg and "项目名称" in msg and name in msg
    assert f"只有 {len(name)} 个字，太短" in msg and f"至少 {MIN_CLASSIFIED_NAME} 个字" in msg


def test_a_short_name_of_an_unclassified_project_is_read(tmp_path):
    """The length rule is for classified names only."""
    export = _export(tmp_path, lambda df: df.__setitem__(
        "project_name", df["project_name"].where(df["project_id"] != "P003", "维修")))
    for mode, threshold in (("py", NEVER), ("bulk", 0)):
        ingest(export, tmp_path / f"{mode}.duckdb", readers=[BulkReader(min_bytes=threshold), PythonReader()])


def _bomb(path: Path, rows: int, dimension: str | None) -> None:
    """A projects workbook of ``rows`` data rows whose sheet XML declares ``dimension``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "项目"
    ws.append(["项目编码", "年度", "部门编码", "项目名称"])
    for k in range(rows):
        ws.append([f"X{k}", 2023, "101", "某项目名称"])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/") and dimension is not None:
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), data)
            out.writestr(item, data)


@pytest.mark.parametrize("rows, dimension, said", [
    (3, "A1:D2000000", "声明的区域有 2,000,000 行"),     # the declared dimension: nothing is read
    (30, "A1:D2", "超过 20 行"),                        # a dimension that lies: stopped at the limit
])
def test_an_xlsx_with_too_many_rows_is_stopped(tmp_path, monkeypatch, capsys, rows, dimension, said):
    """An xlsx bomb (limit lowered to 20 rows): a located Chinese problem, exit 2, store unchanged."""
    from perflib.cli import main
    from perflib.ingest import sources

    monkeypatch.setattr(sources, "XLSX_MAX_ROWS", 20)
    db = tmp_path / "perf.duckdb"
    export = write_export(tmp_path / "export", small_frames())
    ingest(export, db)
    before = sha256_of(db)
    (export / "项目.csv").unlink()
    _bomb(export / "项目.xlsx", rows, dimension)
    assert main(["ingest", str(export), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "项目.xlsx" in err and "工作表「项目」" in err and said in err and "不予读取" in err
    assert sha256_of(db) == before
