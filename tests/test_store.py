"""The query layer: typed tables, budget and department joins, and redaction of classified projects."""
from __future__ import annotations

import pandas as pd
import pytest

from perflib.exceptions import StoreError
from perflib.store import CLASSIFIED_NAME, CLASSIFIED_PREFIX, Store, table_ddl


def _frames():
    departments = pd.DataFrame({
        "dept_code": ["100", "101", "200", "300"],
        "dept_name": ["区教体局", "区实验小学", "区科技局", "东风街道办事处"],
        "parent_code": [None, "100", None, None],
        "sector": ["教育", "教育", "科技", None],
        "is_street": [False, False, False, True],
    })
    projects = pd.DataFrame({
        "project_id": ["P1", "P2", "S1", "P1"],
        "year": [2023, 2023, 2023, 2022],
        "dept_code": ["101", "200", "200", "101"],
        "project_name": ["运动场地建设资金", "人才工程项目", "某专项保障经费", "运动场地建设资金"],
        "project_type": [None, None, None, None],
        "budget_kind": ["一般公共预算"] * 4,
        "fund_source": ["本级"] * 4,
        "budget_amount": [100.25, 200.0, 50.0, 90.0],
        "adjusted_amount": [None, 250.5, None, None],
        "is_classified": [False, False, True, False],
        "is_special": [False, False, False, False],
    })
    payments = pd.DataFrame({
        "project_id": ["P1", "S1", "S1"],
        "year": [2023, 2023, 2023],
        "pay_date": pd.to_datetime(["2023-01-05", "2023-03-01", "2023-07-31"]),
        "amount": [10.0, 5.0, 6.5],
    })
    return {"departments": departments, "projects": projects, "payments": payments}


@pytest.fixture
def store():
    s = Store.from_frames(_frames())
    yield s
    s.close()


def test_projects_budget_is_adjusted_or_initial(store):
    p = store.projects(2023).set_index("project_name")
    assert p.loc["运动场地建设资金", "budget"] == 100.25
    assert p.loc["人才工程项目", "budget"] == 250.5
    assert len(store.projects()) == 4
    assert len(store.projects([2022])) == 1


def test_departments_know_their_level1(store):
    d = store.departments().set_index("dept_code")
    assert d.loc["101", "level1_code"] == "100"
    assert d.loc["101", "level1_name"] == "区教体局"
    assert bool(d.loc["100", "is_level1"]) and not bool(d.loc["101", "is_level1"])
    p = store.projects(2023).set_index("project_id")
    assert p.loc["P1", "level1_name"] == "区教体局"


def test_classified_projects_are_redacted_in_every_table(store):
    p = store.projects(2023)
    assert "某专项保障经费" not in set(p["project_name"])
    assert "S1" not in set(p["project_id"])
    surrogate = p.loc[p["project_name"] == CLASSIFIED_NAME, "project_id"].item()
    assert surrogate.startswith(CLASSIFIED_PREFIX)
    pay = store.table("payments", 2023)
    assert "S1" not in set(pay["project_id"])
    # joins still work: the surrogate is the same in both tables, and money still reconciles
    assert pay.loc[pay["project_id"] == surrogate, "amount"].sum() == 11.5
    assert pay["amount"].sum() == 21.5


def test_unredacted_store_and_classified_names():
    s = Store.from_frames(_frames(), redact=False)
    assert "S1" in set(s.table("projects")["project_id"])
    assert s.classified_names() == {"S1", "某专项保障经费"}


def test_types_and_helpers(store):
    pay = store.table("payments")
    assert str(pay["pay_date"].dtype).startswith("datetime64")
    assert pay["amount"].dtype == "float64"
    assert store.years() == [2022, 2023]
    assert store.latest_year() == 2023
    assert store.last_payment_month(2023) == 7
    assert store.last_payment_month(2022) is None


def test_money_is_decimal_in_the_database():
    assert "amount DECIMAL(18,2)" in table_ddl("payments")


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="perflib ingest"):
        Store(tmp_path / "none.duckdb")


def test_a_file_that_is_not_a_store(tmp_path):
    import duckdb

    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(StoreError, match="不是 perflib 数据库"):
        Store(path)


