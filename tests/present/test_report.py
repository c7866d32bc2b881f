"""The notebook-side report API: classified rows collapsed, escaping, artifacts for the runner."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflib.present import notebook as rp
from perflib.present.notebook import collapse_classified, open_report, to_jsonable
from perflib.store import CLASSIFIED_PREFIX, CLASSIFIED_TOTAL_LABEL, Store


@pytest.fixture
def shown(monkeypatch):
    """Capture what the report displays (mime bundles) instead of sending them to IPython."""
    out: list[dict] = []
    monkeypatch.setattr(rp, "_display_html", lambda html, plain: out.append({"html": html, "plain": plain}))
    return out


def small_store(extra_name: str = "运动场地建设资金") -> Store:
    deps = pd.DataFrame({"dept_code": ["101", "102"], "dept_name": ["区教体局", "区科技局"],
                         "parent_code": [None, None], "sector": ["教育", "科技"], "is_street": [False, False]})
    proj = pd.DataFrame({
        "project_id": ["P1", "P2", "S1", "P1"], "year": [2023, 2023, 2023, 2022],
        "dept_code": ["101", "102", "102", "101"],
        "project_name": [extra_name, "人才工程", "秘密工程", extra_name],
        "project_type": [None] * 4, "budget_kind": ["一般公共预算"] * 4, "fund_source": ["本级"] * 4,
        "budget_amount": [100.0, 200.0, 300.0, 50.0], "adjusted_amount": [None, 250.0, None, None],
        "is_classified": [False, False, True, False], "is_special": [False] * 4})
    return Store.from_frames({"departments": deps, "projects": proj})


def test_collapse_classified_sums_money_and_blanks_text():
    df = pd.DataFrame({
        "project_id": ["P1", f"{CLASSIFIED_PREFIX}01", f"{CLASSIFIED_PREFIX}02"],
        "project_name": ["甲", "涉密项目", "涉密项目"],
        "dept_name": ["区教体局", "区科技局", "区财政局"],
        "budget": [100.0, 30.0, 12.5],
        "execution_rate": [0.5, 0.2, 0.9],
    })
    out = collapse_classified(df)
    assert list(out["project_name"]) == ["甲", CLASSIFIED_TOTAL_LABEL]
    total = out.iloc[1]
    assert total["budget"] == 42.5  # 30 + 12.5
    assert pd.isna(total["execution_rate"])  # a rate is not summed
    assert out["execution_rate"].dtype == "float64"
    assert pd.isna(total["dept_name"]) and pd.isna(total["project_id"])


def test_collapse_classified_keeps_frames_without_classified_rows():
    df = pd.DataFrame({"project_id": ["P1"], "budget": [1.0]})
    assert collapse_classified(df) is df


def test_collapse_classified_chinese_headers_and_explicit_money():
    df = pd.DataFrame({"项目编码": ["P1", f"{CLASSIFIED_PREFIX}01"], "项目名称": ["甲", "涉密项目"],
                       "得分": [90.0, 80.0], "数量": [3, 4]})
    out = collapse_classified(df, money=["数量"])
    assert out.iloc[1]["项目名称"] == CLASSIFIED_TOTAL_LABEL and out.iloc[1]["数量"] == 4
    assert pd.isna(out.iloc[1]["得分"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=10**9)), min_size=1, max_size=30))
def test_collapse_preserves_totals_and_hides_every_surrogate(rows):
    ids = [f"{CLASSIFIED_PREFIX}{i:02d}" if secret else f"P{i}" for i, (secret, _) in enumerate(rows)]
    df = pd.DataFrame({"project_id": ids, "project_name": ["x"] * len(rows),
                       "budget_amount": [float(v) for _, v in rows]})
    out = collapse_classified(df)
    assert out["budget_amount"].sum() == pytest.approx(df["budget_amount"].sum())
    assert not out["project_id"].astype("string").str.startswith(CLASSIFIED_PREFIX).fillna(False).any()
    n_secret = sum(s for s, _ in rows)
    assert len(out) == len(rows) - n_secret + (1 if n_secret else 0)


def test_to_jsonable_plain_values():
    v = to_jsonable({"a": np.int64(3), "b": np.float64("nan"), "c": {"优": np.int32(2)},
                     "d": pd.Timestamp("2023-07-31"), "e": [np.float32(0.5)], "f": np.bool_(True)})
    assert v == {"a": 3, "b": None, "c": {"优": 2}, "d": "2023-07-31T00:00:00", "e": [0.5], "f": True}
    json.dumps(v)


def test_open_report_resolves_latest_year_and_loads_rules(tmp_path, shown):
    rep = open_report("x", store=small_store(), artifacts_dir=tmp_path / "a", dept="101")
    assert rep.year == 2023 and rep.params == {"dept": "101"}
    assert rep.rules.value("grades.excellent") == 90
    rep2 = open_report("x", store=small_store(), year=2022)
    assert rep2.year == 2022 and rep2.artifacts_dir is None


def test_table_collapses_escapes_and_records(tmp_path, shown):
    store = small_store("<script>alert(1)</script>")
    rep = open_report("x", store=store, artifacts_dir=tmp_path)
    df = store.projects(2023)[["project_id", "project_name", "budget"]]
    assert rep.table(df, "项目<表>", sheet="项目") is None  # nothing for a notebook cell to echo
    out = rep.prepare_table(df)
    assert list(out.columns) == ["项目编码", "项目名称", "预算数"]
    assert CLASSIFIED_TOTAL_LABEL in list(out["项目名称"])
    html = shown[-1]["html"]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "项目&lt;表&gt;" in html
    assert "秘密工程" not in html and "S1" not in html
    meta = json.loads((tmp_path / "tables.json").read_text("utf-8"))
    assert meta == [{"file": "table_001.pkl", "title": "项目<表>", "sheet": "项目", "rows": 3}]
    with open(tmp_path / "tables" / "table_001.pkl", "rb") as fh:
        saved = pickle.load(fh)
    assert saved.equals(out)
    # P1 100 + P2 adjusted 250; the classified S1 (300) only on the total line
    assert saved["预算数"].tolist() == [100.0, 250.0, 300.0]


def test_table_numbers_sort_by_raw_value(tmp_path, shown):
    rep = open_report("x", store=small_store())
    rep.table(pd.DataFrame({"金额": [1234567.891, 0.5]}), "t")
    html = shown[-1]["html"]
    assert 'data-v="1234567.891">1,234,567.89<' in html and 'data-type="num"' in html
    assert 'data-v="0.5">0.50<' in html  # one column, one format: both with 2 decimals


def test_table_limits_rows_shown_but_keeps_all(tmp_path, shown):
    rep = open_report("x", store=small_store(), artifacts_dir=tmp_path)
    rep.table(pd.DataFrame({"n": range(50)}), "t", max_rows=10)
    assert json.loads((tmp_path / "tables.json").read_text("utf-8"))[0]["rows"] == 50
    assert shown[-1]["html"].count("<tr>") == 11  # header + 10
    assert "共 50 行" in shown[-1]["html"]


def test_facts_accumulate_in_artifacts(tmp_path, shown):
    rep = open_report("x", store=small_store(), artifacts_dir=tmp_path)
    rep.facts({"a.b": np.int64(5)})
    rep.fact("c", 0.25)
    assert json.loads((tmp_path / "facts.json").read_text("utf-8")) == {"a.b": 5, "c": 0.25}
    assert rep.recorded_facts == {"a.b": 5, "c": 0.25}


def test_without_artifacts_dir_nothing_is_written(tmp_path, shown, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rep = open_report("x", store=small_store())
    rep.facts({"a": 1})
    rep.table(pd.DataFrame({"a": [1]}), "t")
    assert list(tmp_path.iterdir()) == []
    assert len(shown) == 1


def test_text_escapes_html_but_keeps_markdown(shown):
    rep = open_report("x", store=small_store())
    rep.text("共 **511** 个 <img src=x onerror=alert(1)>")
    html = shown[-1]["html"]
    assert "<strong>511</strong>" in html and "<img" not in html and "&lt;img" in html


def test_heading_level_1_is_the_title(tmp_path, shown):
    rep = open_report("x", store=small_store(), artifacts_dir=tmp_path)
    rep.heading("历城区 <2023> 年", 1)
    assert json.loads((tmp_path / "meta.json").read_text("utf-8"))["title"] == "历城区 <2023> 年"
    assert shown[-1]["html"].startswith("<h1 ") and "&lt;2023&gt;" in shown[-1]["html"]


def test_figure_is_embedded_as_data_uri(shown):
    import matplotlib.pyplot as plt

    rep = open_report("x", store=small_store())
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    rep.figure(fig, "执行率")
    html = shown[-1]["html"]
    assert 'src="data:image/png;base64,' in html and "<figcaption>执行率</figcaption>" in html
    assert not plt.fignum_exists(fig.number)  # closed: not shown twice by the inline backend


@pytest.mark.parametrize("legend", [False, True])
def test_a_laid_out_figure_is_drawn_once_and_its_png_is_what_savefig_gives(shown, monkeypatch, legend):
    """tight_layout leaves a do-nothing layout engine, for which savefig would draw the figure once
    more before printing it; the report drops it: one drawing (two with a figure legend, whose tight
    box needs one), and the same PNG bytes as a plain savefig of the figure."""
    import base64
    import io

    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from perflib.present.charts import base

    def chart():
        fig, ax = base.new_figure("执行率与时间进度")
        ax.bar(["区教体局", "区科技局"], [0.41, 0.73], label="执行率")
        if legend:
            fig.legend(loc="lower center")
        fig.tight_layout()
        return fig

    expected = io.BytesIO()
    fig = chart()
    fig.savefig(expected, format="png", dpi=110, bbox_inches="tight" if legend else None)
    plt.close(fig)
    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (draws.append(1), original(self, renderer))[1])
    open_report("x", store=small_store()).figure(chart(), "执行率")
    assert len(draws) == (2 if legend else 1)
    src = shown[-1]["html"].split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(src) == expected.getvalue()


def test_section_shows_text_facts_and_tables(tmp_path, shown):
    from perflib.present.text.overview import Section, SectionTable

    rep = open_report("x", store=small_store(), artifacts_dir=tmp_path)
    rep.section(Section("2", "二", "正文", {"k": 1}, [SectionTable("表", pd.DataFrame({"a": [1]}), "s")]))
    assert rep.recorded_facts == {"k": 1}
    assert len(shown) == 2 and "正文" in shown[0]["html"]


def test_rate_columns_show_as_percentages(shown):
    rep = open_report("x", store=small_store())
    rep.table(pd.DataFrame({"执行率": [0.3147], "预算数": [0.5]}), "t")
    html = shown[-1]["html"]
    assert 'data-v="0.3147">31.47%<' in html and ">0.50<" in html


def test_find_db_from_another_working_directory(tmp_path, monkeypatch):
    from perflib.present.notebook import find_db

    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "perf.duckdb"
    db.write_bytes(b"")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)  # papermill run from the repository root
    assert find_db("../data/perf.duckdb") == tmp_path / "data" / "perf.duckdb"
    monkeypatch.chdir(tmp_path / "notebooks")  # JupyterLab in notebooks/
    assert find_db("../data/perf.duckdb").resolve() == db.resolve()
    monkeypatch.setenv("PERFLIB_DB", str(db))
    assert find_db(None) == db
    assert find_db(tmp_path / "none.duckdb") == tmp_path / "none.duckdb"  # absolute: as given


def test_columns_already_in_percent_are_not_scaled_again(shown):
    rep = open_report("x", store=small_store())
    rep.table(pd.DataFrame({"预算执行率（%）": [4.51], "执行进度差（百分点）": [-5.0]}), "t")
    html = shown[-1]["html"]
    assert ">4.51<" in html and "451" not in html and ">-5.00<" in html


def _capped_report(tmp_path, shown):
    import yaml

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"report": {"xlsx_max_rows": 100}}, allow_unicode=True), "utf-8")
    adir = tmp_path / "art"
    rep = open_report("x", store=small_store(), artifacts_dir=adir, rules=rules_file)
    rep.table(pd.DataFrame({"序号": range(1000), "金额": np.arange(1000) * 1.5}), "大表", sheet="大表")
    return adir


def test_table_keeps_at_most_xlsx_max_rows_and_records_the_total(tmp_path, shown):
    adir = _capped_report(tmp_path, shown)
    meta = json.loads((adir / "tables.json").read_text("utf-8"))
    assert meta[0]["rows"] == 1000
    with open(adir / "tables" / meta[0]["file"], "rb") as fh:
        saved = pickle.load(fh)
    assert len(saved) == 100 and saved["序号"].tolist() == list(range(100))
    html = shown[-1]["html"]
    assert html.count("<tr>") == 301  # the page: header + report.html_max_rows (300)
    assert "页面仅显示前 300 行" in html and "xlsx 文件含前 100 行" in html and "共 1,000 行" in html


def test_runner_xlsx_states_the_cut_on_the_about_sheet(tmp_path, shown):
    import io

    import openpyxl

    from perflib.present.html import xlsx_bytes
    from perflib.run.execute import read_artifacts as _read_artifacts

    adir = _capped_report(tmp_path, shown)
    _facts, tables, _meta = _read_artifacts(adir)
    assert [(t[0], len(t[2]), t[3]) for t in tables] == [("大表", 100, 1000)]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(tables, {"报告": "探针"})))
    assert wb["大表"].max_row == 101
    about = [r for r in wb["说明"].iter_rows(values_only=True)]
    cut = [r[1] for r in about if r[0] == "截断说明"]
    assert cut and "100" in cut[0] and "1,000" in cut[0]
    assert ("大表", "大表", 100, 1000, "仅含前 100 行") in about


def test_tables_json_without_rows_counts_the_frame(tmp_path, shown):
    from perflib.run.execute import read_artifacts as _read_artifacts

    rep = open_report("x", store=small_store(), artifacts_dir=tmp_path)
    rep.table(pd.DataFrame({"n": range(7)}), "t")
    meta = json.loads((tmp_path / "tables.json").read_text("utf-8"))
    for m in meta:
        m.pop("rows")  # as written before report.xlsx_max_rows existed
    (tmp_path / "tables.json").write_text(json.dumps(meta), "utf-8")
    assert [t[3] for t in _read_artifacts(tmp_path)[1]] == [7]


def test_report_row_limits_must_fit_excel(tmp_path):
    from perflib.exceptions import RulesError
    from perflib.rules import load_rules

    bad = tmp_path / "r.yaml"
    for value in (0, 2.5, 1_048_576):
        bad.write_text(f"report: {{xlsx_max_rows: {value}}}", "utf-8")
        with pytest.raises(RulesError, match="xlsx_max_rows"):
            load_rules(bad)
    bad.write_text("report: {xlsx_max_rows: 1048575, html_max_rows: 20}", "utf-8")
    assert load_rules(bad).value("report.xlsx_max_rows") == 1_048_575


def test_a_cut_table_keeps_its_classified_total_line(tmp_path, shown):
    """Cutting a long list for the page or the xlsx must not drop the 涉密项目（合计） line."""
    import yaml

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"report": {"xlsx_max_rows": 50, "html_max_rows": 20}}), "utf-8")
    adir = tmp_path / "art"
    rep = open_report("x", store=small_store(), artifacts_dir=adir, rules=rules_file)
    ids = [f"P{i:03d}" for i in range(120)] + [f"{CLASSIFIED_PREFIX}01", f"{CLASSIFIED_PREFIX}02"]
    amounts = [1.0] * 120 + [7.0, 8.0]
    rep.table(pd.DataFrame({"project_id": ids, "project_name": ["项目"] * 122, "budget": amounts}), "清单")
    html = shown[-1]["html"]
    assert html.count("<tr>") == 21 and CLASSIFIED_TOTAL_LABEL in html  # 19 projects + the total
    assert "P018" in html and "P019" not in html and "保留在末行" in html
    meta = json.loads((adir / "tables.json").read_text("utf-8"))
    with open(adir / "tables" / meta[0]["file"], "rb") as fh:
        saved = pickle.load(fh)
    assert meta[0]["rows"] == 121 and len(saved) == 50
    last = saved.iloc[-1]
    assert CLASSIFIED_TOTAL_LABEL in last.astype(str).tolist() and 15.0 in last.tolist()
    assert saved.iloc[-2].astype(str).tolist()[0] == "P048"
    # a table whose last row is an ordinary one is cut at n
    assert rp.head_keeping_total(pd.DataFrame({"项目名称": list("abc")}), 2)["项目名称"].tolist() == ["a", "b"]


def test_one_column_one_format(shown):
    """Decided per column from its kind, never per value (稳健 z 值 3.40 / 0.9232 / 0.01483 and
    money 11,369,725 beside 11,369,725.00 were shown before)."""
    rep = open_report("x", store=small_store())
    rep.table(pd.DataFrame({"year": [2023, 2022], "robust_z": [3.4, 0.01483],
                            "total_cost": [11369725.0, 0.5], "projects": [3, None]}),
              "t", ["year", ("robust_z", "稳健 z 值", rp.tables.Z), ("total_cost", "总成本（元）", rp.tables.MONEY),
                    "projects"])
    html = shown[-1]["html"]
    assert ">2023<" in html and "2,023" not in html
    assert ">3.40<" in html and ">0.01<" in html
    assert ">11,369,725.00<" in html and ">0.50<" in html
    assert ">3<" in html and f">{rp.tables.MISSING}<" in html


def test_views_choose_order_label_and_scale(shown):
    from perflib.present.labels import MISSING

    df = pd.DataFrame({"budget_kind": ["一般公共预算"], "projects": [2], "with_targets": [1],
                       "amount": [123456.0], "eligible": [2], "eligible_with_targets": [1],
                       "coverage_count": [0.5], "eligible_amount": [None], "coverage_amount": [0.25],
                       "ignored": ["x"]})
    out = rp.Report.prepare_table(df, "coverage.by_budget_kind")
    assert list(out.columns) == ["预算类型", "项目数", "编制绩效目标项目数", "绩效目标涉及资金（万元）",
                                 "纳入范围项目数", "纳入范围且已编制", "覆盖率（按项目数）（%）",
                                 "纳入范围资金（万元）", "覆盖率（按金额）（%）"]
    assert out.iloc[0]["绩效目标涉及资金（万元）"] == 12.35 and out.iloc[0]["覆盖率（按项目数）（%）"] == 50.0
    rep = open_report("x", store=small_store())
    rep.table(df, "t", "coverage.by_budget_kind")
    html = shown[-1]["html"]
    assert ">12.35<" in html and ">50.00<" in html and f">{MISSING}<" in html and "ignored" not in html
    with pytest.raises(KeyError, match="no table view"):
        rep.table(df, "t", "no.such.view")


def test_xlsx_cells_carry_their_columns_number_format(tmp_path, shown):
    import io

    import openpyxl

    from perflib.present.html import xlsx_bytes

    out = rp.Report.prepare_table(pd.DataFrame({
        "year": [2023], "budget": [1234.5], "execution_rate": [0.5], "projects": [7], "project_name": ["甲"]}))
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([("t", "表", out)])))
    row = [c for c in book["表"][2]]
    assert [c.number_format for c in row[:4]] == ["0", "#,##0.00", "0.00%", "#,##0"]
    assert [c.value for c in row] == [2023, 1234.5, 0.5, 7, "甲"]


def test_views_name_the_columns_analysis_returns():
    """Column names a view shows that analysis spells as data (quality problems, warning bands)."""
    from perflib.analysis import coverage, monitoring
    from perflib.present.labels import QUALITY_PROBLEMS, VIEWS

    assert QUALITY_PROBLEMS == (coverage.QUALITY_NO_OUTPUT, coverage.QUALITY_NO_EFFECT,
                                coverage.QUALITY_NO_QUANT, coverage.QUALITY_REPEATED,
                                coverage.QUALITY_UNMEASURABLE) == coverage.QUALITY_LABELS
    assert set(monitoring.BANDS) <= {c.name for c in VIEWS["monitoring.by_department"].columns}
