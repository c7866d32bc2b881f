"""Data revisions (issue 19): figures of a period an earlier load already covered that this load
changes, found in SQL while the new database is built (the previous one attached as ``old``).

Compared, cheaply, as totals per table × period rather than row by row where rows are many:

- payments: the sum of 支付金额 per year × month, for the months up to the last month the previous
  load's payments of that year reached (a later month is new data, not a revision); district totals;
- projects: 年初预算数 and 调整后预算数 per project of a year already loaded;
- self_evaluations: 自评得分 and 全年执行数 per project; key_evaluations: the total of the four
  scores (决策 + 过程 + 产出 + 效益) per project.

Each revision records the figure before and after, the load that brought the previous figure (the
latest load of that table before this one) and this load. Earlier revisions are kept.
"""
from __future__ import annotations

from ..store import REVISIONS_COLUMNS

# (table, measure label, key columns, SQL expression of the figure on alias t)
PROJECT_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("projects", "年初预算数", "t.budget_amount"),
    ("projects", "调整后预算数", "t.adjusted_amount"),
    ("self_evaluations", "自评得分", "t.reported_score"),
    ("self_evaluations", "全年执行数", "t.spent_amount"),
    ("key_evaluations", "评价得分", "t.score_decision + t.score_process + t.score_output + t.score_effect"),
)

PAYMENTS_SQL = """
WITH o AS (SELECT year, month(pay_date) AS m, sum(amount) AS total FROM old.payments GROUP BY 1, 2),
     covered AS (SELECT year, max(m) AS last_month FROM o GROUP BY 1),
     n AS (SELECT year, month(pay_date) AS m, sum(amount) AS total FROM main.payments GROUP BY 1, 2),
     both_ AS (SELECT coalesce(o.year, n.year) AS year, coalesce(o.m, n.m) AS m,
                      coalesce(o.total, 0) AS old_total, coalesce(n.total, 0) AS new_total
               FROM o FULL OUTER JOIN n ON o.year = n.year AND o.m = n.m)
SELECT 'payments', b.year, printf('%d-%02d', b.year, b.m), '支付金额', NULL,
       CAST(b.old_total AS DOUBLE), CAST(b.new_total AS DOUBLE), ?, ?, ?
FROM both_ b JOIN covered c ON c.year = b.year
WHERE b.m <= c.last_month AND b.old_total <> b.new_total
"""


def _project_sql(table: str, measure: str, expr: str) -> str:
    """The revisions of one per-project figure: projects of a year both databases hold."""
    old, new = expr.replace("t.", "o."), expr.replace("t.", "n.")
    return (f"SELECT '{table}', n.year, CAST(n.year AS VARCHAR), '{measure}', n.project_id, "
            f"CAST({old} AS DOUBLE), CAST({new} AS DOUBLE), ?, ?, ? "
            f"FROM old.{table} o JOIN main.{table} n ON o.project_id = n.project_id AND o.year = n.year "
            f"WHERE ({old}) IS DISTINCT FROM ({new})")


def record_revisions(con, load_id: int, recorded_at, old_tables: set[str]) -> int:
    """Keep the previous database's revisions and add this load's; returns how many were added."""
    cols = ", ".join(REVISIONS_COLUMNS)
    if "revisions" in old_tables:
        con.execute(f"INSERT INTO revisions ({cols}) SELECT {cols} FROM old.revisions")
    before = con.execute("SELECT count(*) FROM revisions").fetchall()[0][0]
    checks = []
    if "payments" in old_tables:
        checks.append(("payments", PAYMENTS_SQL))
    for table, measure, expr in PROJECT_MEASURES:
        if table in old_tables:
            checks.append((table, _project_sql(table, measure, expr)))
    for table, sql in checks:
        old_load = con.execute("SELECT max(load_id) FROM old.loads WHERE table_name = ?", [table]).fetchall()[0][0]
        con.execute(f"INSERT INTO revisions ({cols}) {sql}", [old_load, load_id, recorded_at])
    return con.execute("SELECT count(*) FROM revisions").fetchall()[0][0] - before
