"""``perflib publish``: the public disclosure package (绩效信息公开) on a hand-made export with a
classified project present in every table and distinctive values in every internal column: no
classified name or code and no internal value in any file, the item count against a count made here
from the frames, a bad --year refused in Chinese (exit 2) with nothing written, and the folder
replaced whole or not at all."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from conftest import small_frames, write_export

from perflib import files
from perflib.cli import main
from perflib.exceptions import DisclosureLeak
from perflib.ingest import ingest
from perflib.rules import load_rules
from perflib.run import disclosure as run_disclosure
from perflib.run.leaks import xlsx_text
from perflib.schema import TABLES, internal_columns

YEAR = 2023
SECRET_NAME = "某专项保障经费"
SECRET_CODE = "P004"


def disclosure_frames() -> dict[str, pd.DataFrame]:
    """The small export, with the classified P004 in targets, self-evaluations, key evaluations and
    monitoring, and a distinctive text in every internal column."""
    f = small_frames()
    f["projects"] = pd.concat([f["projects"], pd.DataFrame([
        ("P004", 2022, "103", SECRET_NAME, None, "一般公共预算", "本级", D("80000.00"), None, "是", "否")],
        columns=f["projects"].columns)], ignore_index=True)
    f["targets"] = pd.concat([f["targets"], pd.DataFrame([
        ("P004", "103", 2023, "产出指标", "数量指标", "保障任务完成数", "≥", "4", "项", 50),
        (None, "102", 2023, "效益指标", "社会效益指标", "科技成果转化", "定性", "明显提升", None, None)],
        columns=f["targets"].columns)], ignore_index=True)
    f["monitoring"] = f["monitoring"].assign(deviation_reason=["内部偏差原因甲一", "内部偏差原因乙二", None])
    f["self_evaluations"] = pd.concat([f["self_evaluations"], pd.DataFrame([
        ("P004", 2022, D("70000.00"), 90, 88)], columns=f["self_evaluations"].columns)], ignore_index=True)
    ke = f["key_evaluations"].assign(findings="评价组内部意见丙三")
    f["key_evaluations"] = pd.concat([ke, pd.DataFrame([
        ("P004", 2023, "公共安全", 15, 15, 20, 20, D("100000.00"), D("90000.00"), "涉密项目的评价意见丁四")],
        columns=ke.columns)], ignore_index=True)
    f["rectifications"] = pd.DataFrame([
        ("ZDPJ-2023-101-001", "重点评价", "P001", "101", 2023, "整改问题描述戊五", "整改措施己六",
         dt.date(2024, 6, 30), "整改中", None, "佐证材料庚七", "预算处理辛八"),
    ], columns=[c.name for c in TABLES["rectifications"].columns])
    return f


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return disclosure_frames()


@pytest.fixture(scope="module")
def db(frames, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("disclosure")
    ingest(write_export(root / "export", frames), root / "perf.duckdb")
    return root / "perf.duckdb"


@pytest.fixture(scope="module")
def package(db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "public"
    assert main(["publish", "--year", str(YEAR), "--out", str(out), "--db", str(db)]) == 0
    return out


def package_text(out: Path) -> dict[str, str]:
    """{file name: its text} (an xlsx: the XML inside its zip)."""
    return {p.name: (bytes(xlsx_text(p.read_bytes())) if p.suffix == ".xlsx" else p.read_bytes()).decode("utf-8")
            for p in sorted(out.iterdir())}


def test_schema_marks_the_working_material_internal():
    marked = set(internal_columns())
    assert {("monitoring", "deviation_reason"), ("key_evaluations", "findings"), ("rectifications", "evidence"),
            ("rectifications", "measure")} <= marked
    assert all(TABLES[t].column(c).internal for t, c in marked)


def test_package_has_no_classified_name_or_code(package):
    texts = package_text(package)
    assert {"index.html", "keyeval.html", "disclosure.json", f"绩效信息公开-{YEAR}.xlsx"} <= set(texts)
    for name, text in texts.items():
        assert SECRET_NAME not in text, name
        assert SECRET_CODE not in text, name
        assert "涉密项目" not in text.replace("涉密项目不公开", ""), name  # absent, not shown as a surrogate


def test_package_has_no_internal_field_value(package, frames):
    texts = package_text(package)
    values = {(t, c): v for t, c in internal_columns() if t in frames and c in frames[t]
              for v in frames[t][c].dropna().astype(str) if v}
    assert len({k for k in values}) >= 5  # the fixture fills every internal column it can
    for (table, column), value in values.items():
        for name, text in texts.items():
            assert value not in text, (table, column, name)
    for t, c in internal_columns():  # nor their headers
        for name, text in texts.items():
            assert TABLES[t].column(c).header not in text, (t, c, name)


def test_item_count_against_an_independent_count(package, frames):
    p = frames["projects"]
    secret = set(p.loc[p["is_classified"] == "是", "project_id"])
    t = frames["targets"]
    t = t[t["year"] == YEAR]
    project_targets = t.loc[t["project_id"].notna() & ~t["project_id"].isin(secret), "project_id"].nunique()
    dept_targets = t.loc[t["project_id"].isna(), "dept_code"].nunique()
    se = frames["self_evaluations"]
    selfevals = len(se[(se["year"] == YEAR - 1) & ~se["project_id"].isin(secret)])
    ke = frames["key_evaluations"]
    keyevals = len(ke[(ke["year"] == YEAR) & ~ke["project_id"].isin(secret)])
    expected = project_targets + dept_targets + selfevals + keyevals
    doc = json.loads((package / "disclosure.json").read_text("utf-8"))
    assert doc["items"] == {"project_targets": project_targets, "dept_targets": dept_targets,
                            "self_evaluations": selfevals, "key_evaluations": keyevals}
    assert doc["facts"]["disclosure.items"] == expected
    assert doc["selfeval_year"] == YEAR - 1
    index = (package / "index.html").read_text("utf-8")
    assert f"公开绩效信息 {expected} 条" in index
    assert "条数的口径" in index and f"{YEAR - 1} 年度预算项目的自评" in index


def test_publication_date_is_in_the_bureau_time_zone(db, tmp_path):
    from zoneinfo import ZoneInfo

    rules = load_rules(None)
    before = dt.datetime.now(ZoneInfo(rules.value("report.timezone"))).date()
    w = run_disclosure.write_disclosure(db, YEAR, tmp_path / "pub", rules)
    after = dt.datetime.now(ZoneInfo(rules.value("report.timezone"))).date()
    day = w.published_at[:10]
    assert day in (before.isoformat(), after.isoformat())
    assert w.published_at.endswith(dt.datetime.now(ZoneInfo(rules.value("report.timezone"))).strftime("%z"))
    assert f"公开日期：{day}" in (tmp_path / "pub" / "index.html").read_text("utf-8")


def test_bad_year_is_refused_in_chinese_and_nothing_is_written(db, tmp_path, capsys):
    out = tmp_path / "public"
    assert main(["publish", "--year", "1999", "--out", str(out), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "错误" in err and "1999" in err and "未写入任何内容" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    assert main(["publish", "--year", "二〇二三", "--out", str(out), "--db", str(db)]) == 2
    assert "不是整数" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_package_whole(db, tmp_path, monkeypatch):
    out = tmp_path / "public"
    rules = load_rules(None)
    run_disclosure.write_disclosure(db, YEAR, out, rules)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = files.atomic_write_bytes, []

    def failing(path, data, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        real(path, data, **kw)

    monkeypatch.setattr(files, "atomic_write_bytes", failing)
    with pytest.raises(OSError):
        run_disclosure.write_disclosure(db, YEAR, out, rules)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["public"]  # no temp folder left behind
    monkeypatch.setattr(files, "atomic_write_bytes", real)
    run_disclosure.write_disclosure(db, YEAR, out, rules)  # a rerun replaces the folder whole
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    assert [p.name for p in tmp_path.iterdir()] == ["public"]


def test_a_classified_name_in_public_text_stops_the_package(frames, tmp_path):
    f = {k: v.copy() for k, v in frames.items()}
    f["targets"].loc[f["targets"]["project_id"] == "P001", "indicator"] = \
        f["targets"].loc[f["targets"]["project_id"] == "P001", "indicator"] + f"（{SECRET_NAME}）"
    ingest(write_export(tmp_path / "export", f), tmp_path / "perf.duckdb")
    with pytest.raises(DisclosureLeak) as exc:
        run_disclosure.write_disclosure(tmp_path / "perf.duckdb", YEAR, tmp_path / "public", load_rules(None))
    assert exc.value.exit_code == 1 and "未写入" in str(exc.value)
    assert not (tmp_path / "public").exists()


def test_section_eight_cites_the_package(package):
    from perflib.present.docx import read_bureau_text

    doc = json.loads((package / "disclosure.json").read_text("utf-8"))
    text = read_bureau_text(package / "disclosure.json")
    assert f"公开绩效信息 {doc['facts']['disclosure.items']} 条" in text and f"{YEAR}年度" in text


@pytest.mark.slow
def test_hostile_demo_package_has_no_classified_project(hostile_demo, tmp_path):
    from conftest import CLASSIFIED_KEYEVAL, CLASSIFIED_TWIN

    from perflib.store import Store

    out = tmp_path / "public"
    w = run_disclosure.write_disclosure(hostile_demo["db"], YEAR, out, load_rules(None))
    with Store(hostile_demo["db"], redact=False) as raw:
        secrets = raw.classified_names()
        ke = raw.table("key_evaluations", YEAR)
        classified = raw.projects(YEAR).query("is_classified")["project_id"]
    assert CLASSIFIED_TWIN in secrets and CLASSIFIED_KEYEVAL in secrets
    texts = package_text(out)
    for name, text in texts.items():
        for s in secrets:
            assert s not in text, (name, s)
        assert "涉密项目的评价发现" not in text
    assert w.items["key_evaluations"] == int((~ke["project_id"].isin(classified)).sum())