# --- reading through Arrow, and the per-store cache of a file store ---------------------------
_ARROW_QUERIES = [
    "SELECT * FROM {t}",
    "SELECT NULL::INTEGER a, 1::HUGEINT b, NULL::BOOLEAN c, sum(1) s, CAST(1.5 AS DECIMAL(18,2)) d, "
    "DATE '2023-01-01' dt, TIMESTAMP '2023-01-01 10:00' ts",
    "SELECT * FROM (VALUES (1, NULL::INTEGER, NULL::DATE, NULL::DECIMAL(18,2), true), "
    "(2, 3, DATE '2023-01-02', 1.25, NULL)) t(a, b, c, d, e)",
    "SELECT count(*) n, max(pay_date) m, sum(amount) total FROM payments",
]


@pytest.mark.parametrize("query", _ARROW_QUERIES)
def test_arrow_frames_have_the_dtypes_and_values_of_duckdb_df(store, query):
    """Store.sql reads through Arrow for speed; what it returns must equal DuckDB's own .df()."""
    from perflib.store import arrow_frame

    tables = ["departments", "projects", "payments"] if "{t}" in query else [None]
    for t in tables:
        q = query.format(t=t)
        expected = store.con.execute(q).df()
        got = arrow_frame(store.con.execute(q))
        pd.testing.assert_frame_equal(store.sql(q), got)  # Store.sql: a relation, straight to Arrow
        # one documented difference: a text column holding only NULLs is ``str`` (NaN), not object (None)
        all_null_text = {c for c in expected.columns if expected[c].dtype == object and expected[c].isna().all()}
        assert {c: str(got[c].dtype) for c in expected.columns if c not in all_null_text} == \
            {c: str(expected[c].dtype) for c in expected.columns if c not in all_null_text}, q
        assert all(str(got[c].dtype) == "str" and got[c].isna().all() for c in all_null_text)
        pd.testing.assert_frame_equal(got.drop(columns=list(all_null_text)),
                                      expected.drop(columns=list(all_null_text)), check_dtype=False)


def test_sql_after_a_result_left_open(tmp_path):
    """DuckDB ≥ 2 keeps an ``execute()`` result read with ``fetchone()`` open and refuses a relation
    on that connection until it ends; Store.sql ends it, in a file store and an in-memory one."""
    for s in _file_store(tmp_path / "s.duckdb", ("departments", "projects", "payments")):
        s.con.execute("SELECT project_id FROM projects ORDER BY project_id").fetchone()
        assert s.sql("SELECT count(*) AS n FROM payments")["n"].tolist() == [
            s.con.execute("SELECT count(*) FROM payments").fetchall()[0][0]]
        assert s.latest_year() == 2023 and len(s.sql("SELECT * FROM projects WHERE year = ?", [2023]))
        s.close()


def _file_store(path, tables) -> tuple[Store, Store]:
    """A file store at ``path`` holding ``tables`` of the hand-made frames, and the in-memory one."""
    import duckdb

    from perflib.store import create_schema

    mem = Store.from_frames(_frames())
    con = duckdb.connect(str(path))
    create_schema(con)
    for name in tables:
        con.register("_f", mem.con.execute(f"SELECT * FROM {name}").df())
        con.execute(f"INSERT INTO {name} SELECT * FROM _f")
        con.unregister("_f")
    con.close()
    return Store(path), mem


def test_a_file_store_reads_projects_once_and_hands_out_copies(tmp_path):
    s, _ = _file_store(tmp_path / "s.duckdb", ("departments", "projects", "payments"))
    calls = []
    original = s.table
    s.table = lambda *a, **k: calls.append(a) or original(*a, **k)
    first = s.projects(2023)
    first.loc[:, "budget"] = -1.0                 # a caller changing its frame …
    again = s.projects([2023])                    # … does not change what the next caller gets
    assert calls == [("projects", 2023), ("departments",)]
    assert (again["budget"] > 0).all()
    assert sorted(again["project_id"]) == ["P1", "P2", f"{CLASSIFIED_PREFIX}01"]
    s.departments()
    s.projects(2022)
    assert calls == [("projects", 2023), ("departments",), ("projects", 2022)]
    s.close()


