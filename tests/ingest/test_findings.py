"""Findings (``perflib.ingest.findings``): graded by the rules file and ``--strict``, found alike by
both readers, replaced with the data they describe, and counted on the demo as an independent pandas
count over its files says.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import sha256_of, small_frames, write_export
from perflib.cli import main
from perflib.exceptions import RulesError
from perflib.ingest import check, ingest
from perflib.ingest.bulk import BulkReader
from perflib.ingest.checks import examine
from perflib.ingest.findings import COUNTED_OPTIONAL, GAPS
from perflib.ingest.folder import read_export
from perflib.ingest.reader import PythonReader
from perflib.rules import load_rules
from perflib.schema import FINDING_KINDS

HERE = Path(__file__).resolve().parents[1]
CORPUS = HERE / "data" / "bad_inputs"
ROOT = HERE.parent
GAP_CASE = CORPUS / "qualitative_target_blank"
GAP_LINE = "文件 绩效目标.csv，第 3 行，列「指标值」：定性指标未填指标值"


@pytest.fixture
def loaded(tmp_path) -> Path:
    db = tmp_path / "db" / "perf.duckdb"
    ingest(write_export(tmp_path / "base"), db)
    return db


def _rules_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(body, encoding="utf-8")
    return path


# --- grading: --strict and the rules file ------------------------------------------------------
def test_strict_turns_a_finding_into_an_error(loaded, capsys):
    before = sha256_of(loaded)
    assert main(["ingest", str(GAP_CASE), "--db", str(loaded), "--strict"]) == 2
    err = capsys.readouterr().err
    assert GAP_LINE in err and "未写入数据库（原数据库保持不变）" in err
    assert sha256_of(loaded) == before
    assert main(["ingest", str(GAP_CASE), "--db", str(loaded)]) == 0  # without --strict it loads


def test_rules_file_makes_one_kind_an_error(loaded, tmp_path, capsys):
    before = sha256_of(loaded)
    rules = _rules_file(tmp_path, "ingest:\n  severity:\n    value: {qualitative_target_missing: error}\n")
    assert main(["ingest", str(GAP_CASE), "--db", str(loaded), "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert "导入数据有 1 处问题" in err and GAP_LINE in err  # only that kind blocks
    assert sha256_of(loaded) == before
    # the other kinds keep their default: the small export's own findings still load
    other = _rules_file(tmp_path, "ingest:\n  severity:\n    value: {sector_missing: error}\n")
    assert main(["ingest", str(GAP_CASE), "--db", str(loaded), "--rules", str(other)]) == 0
    assert load_rules(other).value("ingest.severity")["qualitative_target_missing"] == "finding"


@pytest.mark.parametrize("body, named", [
    ("ingest:\n  severity:\n    value: {no_such_kind: error}\n", "ingest.severity.no_such_kind"),
    ("ingest:\n  severity:\n    value: {satisfaction_missing: fatal}\n", "ingest.severity.satisfaction_missing"),
])
def test_rules_file_with_unknown_kind_or_severity_is_refused(tmp_path, capsys, body, named):
    rules = _rules_file(tmp_path, body)
    with pytest.raises(RulesError, match=named):
        load_rules(rules)
    assert main(["ingest", str(GAP_CASE), "--db", str(tmp_path / "x.duckdb"), "--rules", str(rules)]) == 2
    assert named in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists()


def test_default_rules_grade_every_kind_a_finding():
    assert load_rules().value("ingest.severity") == {k: "finding" for k in FINDING_KINDS}


# --- perflib check ----------------------------------------------------------------------------
def test_check_prints_findings_and_exits_0_writing_nothing(tmp_path, capsys):
    before = sorted(p.name for p in GAP_CASE.iterdir())
    assert main(["check", str(GAP_CASE)]) == 0
    out = capsys.readouterr().out
    assert "没有错误，可以导入" in out
    assert "数据质量提示 4 处" in out and "定性指标未填指标值：1 处" in out and "指标未填分值：1 处" in out
    assert GAP_LINE in out
    assert sorted(p.name for p in GAP_CASE.iterdir()) == before


def test_check_exits_2_on_errors_listing_them_before_findings(capsys):
    assert main(["check", str(CORPUS / "duplicate_key")]) == 2
    out = capsys.readouterr().out
    assert "有 1 处错误" in out and "与文件 项目.csv 第 4 行重复" in out
    assert out.index("重复") < out.index("数据质量提示 3 处")


def test_check_strict_exits_2(capsys):
    assert main(["check", str(GAP_CASE), "--strict"]) == 2
    out = capsys.readouterr().out
    assert "有 4 处错误" in out and GAP_LINE in out and "数据质量提示：无" in out


def test_check_summary_matches_what_ingest_stores(tmp_path):
    summary = check(CORPUS / "many_gaps_at_once")
    assert summary.ok
    loaded = ingest(CORPUS / "many_gaps_at_once", tmp_path / "perf.duckdb")
    assert summary.findings == loaded.findings and len(loaded.findings) == 7


# --- replaced with the data they describe ------------------------------------------------------
def test_findings_replaced_per_partition(tmp_path):
    """A re-export of 2023 replaces the 2023 findings and keeps those of 2022; a table the load does
    not bring keeps its findings."""
    db = tmp_path / "perf.duckdb"
    frames = small_frames()
    frames["targets"].loc[1, "target_value"] = None        # 2023 定性 gap
    frames["targets"].loc[4, "weight"] = None              # 2022 target without weight
    ingest(write_export(tmp_path / "first", frames), db)
    again = small_frames()
    again["targets"] = again["targets"][again["targets"]["year"] == 2023].reset_index(drop=True)
    again = {k: again[k] for k in ("targets",)}            # 2023 targets only, value now filled in
    ingest(write_export(tmp_path / "second", again), db)
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT load_id, kind, year, record_key FROM findings ORDER BY ALL").fetchall()
    con.close()
    assert got == [
        (1, "quality_score_missing", 2023, "P003|2023|维修面积"),
        (1, "satisfaction_missing", 2022, "P002|2022"),
        (1, "target_weight_missing", 2022, "2022|101|P001|新建运动场地"),
        (2, "target_weight_missing", 2023, "2023|101||学校覆盖率"),
    ]


def test_monitoring_findings_replaced_per_month(tmp_path):
    db = tmp_path / "perf.duckdb"
    frames = small_frames()
    frames["monitoring"].loc[1, "actual_value"] = None
    ingest(write_export(tmp_path / "first", frames), db)
    june = small_frames()["monitoring"].assign(as_of_month=6)
    june.loc[0, "actual_value"] = None
    ingest(write_export(tmp_path / "second", {"monitoring": june}), db)   # month 6: month 7 stays
    july = small_frames()["monitoring"]
    ingest(write_export(tmp_path / "third", {"monitoring": july}), db)    # month 7 again, filled in
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT load_id, record_key FROM findings WHERE table_name = 'monitoring'").fetchall()
    con.close()
    assert got == [(2, "P001|2023|6|新建运动场地")]


# --- both readers ----------------------------------------------------------------------------
def _both(folder: Path):
    py = examine(read_export(folder, strict=False, readers=[PythonReader()]))
    bk = read_export(folder, strict=False, readers=[BulkReader(min_bytes=0), PythonReader()])
    con = duckdb.connect()
    try:
        if bk.staged is not None:
            bk.staged.load(con)
        return py, list(examine(bk))
    finally:
        con.close()


FINDING_CASES = ("qualitative_target_blank", "target_without_unit", "monitoring_without_reason_column",
                 "deviation_reason_blank", "key_score_above_maximum", "many_gaps_at_once",
                 "projects_without_adjusted_column", "self_eval_indicator_without_value")


@pytest.mark.parametrize("case", FINDING_CASES)
def test_readers_find_the_same_findings(case):
    py, bk = _both(CORPUS / case)
    assert [p for p in py if p.kind] and py == bk


def test_readers_agree_on_the_demo_findings(demo_export):
    py, bk = _both(demo_export)
    assert len(py) == 1008 and all(p.kind for p in py) and py == bk


# --- the demo: counts per kind against an independent count over its files ---------------------
@pytest.fixture(scope="module")
def demo_export(demo_ingest) -> Path:
    """The seed-0 demo export conftest writes once per run (read-only)."""
    return demo_ingest["export"]


def _read(folder: Path, label: str) -> pd.DataFrame:
    """The rows of table ``label`` from a csv named after it or a workbook sheet named after it."""
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv" and path.stem == label:
            raw = path.read_bytes()
            enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else ("utf-8" if _utf8(raw) else "gb18030")
            return pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=False)
        if path.suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
            if label in sheets:
                return sheets[label]
    raise AssertionError(f"no {label} in the demo")


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_demo_findings_equal_an_independent_count(demo_export, demo_ingest):
    blank = lambda s: s.str.strip() == ""  # noqa: E731
    t = _read(demo_export, "绩效目标")
    m = _read(demo_export, "绩效监控")
    want = {
        "target_weight_missing": int(blank(t["分值"]).sum()),
        "qualitative_target_missing": int((blank(t["指标值"]) & (t["指标方向"] == "定性")).sum()),
        "target_unit_missing": int((blank(t["计量单位"]) & t["指标方向"].isin(["≥", "≤", "="])).sum()),
        "monitoring_actual_missing": int(blank(m["执行值"]).sum()),
        "deviation_reason_missing": int((blank(m["偏差原因"]) & (m["完成可能性"] != "确定能")).sum()),
        "satisfaction_missing": int(blank(_read(demo_export, "绩效自评")["满意度"]).sum()),
        "selfeval_actual_missing": int(blank(_read(demo_export, "自评指标")["实际完成值"]).sum()),
    }
    want = {k: v for k, v in want.items() if v}
    assert want == {"target_weight_missing": 121, "monitoring_actual_missing": 156,
                    "deviation_reason_missing": 136, "satisfaction_missing": 480,
                    "selfeval_actual_missing": 115}   # the figures the brief states for the demo
    # conftest's session ingest of this very folder (``ingest(demo_export, db)``), not a second one
    con = duckdb.connect(str(demo_ingest["db"]), read_only=True)
    got = dict(con.execute("SELECT kind, count(*) FROM findings GROUP BY kind").fetchall())
    con.close()
    assert got == want and demo_ingest["findings"] == sum(want.values())


# --- the rule set itself -----------------------------------------------------------------------
def test_every_kind_has_a_rule_on_its_table_and_column():
    for g in GAPS:
        kind = FINDING_KINDS[g.kind]
        assert g.table == kind.table and (kind.column is None or kind.column == g.column), g
    assert {g.kind for g in GAPS} | {"optional_column_missing"} == set(FINDING_KINDS)


def test_counted_optional_columns_are_read_by_an_analysis():
    """An optional column counts (its absence is a finding) because an analysis or its
    presentation reads it; 行业领域 is read by none and does not count."""
    sources = "".join(p.read_text(encoding="utf-8") for d in ("analysis", "present")
                      for p in (ROOT / "perflib" / d).rglob("*.py"))
    for table, columns in COUNTED_OPTIONAL.items():
        for c in columns:
            assert f'"{c}"' in sources or f"'{c}'" in sources or f".{c}" in sources, (table, c)
    assert "sector" not in [c for cs in COUNTED_OPTIONAL.values() for c in cs]


def test_score_maximum_comes_from_the_row_where_given(tmp_path):
    """A 15/15/35/35 scheme with its maxima in the data: 决策 18 > 15 is a finding (against the
    row's maximum, not the rules' 20), 产出 33 ≤ 35 is not (though above the rules' 30); a row
    without maxima is judged by the rules. Both readers agree."""
    frames = small_frames()
    ke = frames["key_evaluations"]
    ke = pd.concat([ke.assign(score_decision=18, score_process=14, score_output=33, max_decision=15, max_process=15,
                              max_output=35, max_effect=35)], ignore_index=True)
    frames["key_evaluations"] = ke
    folder = write_export(tmp_path / "maxima", frames)
    py, bk = _both(folder)
    found = [(p.column, p.message) for p in py if p.kind == "key_score_above_maximum"]
    assert found == [("决策得分", "重点评价得分超过该维度满分（满分 15 分，按满分计）")]
    assert [p for p in py if p.kind] == [p for p in bk if p.kind]
    frames["key_evaluations"] = ke.assign(max_decision=None, max_output=None)  # rules: 20 / 30
    py2, _ = _both(write_export(tmp_path / "rules", frames))
    assert sorted(p.column for p in py2 if p.kind == "key_score_above_maximum") == ["产出得分"]
