"""数据质量 (perflib.analysis.quality) on a small hand-made store and on the demo store with planted
findings: counts against an independent pandas computation, the calendar of report years, the
department of a finding, and redaction of classified projects."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from perflib.analysis import quality as q
from perflib.store import CLASSIFIED_NAME, Store

from conftest import FINDINGS_DEPARTMENTS, FINDINGS_PROJECTS, FINDINGS_ROWS, insert_findings

# the hand-made store with findings: conftest.FINDINGS_ROWS (worked out by hand there)
DEPARTMENTS, PROJECTS, ROWS = FINDINGS_DEPARTMENTS, FINDINGS_PROJECTS, FINDINGS_ROWS


@pytest.fixture
def store():
    s = Store.from_frames({"departments": DEPARTMENTS, "projects": PROJECTS})
    insert_findings(s.con, ROWS)
    yield s
    s.close()


def test_findings_of_a_year_follow_the_calendar(store):
    f = q.findings(store, 2023)
    # 2023 targets (4 incl. S1), 2023 monitoring, 2022 self-evaluation, the two year-less ones
    assert len(f) == 8
    assert set(f["message"]) >= {"自评 2022：属 2023 年"}
    assert not {"上年：不属 2023", "自评 2023：属 2024 年"} & set(f["message"])
    assert list(f.columns) == q.LIST_COLUMNS


def test_department_of_a_finding_own_then_its_projects(store):
    f = q.findings(store, 2023).set_index("record_key", drop=False)
    assert f.loc["A2|2023|7|设备数", "dept_code"] == "200"       # from project A2 of 2023
    assert f.loc["A1|2023|群众满意度", "level1_code"] == "100"      # 101 is under 100
    assert f.loc["B1|2022", "level1_name"] == "区科技局"            # a 2022 project's department
    assert f[f["kind"] == "optional_column_missing"]["level1_code"].isna().all()


def test_counts_by_department_and_kind(store):
    f = q.findings(store, 2023)
    by_dept = q.by_department(f).set_index("level1_name")
    assert by_dept.loc["区教体局", "findings"] == 3     # A1 (via 101), dept-level 100, classified S1
    assert by_dept.loc["区科技局", "findings"] == 4     # A2 unit, A2 deviation, B1 satisfaction, sector
    assert by_dept.loc[q.NO_DEPT, "findings"] == 1
    assert by_dept.index[-1] == q.NO_DEPT               # no department: last row
    assert by_dept.loc["区教体局", "qualitative_target_missing"] == 2
    assert by_dept["findings"].sum() == len(f)
    kinds = [c for c in by_dept.columns if c not in ("level1_code", "findings")]
    assert (by_dept[kinds].sum(axis=1) == by_dept["findings"]).all()
    assert kinds[:2] == ["qualitative_target_missing", "target_unit_missing"]  # FINDING_KINDS order
    k = q.by_kind(f).set_index("kind")
    assert k.loc["qualitative_target_missing", "findings"] == 2
    assert k.loc["qualitative_target_missing", "projects"] == 1   # the department-level one has none
    facts = q.quality_facts(f)
    assert facts["quality.findings_total"] == 8
    assert facts["quality.findings_departments"] == 2
    assert facts["quality.findings_projects"] == 4          # A1 2023, A2 2023, B1 2022, S1 2023
    assert facts["quality.findings_by_kind"]["target_unit_missing"] == 1


def test_one_department_keeps_its_own_and_file_wide_findings(store):
    f = q.findings(store, 2023, dept="100")
    assert len(f) == 4   # A1 (101), dept-level 100, S1, the file-wide missing column
    assert set(f["level1_code"].dropna()) == {"100"}


def test_findings_count_per_tables(store):
    assert q.findings_count(store, 2023, ["targets"]) == 4
    assert q.findings_count(store, 2023, ["self_evaluations"]) == 1      # fiscal year 2022's
    assert q.findings_count(store, 2024, ["self_evaluations"]) == 1      # fiscal year 2023's
    assert q.findings_count(store, 2023, ["payments", "departments"]) == 2
    assert q.findings_count(store, 2023, []) == 0
    assert q.findings_count(store, 2023, ["costs"]) == 0
    assert q.findings_count(store, 2023, ["targets"], dept="200") == 1
    assert q.findings_count(store, 2023, q.REPORT_TABLES["overview"]) == 8
    assert q.findings_count(store, 2023, q.REPORT_TABLES["evaluation"]) == 2  # B1 satisfaction, sector


def test_classified_findings_show_the_surrogate_never_the_project(store):
    f = q.findings(store, 2023)
    row = f[f["kind"] == "target_weight_missing"].iloc[0]
    surrogate = store.classified["S1"]
    assert row["project_id"] == surrogate and row["project_name"] == CLASSIFIED_NAME
    text = " ".join(map(str, f.to_numpy().ravel()))
    assert "某专项保障经费" not in text and "S1" not in text.replace(surrogate, "")
    assert surrogate in row["record_key"] and surrogate in row["message"] and row["value"] == surrogate
    raw = Store(con=store.con, redact=False).findings()
    assert "某专项保障经费" in " ".join(raw["message"])   # the stored row itself is not changed


def test_a_store_without_findings_has_none():
    s = Store.from_frames({"departments": DEPARTMENTS, "projects": PROJECTS})
    s.con.execute("DROP TABLE findings")
    assert s.findings().empty and q.findings_count(s, 2023, ["targets"]) == 0
    f = q.findings(s, 2023)
    assert f.empty and q.by_department(f).empty and q.quality_facts(f)["quality.findings_total"] == 0


# --- the demo store with findings planted (conftest.planted_db) ------------------------------------
@pytest.fixture(scope="module")
def planted(planted_db):
    return planted_db


def _expected(db, year: int) -> pd.DataFrame:
    """The findings of report year ``year`` per level-1 department name, computed from the raw
    tables with pandas alone (no perflib code)."""
    con = duckdb.connect(str(db), read_only=True)
    f = con.execute("SELECT * FROM findings").df()
    p = con.execute("SELECT project_id, year, dept_code FROM projects").df()
    d = con.execute("SELECT dept_code, dept_name, parent_code FROM departments").df()
    con.close()
    shifted = f["table_name"].isin(["self_evaluations", "self_eval_indicators"])
    wanted = f["year"].isna() | (f["year"] == year - shifted.astype(int))
    f = f[wanted].copy()
    p = p.rename(columns={"dept_code": "pdept"})
    f = f.merge(p, on=["project_id", "year"], how="left")
    f["dept"] = f["dept_code"].fillna(f["pdept"])
    parent = dict(zip(d["dept_code"], d["parent_code"]))
    names = dict(zip(d["dept_code"], d["dept_name"]))

    def top(code):
        while isinstance(code, str) and isinstance(parent.get(code), str):
            code = parent[code]
        return code

    f["level1"] = f["dept"].map(lambda c: names.get(top(c)) if isinstance(c, str) else q.NO_DEPT)
    return f


def test_demo_counts_equal_an_independent_computation(planted):
    expected = _expected(planted["db"], 2023)
    with Store(planted["db"]) as s:
        found = q.findings(s, 2023)
        table = q.by_department(found)
        facts = q.quality_facts(found)
        assert len(found) == len(expected) > 100
        got = table.set_index("level1_name")["findings"].sort_index()
        want = expected.groupby("level1")["kind"].size().sort_index()
        pd.testing.assert_series_equal(got, want, check_names=False, check_dtype=False)
        for kind in expected["kind"].unique():
            want_k = expected[expected["kind"] == kind].groupby("level1").size().sort_index()
            got_k = table.set_index("level1_name")[kind]
            got_k = got_k[got_k > 0].sort_index()
            pd.testing.assert_series_equal(got_k, want_k, check_names=False, check_dtype=False)
        assert facts["quality.findings_total"] == len(expected)
        assert facts["quality.findings_departments"] == expected.loc[expected["level1"] != q.NO_DEPT, "level1"].nunique()
        assert facts["quality.findings_by_kind"] == expected["kind"].value_counts().to_dict()
        for tables in (["targets"], ["monitoring", "departments"], q.REPORT_TABLES["evaluation"]):
            assert q.findings_count(s, 2023, tables) == int(expected["table_name"].isin(tables).sum())


def test_demo_classified_finding_is_redacted(planted):
    pid, name, dept = planted["classified"]
    with Store(planted["db"]) as s:
        found = q.findings(s, 2023)
        row = found[found["kind"] == "target_weight_missing"].iloc[0]
        assert row["project_id"] == s.classified[pid] and row["project_name"] == CLASSIFIED_NAME
        assert row["dept_code"] == dept  # its department still counts it (from the project)
        shown = " ".join(map(str, found.to_numpy().ravel()))
        assert pid not in shown and name not in shown


def test_findings_count_equals_counting_the_listed_findings(store, demo_db):
    """The count made in DuckDB equals filtering the stored (redacted) findings of the report year's
    data in pandas, for every report's tables, on the hand-made store and on the demo."""
    for s in (store, Store(demo_db)):
        for year in (2022, 2023, 2024):
            raw = s.findings({year, year - 1})
            for tables in [*q.REPORT_TABLES.values(), ["targets"], []]:
                keep = raw["table_name"].isin(list(tables)) & (
                    raw["year"].isna() | (raw["year"] == raw["table_name"].map(lambda t: q.data_year(t, year))))
                assert q.findings_count(s, year, tables) == int(keep.astype(bool).sum()), (year, tables)


def test_redacted_findings_equal_a_substitution_over_every_cell(store):
    """Store.findings runs its substitution only on the cells that contain a classified word; the
    result equals substituting in every cell (codes to surrogates, names to the classified name)."""
    import re

    plain = Store.from_frames({"departments": DEPARTMENTS, "projects": PROJECTS}, redact=False)
    insert_findings(plain.con, ROWS)
    raw = plain.findings()
    classified = PROJECTS[PROJECTS["is_classified"]]
    swap = {**{n: CLASSIFIED_NAME for n in classified["project_name"]}, **store.classified}
    words = sorted(swap, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, words)))
    want = raw.copy()
    for c in ("record_key", "value", "message"):
        want[c] = want[c].map(lambda v: pattern.sub(lambda m: swap[m.group(0)], v) if isinstance(v, str) else v)
    hit = want["project_id"].isin(list(store.classified))
    want.loc[hit, "project_id"] = want.loc[hit, "project_id"].map(store.classified)
    got = store.findings()
    assert (got["message"].astype(str).str.contains("S1")).sum() == 0 and hit.any()
    pd.testing.assert_frame_equal(got, want)
    plain.close()