def test_projects_read_narrow_equal_the_whole_frames_columns(tmp_path, demo_db):
    """``projects(year, columns=…)``: the same values, dtypes and row order as those columns of the
    whole frame (budget, department names and the redaction derived the same way), for a file store
    and an in-memory one, with classified projects; read narrow (only the stored columns it needs)
    and kept apart from the whole frame, which serves it once held."""
    from perflib.store import PROJECT_COLUMNS

    s, mem = _file_store(tmp_path / "s.duckdb", ("departments", "projects"))
    asks = [["budget"], ["project_id", "level1_code", "level1_name", "budget", "is_classified"],
            ["dept_name", "project_name", "project_id"], list(PROJECT_COLUMNS)[::-1]]
    for store in (Store(demo_db), s, mem):
        for year in (2022, 2023, [2022, 2023]):
            whole = Store(store.path).projects(year) if store.path else store.projects(year)
            assert list(whole.columns) == list(PROJECT_COLUMNS)
            for cols in asks:
                pd.testing.assert_frame_equal(store.projects(year, columns=cols), whole[cols], check_exact=True)
    assert s.projects(2023, columns=["project_id"])["project_id"].str.startswith(CLASSIFIED_PREFIX).any()
    queries = []
    original = s._relation
    s2 = Store(s.path)
    s2._relation = lambda q, *a: queries.append(q) or original(q, *a)
    s2.projects(2022, columns=["level1_code", "budget"])
    projects_query = [q for q in queries if " FROM projects" in q]
    assert len(projects_query) == 1 and "project_name" not in projects_query[0]
    assert ("projects", (2022,)) not in s2._cache
    s2.projects(2022)                                # the whole frame, then the narrow one taken from it
    queries.clear()
    narrow = s2.projects(2022, columns=["project_name"])
    narrow.loc[:, "project_name"] = "改了"           # a copy: the held frame does not change
    assert queries == [] and (s2.projects(2022)["project_name"] != "改了").all()
    with pytest.raises(KeyError):
        s2.projects(2022, columns=["no_such_column"])
    s.close()
    s2.close()


def test_a_file_store_reads_a_small_table_once_and_hands_out_copies(tmp_path):
    from perflib.store import SMALL_TABLES

    s, mem = _file_store(tmp_path / "s.duckdb", ("departments", "projects"))
    reads = []
    original = s._table
    s._table = lambda *a: reads.append(a) or original(*a)
    first = s.table("departments")
    first.loc[:, "dept_name"] = "改了"               # a caller changing its frame …
    again = s.table("departments")                  # … does not change what the next caller gets
    pd.testing.assert_frame_equal(again, mem.table("departments"))
    s.table("projects")
    s.table("projects")                             # a big table: read each time
    s.table("departments", 2023)                    # a year asked for: read as asked
    assert reads == [("departments", None), ("projects", None), ("projects", None), ("departments", 2023)]
    assert "departments" in SMALL_TABLES and "payments" not in SMALL_TABLES
    s.close()


def test_a_database_older_than_an_optional_column_reads_it_as_empty(tmp_path):
    """A database made before projects.func_code/econ_code existed still opens; the columns read empty."""
    import duckdb as _duckdb

    from perflib.store import Store as _Store, create_schema

    db = tmp_path / "old.duckdb"
    con = _duckdb.connect(str(db))
    create_schema(con)
    con.execute("ALTER TABLE projects DROP COLUMN func_code")
    con.execute("ALTER TABLE projects DROP COLUMN econ_code")
    con.execute("INSERT INTO departments (dept_code, dept_name) VALUES ('101', '区教体局')")
    con.execute("INSERT INTO projects (project_id, year, dept_code, project_name, budget_kind, fund_source, "
                "budget_amount) VALUES ('P1', 2023, '101', '项目', '一般公共预算', '本级', 100)")
    con.close()
    with _Store(db) as s:
        assert not s.has_column("projects", "func_code") and s.has_column("projects", "budget_amount")
        p = s.projects(2023)
        assert list(p["project_id"]) == ["P1"] and p["func_code"].isna().all() and p["econ_code"].isna().all()


def test_memo_makes_once_per_key_and_rules_object(tmp_path):
    from perflib.rules import load_rules

    db = tmp_path / "m.duckdb"
    Store.from_frames(_frames()).con.execute(f"ATTACH '{db}' AS f; COPY FROM DATABASE memory TO f; DETACH f")
    made = []

    def make():
        made.append(1)
        return {"n": len(made)}

    rules, other = load_rules(), load_rules()
    with Store(db) as s:
        assert s.memo(("a", 2023), rules, make) == {"n": 1}
        assert s.memo(("a", 2023), rules, make) == {"n": 1}       # made once
        assert s.memo(("a", 2022), rules, make) == {"n": 2}       # another key
        assert s.memo(("a", 2023), other, make) == {"n": 3}       # other rules (an equal file, another object)
    with Store.from_frames(_frames()) as s:                       # frames a test may change: made anew
        assert s.memo(("a", 2023), rules, make) == {"n": 4}
        assert s.memo(("a", 2023), rules, make) == {"n": 5}


