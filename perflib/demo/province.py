"""Province scale (``write_province``): the district demo tiled over many districts, each with its
own codes, names and money scale, written table by table from DuckDB (15 M payment rows in ~20 s).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..schema import TABLES
from .calibration import FEN
from .district import build_demo
from .export import write_xlsx

PROVINCE_DISTRICTS = 150
PROVINCE_BASES = 4                # distinct district generations the districts are drawn from
PROVINCE_FILE_ROWS = 2_000_000    # payment rows per 支出明细-NNN.csv
PROVINCE_CODE = "37"              # province administrative division code (山东省)
_NAME_CHARS = "东西南北安平和兴阳山河源泰宁华丰清新临长永文高金龙凤云庆明昌乐城"


def _districts(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` districts: code ``37CCDD`` (city CC, district DD), a unique two-character name with
    区/县, the base generation it is drawn from, and a money scale factor (districts differ in size)."""
    if n < 1:
        raise ParameterError(f"区县数应为正整数，实际为 {n}")
    pairs = [a + b for a in _NAME_CHARS for b in _NAME_CHARS if a != b]
    if n > len(pairs):
        raise ParameterError(f"区县数最多 {len(pairs)} 个，实际为 {n}")
    names = [pairs[i] for i in rng.permutation(len(pairs))[:n]]
    suffix = np.where(rng.random(n) < 0.3, "县", "区")
    codes = [f"{PROVINCE_CODE}{1 + i // 10:02d}{2 + i % 10:02d}" for i in range(n)]
    factor = np.clip(rng.lognormal(0.0, 0.35, n), 0.4, 2.5)
    return pd.DataFrame({"k": np.arange(n), "code": codes, "name": [a + s for a, s in zip(names, suffix)],
                         "base": np.arange(n) % min(n, PROVINCE_BASES), "f": factor})


def _fen_sql(x: str) -> str:
    """SQL: a non-negative integer fen expression as exact 元 text (``123456`` → ``1234.56``)."""
    return f"(({x}) // 100)::VARCHAR || '.' || lpad((({x}) % 100)::VARCHAR, 2, '0')"


def _bool_sql(x: str) -> str:
    """SQL: a boolean as 是/否 (NULL stays empty)."""
    return f"CASE WHEN {x} THEN '是' WHEN NOT {x} THEN '否' END"


def _headers(table: str, **override) -> dict[str, str]:
    """Column name → Chinese header of ``table`` (some overridden, e.g. a header in 万元)."""
    return {c.name: override.get(c.name, c.header) for c in TABLES[table].columns}


def write_province(out_dir: Path, seed: int = 0, *, districts: int = PROVINCE_DISTRICTS,
                   file_rows: int = PROVINCE_FILE_ROWS) -> list[Path]:
    """Write a province-scale export: ``districts`` districts, each a copy of one of a few
    district-scale generations with its own codes (``37CCDD…``), department names (``安平区教体局``)
    and money scaled by a district factor times a per-project factor (payments, budgets and
    self-evaluated spending stay consistent). Tables are CSV except the two small workbooks;
    payments are split into ``支出明细-001.csv`` … of at most ``file_rows`` rows; targets are GBK
    with CRLF line ends, projects carry 年初预算数（万元） and a 合计 row. Returns the files written."""
    import duckdb

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 150])
    dist = _districts(int(districts), rng)
    n_bases = int(dist["base"].max()) + 1
    bases = [build_demo(seed if b == 0 else seed * 1000 + b) for b in range(n_bases)]
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET preserve_insertion_order = true")
        _load_bases(con, bases)
        _load_factors(con, dist, rng)
        # in this order: 项目 and 支出明细 build x_projects and x_payments; 绩效自评 reads x_payments
        files = [_departments(con, out), _projects(con, out), _targets(con, out)]
        files += _payments(con, out, file_rows)
        files += [_monitoring(con, out), _self_evaluations(con, out), _self_eval_indicators(con, out),
                  _key_evaluations(con, out), _costs(con, out), _outputs(con, out),
                  _street_fiscal(con, out)]
        return files
    finally:
        con.close()


