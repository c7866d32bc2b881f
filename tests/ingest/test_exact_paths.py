"""Every file of an export is read by its exact path: a name holding DuckDB's glob characters
(``[ ] * ? { }``) loads its own rows, never another file's (SECURITY.md §9), through the bulk reader
(CSV forced to DuckDB, Parquet always) and its GBK transcoding; and a symbolic link in the export
folder is refused, named, with the store unchanged (SECURITY.md §10).
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import sha256_of, write_export
from perflib.exceptions import InputError
from perflib.files import sha256_file
from perflib.ingest.bulk import BulkReader
from perflib.ingest.load import ingest
from perflib.ingest.reader import PythonReader

# (the file's name, the other file beside it whose name its pattern matches); every name is one the
# table-name rules accept (a split-file number in parentheses)
NAMES = {
    "[": ("支出明细(第[1]批)", "支出明细(第1批)"),
    "]": ("支出明细(第1]批)", "支出明细(第1批)"),
    "*": ("支出明细(*2)", "支出明细(12)"),
    "?": ("支出明细(?2)", "支出明细(12)"),
    "{": ("支出明细({1,2})", "支出明细(1)"),
    "}": ("支出明细(1})", "支出明细(1)"),
}


def _readers():
    return [BulkReader(min_bytes=0), PythonReader()]


def _payments(db: Path) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        df = con.sql("SELECT * FROM payments").to_df()
    finally:
        con.close()
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _loads(db: Path) -> dict[str, tuple[str, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT file, sha256, row_count FROM loads WHERE table_name = 'payments'").fetchall()
    finally:
        con.close()
    return {f: (sha, n) for f, sha, n in rows}


def _split(export: Path, name: str, other: str, fmt: str, encoding: str = "utf-8") -> dict[str, int]:
    """Replace 支出明细.csv by two files of as many rows each (distinct rows): ``name`` and
    ``other``. Returns each file's row count."""
    src = export / "支出明细.csv"
    df = pd.read_csv(src, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    src.unlink()
    half = len(df) // 2
    assert half >= 1
    pieces = {name: df.iloc[:half], other: df.iloc[half: 2 * half]}
    for stem, piece in pieces.items():
        if fmt == "parquet":
            pq.write_table(pa.Table.from_pandas(piece, preserve_index=False), export / f"{stem}.parquet")
        else:
            piece.to_csv(export / f"{stem}.csv", index=False, encoding=encoding)
    return {f"{stem}.{fmt}": len(piece) for stem, piece in pieces.items()}


@pytest.mark.slow  # 18 ingests through both readers; the folder-name test below is the fast-lane check
@pytest.mark.parametrize("fmt,encoding", [("csv", "utf-8"), ("csv", "gbk"), ("parquet", None)])
@pytest.mark.parametrize("char", list(NAMES))
def test_a_name_with_glob_characters_loads_its_own_rows(export_dir, tmp_path, char, fmt, encoding):
    """Two payment files whose names a glob would confuse: the store holds each file's rows once,
    exactly as the Python reader reads them, and ``loads`` records each file's own sha256 and count."""
    name, other = NAMES[char]
    counts = _split(export_dir, name, other, fmt, encoding or "utf-8")
    ref = None
    if fmt == "csv":             # the Python reader opens files by path: the reference
        ref = tmp_path / "py.duckdb"
        ingest(export_dir, ref, readers=[PythonReader()])
    db = tmp_path / "bulk.duckdb"
    ingest(export_dir, db, readers=_readers())
    loads = _loads(db)
    assert loads == {f: (sha256_file(export_dir / f), n) for f, n in counts.items()}
    got = _payments(db)
    assert len(got) == sum(counts.values())
    assert not got.duplicated().any()
    if ref is not None:
        pd.testing.assert_frame_equal(got, _payments(ref))


def test_a_folder_with_glob_characters_is_read_exactly(tmp_path):
    """The export folder's own name may hold glob characters too."""
    export = write_export(tmp_path / "导出[2024]*")
    decoy = write_export(tmp_path / "导出2")           # what the folder name would match as a glob
    pay = pd.read_csv(decoy / "支出明细.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    pay["支付金额"] = "1.00"                       # as many rows, other amounts
    pay.to_csv(decoy / "支出明细.csv", index=False, encoding="utf-8")
    ref = tmp_path / "py.duckdb"
    ingest(export, ref, readers=[PythonReader()])
    db = tmp_path / "bulk.duckdb"
    ingest(export, db, readers=_readers())
    pd.testing.assert_frame_equal(_payments(db), _payments(ref))


def test_exact_names_across_file_systems_use_a_symbolic_link(export_dir, tmp_path, monkeypatch):
    """Where a hard link cannot be made (the temp directory on another file system), DuckDB reads
    the file through a symbolic link of a plain name: still exactly that file."""
    from perflib.ingest.bulk import plan

    def no_link(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(plan.os, "link", no_link)
    name, other = NAMES["["]
    counts = _split(export_dir, name, other, "parquet")
    db = tmp_path / "bulk.duckdb"
    ingest(export_dir, db, readers=_readers())
    assert _loads(db) == {f: (sha256_file(export_dir / f), n) for f, n in counts.items()}
    assert not _payments(db).duplicated().any()


def test_an_unreadable_parquet_file_is_named_by_its_own_path(export_dir, tmp_path):
    """DuckDB's reason names the user's file, not the link it was given."""
    (export_dir / "支出明细.csv").unlink()
    (export_dir / "支出明细(第[1]批).parquet").write_bytes(b"garbage")
    with pytest.raises(InputError) as err:
        ingest(export_dir, tmp_path / "bulk.duckdb", readers=_readers())
    message = str(err.value)
    assert "无法作为 Parquet 文件读取" in message and "支出明细(第[1]批).parquet" in message
    assert "perflib-bulk-" not in message


# --- symbolic links (SECURITY.md §10) -----------------------------------------------------------
SECRET = "绝密标记,SECRET-LINE-0042"


def _outside_links(export: Path, outside: Path) -> dict[str, object]:
    """Ways a link in the export folder can point out of it: (name, how the link is made)."""
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.csv"
    secret.write_text(SECRET + "\n1,2\n", encoding="utf-8")
    return {
        "absolute": lambda link: link.symlink_to(secret),
        "relative": lambda link: link.symlink_to(os.path.relpath(secret, export)),
        "via a link inside": lambda link: (export / "中转.lnk").symlink_to(secret) or
                                          link.symlink_to("中转.lnk"),
        "to a folder": lambda link: link.symlink_to(outside),
        "to nothing": lambda link: link.symlink_to(outside / "gone.csv"),
        "in a loop": lambda link: link.symlink_to(link.name),
    }


@pytest.mark.parametrize("how", ["absolute", "relative", "via a link inside", "to a folder", "to nothing",
                                 "in a loop"])
@pytest.mark.parametrize("bulk", [False, True])
def test_a_link_out_of_the_export_folder_is_refused(export_dir, tmp_path, capsys, how, bulk, monkeypatch):
    """A link pointing out of the export folder: exit 2, a Chinese problem located at the link's own
    name, nothing of the target (content or path) in the message, the store byte-for-byte unchanged."""
    from perflib.cli import main
    from perflib.ingest import folder

    db = tmp_path / "perf.duckdb"
    ingest(export_dir, db)
    before = sha256_of(db)
    makers = _outside_links(export_dir, tmp_path / "outside")
    (export_dir / "支出明细.csv").unlink()
    makers[how](export_dir / "支出明细.csv")
    if bulk:
        monkeypatch.setattr(folder, "default_readers", _readers)
    code = main(["ingest", str(export_dir), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert "文件 支出明细.csv" in err and "是指向导出文件夹之外的符号链接，不予读取" in err
    assert "SECRET-LINE" not in err and "绝密标记" not in err
    assert "outside" not in err and "secret" not in err
    assert sha256_of(db) == before


def test_a_link_inside_the_export_folder_is_read(export_dir, tmp_path):
    """A link ending inside the export folder (here: to a file in a subfolder, which is itself not
    read) is read like the file; the store holds its rows."""
    ref = tmp_path / "ref.duckdb"
    ingest(export_dir, ref)
    (export_dir / "原件").mkdir()
    (export_dir / "支出明细.csv").rename(export_dir / "原件" / "支出明细.csv")
    (export_dir / "支出明细.csv").symlink_to(Path("原件") / "支出明细.csv")
    for readers in (None, _readers()):
        db = tmp_path / f"link-{readers is None}.duckdb"
        ingest(export_dir, db, readers=readers)
        pd.testing.assert_frame_equal(_payments(db), _payments(ref))
