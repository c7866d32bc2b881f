"""Province scale (``perflib demo --scale province``) at a small size: the same shape as the district
demo tiled over districts, payments split into files, consistent money, an export that ingests
cleanly. Expected figures are computed here with plain SQL/pandas on the written CSV files and on
the district demo, independently of the generator's code.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from perflib import demo
from perflib.cli import main
from perflib.demo import build_demo, write_demo
from perflib.exceptions import ParameterError
from perflib.ingest import ingest

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)


DISTRICTS = 3
FILE_ROWS = 120_000


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> tuple[Path, Path]:
    """A three-district province export (payments split every 120,000 rows) and its ingested store."""
    root = tmp_path_factory.mktemp("province")
    src = write_demo(root / "export", seed=0, scale="province", districts=DISTRICTS, file_rows=FILE_ROWS)
    db = root / "perf.duckdb"
    ingest(src, db)
    return src, db


@pytest.fixture(scope="module")
def con(province):
    c = duckdb.connect(str(province[1]), read_only=True)
    yield c
    c.close()


def _csv(path: Path, encoding: str = "utf-8-sig") -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)


def test_files_and_format(province):
    src, _ = province
    names = sorted(p.name for p in src.iterdir())
    pay = [n for n in names if n.startswith("支出明细")]
    assert pay == [f"支出明细-{i:03d}.csv" for i in range(1, len(pay) + 1)] and len(pay) >= 2
    for n in pay:                                           # whole districts, at most FILE_ROWS rows
        df = _csv(src / n)
        assert 0 < len(df) <= FILE_ROWS
        assert df["项目编码"].str.slice(0, 6).is_monotonic_increasing
    assert {"部门.xlsx", "重点评价.xlsx", "项目.csv", "绩效目标.csv", "绩效监控.csv", "绩效自评.csv",
            "自评指标.csv", "成本构成.csv", "产出数量.csv", "街道财政.csv"} <= set(names)
    raw = (src / "绩效目标.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").startswith("项目编码,") and b"\r\n" in raw        # GBK, CRLF
    assert (src / "绩效监控.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    proj = _csv(src / "项目.csv")
    assert "年初预算数（万元）" in proj.columns and proj.iloc[-1, 0] == "合计"
    body = proj.iloc[:-1]
    wan = sum(Decimal(v) for v in body["年初预算数（万元）"])
    adj = sum((Decimal(v) for v in body["调整后预算数"] if v), Decimal(0))
    assert Decimal(proj.iloc[-1]["年初预算数（万元）"]) == wan
    assert Decimal(proj.iloc[-1]["调整后预算数"]) == adj


def test_shape_is_the_district_demo_tiled(province, con):
    """Each district has the structure of a district demo: the same counts per year of projects and
    payment rows as the district generation it was drawn from, its own codes and names."""
    src, _ = province
    base = build_demo(0)
    per_year = base.projects.groupby("year").size().to_dict()
    codes = [r[0] for r in con.execute(
        "SELECT DISTINCT substr(project_id, 1, 6) FROM projects ORDER BY 1").fetchall()]
    assert len(codes) == DISTRICTS and all(c.startswith("37") for c in codes)
    got = con.execute("SELECT year, count(*) FROM projects WHERE project_id LIKE ? || '-%' "
                      "GROUP BY year ORDER BY year", [codes[0]]).fetchall()
    assert dict(got) == per_year                           # district 0 is drawn from seed 0
    n_pay = (base.payments["amount_fen"] > 0).sum()
    assert con.execute("SELECT count(*) FROM payments WHERE project_id LIKE ? || '-%'",
                       [codes[0]]).fetchone()[0] == n_pay
    assert con.execute("SELECT count(*) FROM departments").fetchone()[0] == DISTRICTS * len(base.departments)
    level1 = base.departments["parent_code"].isna().sum()
    assert con.execute("SELECT count(*) FROM departments WHERE parent_code IS NULL").fetchone()[0] == \
        DISTRICTS * level1
    names = [r[0] for r in con.execute("SELECT dept_name FROM departments WHERE dept_code = ? || '101'",
                                       [codes[0]]).fetchall()]
    assert len(names) == 1 and names[0].endswith("委办公室") and names[0][:2] != "区委"
    assert con.execute("SELECT count(*) FROM (SELECT project_id, year FROM projects GROUP BY ALL "
                       "HAVING count(*) > 1)").fetchone()[0] == 0


def test_money_is_consistent(con):
    """全年执行数 equals the project's payments; cuts are never negative; budgets in 100 元 steps;
    monitoring covers the key projects of every district."""
    assert con.execute("""
        SELECT count(*) FROM self_evaluations s LEFT JOIN (
          SELECT project_id, year, sum(amount) AS paid FROM payments GROUP BY ALL) x
        USING (project_id, year) WHERE s.spent_amount <> coalesce(x.paid, 0)""").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM key_evaluations WHERE next_approved > next_request").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM projects WHERE budget_amount % 100 <> 0").fetchone()[0] == 0
    assert con.execute("SELECT count(DISTINCT project_id) FROM monitoring WHERE year = 2023 "
                       "AND key_monitored").fetchone()[0] == 3 * DISTRICTS
    # districts differ in size: the scale factors make 2023 budgets differ between districts
    sums = [r[0] for r in con.execute("SELECT sum(budget_amount) FROM projects WHERE year = 2023 "
                                      "GROUP BY substr(project_id, 1, 6)").fetchall()]
    assert len(set(sums)) == DISTRICTS


def test_deterministic(province, tmp_path):
    again = write_demo(tmp_path / "again", seed=0, scale="province", districts=DISTRICTS, file_rows=FILE_ROWS)
    for name in ("支出明细-001.csv", "项目.csv", "绩效目标.csv"):
        a = hashlib.sha256((province[0] / name).read_bytes()).hexdigest()
        b = hashlib.sha256((again / name).read_bytes()).hexdigest()
        assert a == b, name


def test_cli_province_and_bad_sizes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "PROVINCE_DISTRICTS", 1)
    assert main(["demo", str(tmp_path / "p"), "--scale", "province"]) == 0
    assert (tmp_path / "p" / "支出明细-001.csv").is_file()
    assert len(_csv(tmp_path / "p" / "街道财政.csv")) == len(build_demo(0).street_fiscal)
    with pytest.raises(ParameterError):
        write_demo(tmp_path / "x", scale="province", districts=0)
    with pytest.raises(ParameterError):
        write_demo(tmp_path / "y", scale="country")


def test_charts_bounded_at_province_scale():
    """Per-department / per-project charts draw at most MAX_BARS bars (the lowest coverage, the
    largest savings), so a province-wide report stays readable and renders in seconds."""
    import matplotlib.pyplot as plt

    from perflib.present.charts import base as plots, cost as cost_charts, coverage as cov_charts, monitoring as mon_charts

    n = plots.MAX_BARS * 3
    by_dept = pd.DataFrame({"level1_code": [f"{i:05d}" for i in range(n)],
                            "level1_name": [f"部门{i:05d}" for i in range(n)],
                            "eligible": [10] * n, "coverage_count": [(i % 97) / 96 for i in range(n)]})
    fig = cov_charts.plot_coverage_by_department(by_dept)
    bars = fig.axes[0].patches
    assert len(bars) == plots.MAX_BARS
    shown = sorted(b.get_width() for b in bars)
    assert shown == sorted(by_dept["coverage_count"])[: plots.MAX_BARS]     # the lowest ones
    plt.close(fig)
    table = pd.DataFrame({"project_name": [f"项目{i}" for i in range(n)], "saving": [float(i) for i in range(n)],
                          "actual_cut": [None] * n})
    fig = cost_charts.plot_savings_vs_cut(table)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    k = plots.MAX_PROJECT_BARS
    assert len(labels) == k and set(labels) == {f"项目{i}" for i in range(n - k, n)}
    plt.close(fig)
    small = by_dept.head(plots.MAX_BARS - 1)
    fig = cov_charts.plot_coverage_by_department(small)
    assert len(fig.axes[0].patches) == len(small)                          # district size: all shown
    plt.close(fig)


@pytest.mark.parametrize("position", [0, 7, 900, 1795, None])
def test_fiscal_ranking_draws_the_streets_around_the_chosen_one(position):
    """A province has 1,800 evaluated streets: the ranking draws the MAX_BARS around the street the
    report is for (its neighbours in the ranking; the best ones when no street is chosen), the
    median of all of them, and a title saying which ranks are drawn."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from perflib.present.charts import base as plots, fiscal as fiscal_charts

    n = 1800
    ranking = pd.DataFrame({"dept_code": [f"S{i:04d}" for i in range(n)],
                            "dept_name": [f"街道{i:04d}" for i in range(n)],
                            "index": [100 - i * 0.05 for i in range(n)], "rank": range(1, n + 1)})
    chosen = None if position is None else f"街道{position:04d}"
    fig = fiscal_charts.plot_fiscal_ranking(ranking, chosen)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()][::-1]            # best first
    k = plots.MAX_BARS
    assert len(ax.patches) == k
    first = names[0]
    start = int(first[2:])
    assert names == [f"街道{i:04d}" for i in range(start, start + k)]      # consecutive ranks
    if chosen is None:
        assert start == 0
    else:
        assert chosen in names and min(position, k // 2 - 1) <= names.index(chosen) <= position
        red = to_rgba(fiscal_charts.FISCAL_HIGHLIGHT)
        highlighted = [b.get_width() for b in ax.patches if b.get_facecolor() == red]
        assert highlighted == [pytest.approx(ranking["index"].iloc[position])]
    assert ax.get_title() == f"街道财政运行综合绩效指数排名（共 1,800 个街道，图示指数第 {start + 1:,}–{start + k:,} 位）"
    median = [line for line in ax.get_lines() if line.get_linestyle() == "--"][0]
    assert median.get_xdata()[0] == pytest.approx(ranking["index"].median())    # of all 1,800
    plt.close(fig)
    small = ranking.head(12)
    fig = fiscal_charts.plot_fiscal_ranking(small, "街道0003")
    assert len(fig.axes[0].patches) == 12 and fig.axes[0].get_title() == "街道财政运行综合绩效指数排名"
    plt.close(fig)


def test_legends_over_many_points_go_in_a_corner_not_best():
    """loc="best" tests every corner against every point (~1 s per drawing at province scale)."""
    import matplotlib.pyplot as plt

    from perflib.present.charts import base as plots, cost as cost_charts, coverage as cov_charts, monitoring as mon_charts
    from perflib.rules import load_rules

    def scatter(n):
        ex = pd.DataFrame({"budget": [1e4 * (i + 1) for i in range(n)], "execution_rate": [0.5] * n,
                           "band": ["绿色", "黄色", "红色"] * (n // 3), "time_progress": [7 / 12] * n})
        fig = mon_charts.plot_execution_scatter(ex, load_rules())
        loc = fig.axes[0].get_legend()._loc
        plt.close(fig)
        return loc

    assert scatter(30) == 0                                        # 0 is matplotlib's code for "best"
    assert scatter(3 * (plots.BEST_LEGEND_MAX_POINTS // 3 + 1)) != 0
    assert plots.legend_loc(plots.BEST_LEGEND_MAX_POINTS, "upper left") == "best"
    assert plots.legend_loc(plots.BEST_LEGEND_MAX_POINTS + 1, "upper left") == "upper left"