def _load_bases(con, bases: list) -> None:
    """The base generations' tables as ``b_<table>`` (columns ``base`` and row number ``i`` first)."""
    for name in TABLES:
        frames = []
        for b, data in enumerate(bases):
            df = getattr(data, name).copy()
            df.insert(0, "base", b)
            df.insert(1, "i", np.arange(len(df)))
            frames.append(df)
        df = pd.concat(frames, ignore_index=True)
        for c in df.columns:     # nullable extension dtypes → plain numpy/object for DuckDB
            if str(df[c].dtype) in ("Int64", "Float64", "boolean"):
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        con.register(f"_b_{name}", df)
        con.execute(f"CREATE TABLE b_{name} AS SELECT * FROM _b_{name}")
        con.unregister(f"_b_{name}")


def _load_factors(con, dist: pd.DataFrame, rng: np.random.Generator) -> None:
    """The districts as ``dist`` and each district project's money factor ``g`` as ``pf``: the
    district factor times a project's own factor."""
    con.register("_dist", dist)
    con.execute("CREATE TABLE dist AS SELECT * FROM _dist")
    ids = con.execute("SELECT DISTINCT base, project_id FROM b_projects ORDER BY ALL").df()
    pf = dist[["k", "base", "f"]].merge(ids, on="base")
    pf["g"] = pf["f"] * rng.uniform(0.8, 1.25, len(pf))
    con.register("_pf", pf[["k", "project_id", "g"]])
    con.execute("CREATE TABLE pf AS SELECT * FROM _pf")


def _copy_csv(con, select: str, path: Path) -> None:
    """The rows of ``select`` as a UTF-8 csv with a header row."""
    con.execute(f"COPY ({select}) TO '{path.as_posix()}' (HEADER, DELIMITER ',', QUOTE '\"')")


# --- the tables, each from the base tables (b_*), the districts (dist) and the factors (pf) ---------
_PID = "d.code || substr(b.project_id, 7)"      # the base project code with the district's code
_DEPT = "d.code || b.dept_code"
_SCALED = "CAST(round(b.{col}_fen * pf.g) AS BIGINT)"
_JOIN_P = ("FROM b_{t} b JOIN dist d ON d.base = b.base "
           "JOIN pf ON pf.k = d.k AND pf.project_id = b.project_id")


def _name_sql(col: str) -> str:
    """SQL: a department name with the district's name (区教体局 → 安平区教体局)."""
    return f"CASE WHEN b.{col} LIKE '区%' THEN d.name || substr(b.{col}, 2) ELSE d.name || b.{col} END"


def _departments(con, out: Path) -> Path:
    """Departments (workbook, as in the district demo)."""
    h = _headers("departments")
    depts = con.execute(f"""
        SELECT {_DEPT} AS "{h['dept_code']}", {_name_sql('dept_name')} AS "{h['dept_name']}",
               CASE WHEN b.parent_code IS NOT NULL THEN d.code || b.parent_code END AS "{h['parent_code']}",
               b.sector AS "{h['sector']}", {_bool_sql('b.is_street')} AS "{h['is_street']}"
        FROM b_departments b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""").df()
    p = out / "部门.xlsx"
    write_xlsx({"部门": depts}, p)
    return p


def _projects(con, out: Path) -> Path:
    """Projects: budgets in 100 元 steps, 年初预算数 written in 万元, a 合计 row."""
    con.execute(f"""
        CREATE TABLE x_projects AS SELECT d.k, b.i, {_PID} AS project_id, b.year, {_DEPT} AS dept_code,
               b.project_name, b.project_type, b.budget_kind, b.fund_source,
               greatest(CAST(round(b.budget_amount_fen * pf.g / 10000) AS BIGINT), 1) * 10000 AS budget_fen,
               CASE WHEN b.adjusted_amount_fen IS NOT NULL THEN
                    greatest(CAST(round(b.adjusted_amount_fen * pf.g / 10000) AS BIGINT), 1) * 10000 END
                    AS adjusted_fen,
               b.is_classified, b.is_special
        {_JOIN_P.format(t='projects')} ORDER BY d.k, b.i""")
    wan = TABLES["projects"].column("budget_amount").header + "（万元）"
    h = _headers("projects", budget_amount=wan)
    p = out / "项目.csv"
    _copy_csv(con, f"""
        SELECT project_id AS "{h['project_id']}", year AS "{h['year']}", dept_code AS "{h['dept_code']}",
               project_name AS "{h['project_name']}", project_type AS "{h['project_type']}",
               budget_kind AS "{h['budget_kind']}", fund_source AS "{h['fund_source']}",
               (budget_fen // 1000000)::VARCHAR || '.' || lpad(((budget_fen % 1000000) // 10000)::VARCHAR, 2, '0')
                   AS "{h['budget_amount']}",
               {_fen_sql('adjusted_fen')} AS "{h['adjusted_amount']}",
               {_bool_sql('is_classified')} AS "{h['is_classified']}",
               {_bool_sql('is_special')} AS "{h['is_special']}"
        FROM x_projects ORDER BY k, i""", p)
    budget, adjusted = con.execute("SELECT sum(budget_fen), sum(adjusted_fen) FROM x_projects").fetchone()
    budget, adjusted = int(budget), int(adjusted or 0)
    total = ["合计", "", "", "", "", "", "",
             f"{budget // 1_000_000}.{(budget % 1_000_000) // 10_000:02d}",
             f"{adjusted // FEN}.{adjusted % FEN:02d}", "", ""]
    with open(p, "a", encoding="utf-8", newline="") as fh:
        fh.write(",".join(total) + "\n")
    return p