def test_self_evaluation_is_scored_once_per_store_and_hands_out_copies(demo_db, monkeypatch):
    """The overview asks for the self-evaluations three times: scored once; a caller changing its
    frames does not change what the next caller gets."""
    from perflib.analysis import evaluation as ev
    from perflib.rules import load_rules

    from conftest import count_calls

    calls = count_calls(monkeypatch, ev, "score_self_evaluations")
    rules = load_rules()
    with Store(demo_db) as s:
        first = ev.self_evaluation(s, 2023, rules)
        expected = first.projects.copy()
        first.projects.loc[:, "recomputed_score"] = -1.0
        first.flags.loc[:, "flag"] = "x"
        again = ev.self_evaluation(s, 2023, rules)
        assert len(calls) == 1
        pd.testing.assert_frame_equal(again.projects, expected)
        assert len(again.flags) > 0 and not (again.flags["flag"] == "x").any()
        ev.self_evaluation(s, 2023, rules, dept=str(s.departments().query("is_level1")["dept_code"].iloc[0]))
        assert len(calls) == 2


def test_sql_joined_sees_the_frames_only_during_its_query(demo_db):
    """A frame joined in DuckDB gives what the same join in pandas gives; its name is gone after the
    query, also when the query fails."""
    import duckdb

    s = Store(demo_db)
    year = s.latest_year()
    picked = s.projects(year).sort_values("budget", ascending=False).head(5)[["project_id", "project_name", "budget"]]
    got = s.sql_joined("SELECT f.project_id, f.budget, count(*) AS payments FROM picked f "
                       "JOIN payments p ON p.project_id = f.project_id AND p.year = ? "
                       "GROUP BY ALL ORDER BY f.project_id", [year], picked=picked)
    pays = s.table("payments", year)
    expected = (picked.merge(pays, on="project_id").groupby(["project_id", "budget"]).size()
                .rename("payments").reset_index().sort_values("project_id", ignore_index=True))
    assert got["project_id"].tolist() == expected["project_id"].tolist()
    assert got["payments"].tolist() == expected["payments"].tolist() and got["payments"].min() > 0
    assert got["budget"].tolist() == expected["budget"].tolist()
    with pytest.raises(duckdb.Error):
        s.sql("SELECT * FROM picked")
    with pytest.raises(duckdb.Error):
        s.sql_joined("SELECT no_such_column FROM picked", picked=picked)
    with pytest.raises(duckdb.Error):
        s.sql("SELECT * FROM picked")


def test_a_store_that_lets_its_cache_go_evicts_duckdbs_blocks_after_a_query(demo_db, monkeypatch):
    """``let_cache_go``: once DuckDB's cached table blocks exceed ``CACHE_KEPT`` after a query, they
    are evicted (down to ``CACHE_LEFT``) and the memory limit is the default again; the frames are
    the same. A store that keeps its cache (the default) keeps the blocks."""
    import perflib.store as store_module

    monkeypatch.setattr(store_module, "CACHE_KEPT", 0)
    monkeypatch.setattr(store_module, "CACHE_LEFT", "1MB")
    query = "SELECT project_id, year, pay_date, amount FROM payments ORDER BY ALL"

    def cached(s: Store) -> int:
        return s.con.execute(store_module._CACHED_BLOCKS).fetchall()[0][0]

    def limit(s: Store) -> str:
        return s.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

    # one after the other: two stores of one file in a process share DuckDB's instance, and its cache
    keep = Store(demo_db)
    try:
        kept, default, projects = keep.sql(query), limit(keep), keep.table("projects", 2023)
        assert cached(keep) > 1 << 20
    finally:
        keep.close()
    lean = Store(demo_db, let_cache_go=True)
    try:
        pd.testing.assert_frame_equal(lean.sql(query), kept)
        assert cached(lean) <= 1 << 20 and limit(lean) == default
        pd.testing.assert_frame_equal(lean.table("projects", 2023), projects)
        assert cached(lean) <= 1 << 20 and limit(lean) == default
    finally:
        lean.close()


def test_a_reports_store_lets_its_cache_go(demo_db):
    from perflib.present.notebook import open_report

    rep = open_report("coverage", db=demo_db)
    try:
        assert rep.store.let_cache_go and not Store(demo_db).let_cache_go
    finally:
        rep.store.close()