def _targets(con, out: Path) -> Path:
    """Targets: GBK with CRLF line ends, as the budget system writes them."""
    h = _headers("targets")
    p = out / "绩效目标.csv"
    tmp = out / ".绩效目标.utf8.tmp"
    _copy_csv(con, f"""
        SELECT CASE WHEN b.project_id IS NOT NULL THEN {_PID} END AS "{h['project_id']}",
               {_DEPT} AS "{h['dept_code']}", b.year AS "{h['year']}", b.level1 AS "{h['level1']}",
               b.level2 AS "{h['level2']}", b.indicator AS "{h['indicator']}",
               b.direction AS "{h['direction']}", b.target_value AS "{h['target_value']}",
               b.unit AS "{h['unit']}", b.weight AS "{h['weight']}"
        FROM b_targets b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", tmp)
    _transcode(tmp, p, "gbk", crlf=True)
    return p


def _payments(con, out: Path, file_rows: int) -> list[Path]:
    """Payments, split into files of at most ``file_rows`` rows (whole districts per file)."""
    files: list[Path] = []
    con.execute(f"""
        CREATE TABLE x_payments AS SELECT d.k, b.i, {_PID} AS project_id, b.year, b.pay_date,
               {_SCALED.format(col='amount')} AS amount_fen
        {_JOIN_P.format(t='payments')} ORDER BY d.k, b.i""")
    con.execute("DELETE FROM x_payments WHERE amount_fen <= 0")
    per_k = con.execute("SELECT k, count(*) FROM x_payments GROUP BY k ORDER BY k").fetchall()
    h = _headers("payments")
    chunks, cur, n = [], [], 0
    for k, c in per_k:
        if cur and n + c > file_rows:
            chunks.append(cur)
            cur, n = [], 0
        cur.append(k)
        n += c
    if cur:
        chunks.append(cur)
    for j, ks in enumerate(chunks, 1):
        p = out / f"{TABLES['payments'].label}-{j:03d}.csv"
        _copy_csv(con, f"""
            SELECT project_id AS "{h['project_id']}", year AS "{h['year']}",
                   strftime(pay_date, '%Y-%m-%d') AS "{h['pay_date']}",
                   {_fen_sql('amount_fen')} AS "{h['amount']}"
            FROM x_payments WHERE k BETWEEN {ks[0]} AND {ks[-1]} ORDER BY k, i""", p)
        files.append(p)
    return files


def _monitoring(con, out: Path) -> Path:
    """Monitoring (UTF-8 with BOM)."""
    h = _headers("monitoring")
    p = out / "绩效监控.csv"
    _copy_csv(con, f"""
        SELECT {_PID} AS "{h['project_id']}", b.year AS "{h['year']}", b.as_of_month AS "{h['as_of_month']}",
               b.indicator AS "{h['indicator']}", b.actual_value AS "{h['actual_value']}",
               b.deviation_reason AS "{h['deviation_reason']}", b.likelihood AS "{h['likelihood']}",
               {_bool_sql('b.key_monitored')} AS "{h['key_monitored']}"
        FROM b_monitoring b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    _prepend_bom(p)
    return p


def _self_evaluations(con, out: Path) -> Path:
    """Self-evaluations: 全年执行数 = the project's (scaled) payments of the year."""
    h = _headers("self_evaluations")
    p = out / "绩效自评.csv"
    _copy_csv(con, f"""
        WITH spent AS (SELECT project_id, year, sum(amount_fen) AS fen FROM x_payments GROUP BY ALL)
        SELECT {_PID} AS "{h['project_id']}", b.year AS "{h['year']}",
               {_fen_sql('coalesce(s.fen, 0)')} AS "{h['spent_amount']}",
               b.satisfaction AS "{h['satisfaction']}", b.reported_score AS "{h['reported_score']}"
        FROM b_self_evaluations b JOIN dist d ON d.base = b.base
        LEFT JOIN spent s ON s.project_id = {_PID} AND s.year = b.year ORDER BY d.k, b.i""", p)
    return p


def _self_eval_indicators(con, out: Path) -> Path:
    """Self-evaluation indicators: each indicator's year-end actual."""
    h = _headers("self_eval_indicators")
    p = out / "自评指标.csv"
    _copy_csv(con, f"""
        SELECT {_PID} AS "{h['project_id']}", b.year AS "{h['year']}", b.indicator AS "{h['indicator']}",
               b.actual_value AS "{h['actual_value']}"
        FROM b_self_eval_indicators b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    return p


def _key_evaluations(con, out: Path) -> Path:
    """Key evaluations (workbook): next-year request and approval scaled in 万元 steps."""
    h = _headers("key_evaluations")
    ke = con.execute(f"""
        SELECT {_PID} AS "{h['project_id']}", b.year AS "{h['year']}", b.domain AS "{h['domain']}",
               b.score_decision AS "{h['score_decision']}", b.score_process AS "{h['score_process']}",
               b.score_output AS "{h['score_output']}", b.score_effect AS "{h['score_effect']}",
               CAST(round(b.next_request_fen * pf.g / 1000000) AS BIGINT) * 10000 AS "{h['next_request']}",
               CAST(round(b.next_approved_fen * pf.g / 1000000) AS BIGINT) * 10000 AS "{h['next_approved']}",
               b.findings AS "{h['findings']}"
        {_JOIN_P.format(t='key_evaluations')} ORDER BY d.k, b.i""").df()
    p = out / "重点评价.xlsx"
    write_xlsx({"重点评价": ke}, p)
    return p


def _costs(con, out: Path) -> Path:
    """Cost elements (UTF-8 with BOM), scaled by the project factor."""
    h = _headers("costs")
    p = out / "成本构成.csv"
    _copy_csv(con, f"""
        SELECT {_PID} AS "{h['project_id']}", b.year AS "{h['year']}", b.cost_element AS "{h['cost_element']}",
               {_fen_sql(_SCALED.format(col='amount'))} AS "{h['amount']}"
        {_JOIN_P.format(t='costs')} ORDER BY d.k, b.i""", p)
    _prepend_bom(p)
    return p


def _outputs(con, out: Path) -> Path:
    """Output quantities of the cost pilots (not scaled)."""
    h = _headers("outputs")
    p = out / "产出数量.csv"
    _copy_csv(con, f"""
        SELECT {_PID} AS "{h['project_id']}", b.year AS "{h['year']}", b.output_name AS "{h['output_name']}",
               b.unit AS "{h['unit']}", b.quantity AS "{h['quantity']}",
               b.quality_score AS "{h['quality_score']}"
        FROM b_outputs b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    return p


def _street_fiscal(con, out: Path) -> Path:
    """Street fiscal: amounts scaled by the district factor (whole 元)."""
    h = _headers("street_fiscal")
    p = out / "街道财政.csv"
    _copy_csv(con, f"""
        SELECT {_DEPT} AS "{h['dept_code']}", b.year AS "{h['year']}", b.indicator AS "{h['indicator']}",
               CAST(round(b.value * d.f) AS BIGINT) AS "{h['value']}"
        FROM b_street_fiscal b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    return p


def _transcode(src: Path, dst: Path, encoding: str, *, crlf: bool = False,
               chunk: int = 8 << 20) -> None:
    """Re-encode a UTF-8 text file in streaming chunks (and optionally use CRLF line ends)."""
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while True:
            data = fin.read(chunk)
            text = dec.decode(data, final=not data)
            if crlf:
                text = text.replace("\n", "\r\n")
            fout.write(text.encode(encoding))
            if not data:
                break
    src.unlink()


def _prepend_bom(path: Path, chunk: int = 8 << 20) -> None:
    """Put a UTF-8 byte order mark in front of a file (streaming, replaced in one rename)."""
    tmp = path.with_name("." + path.name + ".tmp")
    with open(path, "rb") as fin, open(tmp, "wb") as fout:
        fout.write(b"\xef\xbb\xbf")
        while data := fin.read(chunk):
            fout.write(data)
    tmp.replace(path)
