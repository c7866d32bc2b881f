"""The district's departments and its project lines: which projects exist in which year (2021–2023),
in which group the calibration needs them (eligible with targets, key evaluations, others …), and
their codes ``370112-<first year>-<seq>``. First steps of the district generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibration import (
    BOND_SECTORS,
    BOND_SUBJECTS,
    CITY_CODE,
    CLASSIFIED_NAMES,
    CLASSIFIED_PER_YEAR,
    ELIGIBLE_WITHOUT_TARGETS_PREV,
    FIRE_STATIONS,
    KEY_EVALUATIONS,
    KEY_MONITORED,
    LEVEL1_DEPARTMENTS,
    MONITORING_OTHERS,
    PROPERTY_UNITS,
    RECEPTION_UNITS,
    SECTOR_PROJECTS,
    SELFEVAL,
    SPECIAL_PROJECTS,
    STREETS,
    SUBUNITS,
    TARGETS_PROJECTS,
    TARGETS_PROJECTS_PREV,
    TRANSFER_PREFIXES,
    VENUES,
    YEARS,
)


@dataclass
class Departments:
    """The department tree (``table``, with each department's ``weight`` for drawing projects) and
    its lookups."""

    table: pd.DataFrame
    code_of: dict[str, str]      # name → code
    sector_of: dict[str, str]    # code → sector
    name_of: dict[str, str]      # code → name


def make_departments() -> Departments:
    """77 level-1 departments (65 bureaus 101…, 12 streets 201…) and their level-2 units."""
    rows = []
    for i, (name, sector, weight) in enumerate(LEVEL1_DEPARTMENTS):
        rows.append(dict(dept_code=f"{101 + i}", dept_name=name, parent_code=None, sector=sector,
                         is_street=False, weight=weight))
    for i, name in enumerate(STREETS):
        rows.append(dict(dept_code=f"{201 + i}", dept_name=name, parent_code=None, sector="街道",
                         is_street=True, weight=2.0))
    codes = {r["dept_name"]: r["dept_code"] for r in rows}
    for parent, units in SUBUNITS.items():
        for j, (name, sector) in enumerate(units, 1):
            rows.append(dict(dept_code=f"{codes[parent]}{j:03d}", dept_name=name,
                             parent_code=codes[parent], sector=sector, is_street=False, weight=1.0))
    df = pd.DataFrame(rows)
    assert (df["parent_code"].isna()).sum() == 77
    return Departments(table=df, code_of=dict(zip(df["dept_name"], df["dept_code"])),
                       sector_of=dict(zip(df["dept_code"], df["sector"])),
                       name_of=dict(zip(df["dept_code"], df["dept_name"])))


class ProjectBook:
    """The project rows drawn so far (one dict per project-year; a *line* is one project over the
    years) and the ways to add them: new lines, existing lines again, named lines."""

    def __init__(self, rng: np.random.Generator, depts: Departments):
        self.rng = rng
        self.depts = depts
        self.rows: list[dict] = []
        self.line_count = 0

    def new_line(self) -> int:
        """The next line number."""
        self.line_count += 1
        return self.line_count

    def pick_depts(self, n: int, sectors: tuple[str, ...] | None = None) -> np.ndarray:
        """``n`` department codes drawn by weight (only of ``sectors`` if given)."""
        d = self.depts.table
        if sectors is not None:
            d = d[d["sector"].isin(sectors)]
        p = d["weight"].to_numpy(float)
        return self.rng.choice(d["dept_code"].to_numpy(), size=n, p=p / p.sum())

    def name_for(self, dept: str, fund: str) -> tuple[str, str]:
        """A plausible project name and budget kind for a new project of ``dept`` and fund source."""
        rng = self.rng
        sector = self.depts.sector_of[dept]
        base = SECTOR_PROJECTS[sector][rng.integers(len(SECTOR_PROJECTS[sector]))]
        if fund == "本级":
            kind = "政府性基金预算" if sector in ("住房城乡建设", "自然资源") and rng.random() < 0.2 else "一般公共预算"
            return base, kind
        if fund == "上级转移支付":
            kind = "政府性基金预算" if rng.random() < 0.08 else "一般公共预算"
            return TRANSFER_PREFIXES[rng.integers(3)] + base, kind
        if fund == "直达资金":
            return base + "（直达资金）", "一般公共预算"
        if fund == "政府债券":
            own = self.depts.name_of[dept]
            street = (own if own in STREETS else STREETS[rng.integers(len(STREETS))])[:-5]
            subject = BOND_SUBJECTS[rng.integers(len(BOND_SUBJECTS))]
            return f"{street}{subject}专项债券项目", "政府性基金预算"
        raise ValueError(fund)

    def new_projects(self, year: int, n: int, group: str, fund: str, *, special: bool = False,
                     classified: bool = False, sectors: tuple[str, ...] | None = None) -> list[dict]:
        """``n`` new project lines starting in ``year``."""
        depts = self.pick_depts(n, sectors)
        out = []
        for dept in depts:
            if classified:
                name, kind = CLASSIFIED_NAMES[len([r for r in self.rows if r["is_classified"]
                                                   and r["year"] == year])
                                              % len(CLASSIFIED_NAMES)], "一般公共预算"
            elif special:
                name, kind = SPECIAL_PROJECTS[self.rng.integers(len(SPECIAL_PROJECTS))]
            else:
                name, kind = self.name_for(dept, fund)
            row = dict(line=self.new_line(), year=year, dept_code=dept, project_name=name,
                       project_type=None, budget_kind=kind, fund_source=fund, is_special=special,
                       is_classified=classified, group=group)
            self.rows.append(row)
            out.append(row)
        return out

    def continue_projects(self, rows: list[dict], year: int, group: str) -> list[dict]:
        """The same project lines again in ``year`` (same code, name, department)."""
        out = []
        for r in rows:
            row = dict(r, year=year, group=group)
            self.rows.append(row)
            out.append(row)
        return out

    def add(self, year: int, dept_name: str, name: str, group: str, *, fund: str = "本级",
            kind: str = "一般公共预算", project_type: str | None = None, line: int | None = None) -> dict:
        """One named project-year (a new line unless ``line`` is given)."""
        row = dict(line=line or self.new_line(), year=year, dept_code=self.depts.code_of[dept_name],
                   project_name=name, project_type=project_type, budget_kind=kind, fund_source=fund,
                   is_special=False, is_classified=False, group=group)
        self.rows.append(row)
        return row


def add_pilot_lines(book: ProjectBook) -> int:
    """The cost pilots (成本预算绩效管理试点) as project lines over 2021–2023; returns their number."""
    pilots: list[tuple[str, str, str]] = []   # (type, dept name, project name)
    for street in STREETS:
        pilots.append(("道路保洁", street, f"{street[:-5]}道路保洁经费"))
    for venue in VENUES:
        pilots.append(("文博场馆运行", venue, f"{venue[1:]}运行经费"))
    for station in FIRE_STATIONS:
        pilots.append(("消防业务", station, f"{station}消防业务经费"))
    admin = [n for n, s, _ in LEVEL1_DEPARTMENTS if s in ("一般公共服务", "公共安全", "社会保障", "产业",
                                                         "商务", "自然资源", "科技")]
    chosen = book.rng.choice(len(admin), size=PROPERTY_UNITS + RECEPTION_UNITS, replace=False)
    for k, idx in enumerate(chosen):
        dept = admin[idx]
        if k < PROPERTY_UNITS:
            pilots.append(("物业管理", dept, "办公区物业管理服务费"))
        else:
            pilots.append(("公务接待", dept, "公务接待费"))
    for ptype, dept, name in pilots:
        line = book.new_line()
        for year in YEARS:
            book.add(year, dept, name, "pilot", project_type=ptype, line=line)
    return len(pilots)


def add_project_sets(book: ProjectBook, n_pilot: int) -> None:
    """Every other project-year of 2021–2023, in the counts the seed's figures need."""
    e21 = _lines_2021(book, n_pilot)
    e22, o22 = _lines_2022(book, n_pilot, e21)
    _lines_2023(book, n_pilot, e22, o22)


def _lines_2021(book: ProjectBook, n_pilot: int) -> list[dict]:
    """2021: 315 evaluated (50 pilots + 265), 14 not evaluated, classified. Returns the eligible."""
    e21 = book.new_projects(2021, 220, "eligible_t", "本级")
    o21 = (book.new_projects(2021, 28, "other", "上级转移支付")
           + book.new_projects(2021, 10, "other", "政府债券", sectors=BOND_SECTORS)
           + book.new_projects(2021, 7, "other", "本级", special=True))
    # 265 evaluated non-pilot: the 220 eligible + 45 others
    for r in e21 + o21:
        r["evaluated"] = True
    n21_noeval = book.new_projects(2021, 10, "noeval", "本级") + book.new_projects(
        2021, 4, "noeval", "上级转移支付")
    for r in n21_noeval:
        r["evaluated"] = False
    book.new_projects(2021, CLASSIFIED_PER_YEAR[2021], "classified", "本级", classified=True)
    assert n_pilot + len(e21) + len(o21) == SELFEVAL[2021][0]
    return e21


def _lines_2022(book: ProjectBook, n_pilot: int, e21: list[dict]) -> tuple[list[dict], list[dict]]:
    """2022: 391 eligible with targets (50 pilots + 341), 12 eligible without targets, the rest.
    Returns the eligible with targets and the evaluated others."""
    cont = [e21[i] for i in book.rng.choice(len(e21), size=150, replace=False)]
    e22 = book.continue_projects(cont, 2022, "eligible_t") + book.new_projects(
        2022, TARGETS_PROJECTS_PREV - n_pilot - 150, "eligible_t", "本级")
    nt22 = book.new_projects(2022, ELIGIBLE_WITHOUT_TARGETS_PREV, "eligible_nt", "本级")
    n_eval_other = SELFEVAL[2022][0] - n_pilot - len(e22) - 8
    n_transfer = int(n_eval_other * 0.5)
    n_direct = int(n_eval_other * 0.16)
    n_bond = int(n_eval_other * 0.08)
    n_special = n_eval_other - n_transfer - n_direct - n_bond
    o22 = (book.new_projects(2022, n_transfer, "other", "上级转移支付")
           + book.new_projects(2022, n_direct, "other", "直达资金")
           + book.new_projects(2022, n_bond, "other", "政府债券", sectors=BOND_SECTORS)
           + book.new_projects(2022, n_special, "other", "本级", special=True))
    for r in e22 + o22 + nt22[:8]:
        r["evaluated"] = True
    for r in nt22[8:]:
        r["evaluated"] = False
    n22_noeval = book.new_projects(2022, 14, "noeval", "上级转移支付") + book.new_projects(
        2022, 6, "noeval", "本级", special=True)
    for r in n22_noeval:
        r["evaluated"] = False
    cls21 = [r for r in book.rows if r["year"] == 2021 and r["is_classified"]]
    book.continue_projects(cls21[:1], 2022, "classified")
    book.new_projects(2022, CLASSIFIED_PER_YEAR[2022] - 1, "classified", "本级", classified=True)
    return e22, o22


def _lines_2023(book: ProjectBook, n_pilot: int, e22: list[dict], o22: list[dict]) -> None:
    """2023: 511 eligible (50 pilots, 3 key monitored, 16 key evaluations, 442 others), 98 others."""
    rng = book.rng
    for dept, name, _ in KEY_MONITORED:
        book.add(2023, dept, name, "key_monitored")
    for dept, name, _ in KEY_EVALUATIONS:
        kind = "政府性基金预算" if name == "临港开发区园区综合建设" else "一般公共预算"
        book.add(2023, dept, name, "key_eval", kind=kind)
    n_free = TARGETS_PROJECTS - n_pilot - len(KEY_MONITORED) - len(KEY_EVALUATIONS)
    cont = [e22[i] for i in rng.choice(len(e22), size=240, replace=False)]
    book.continue_projects(cont, 2023, "eligible_t")
    book.new_projects(2023, n_free - 240, "eligible_t", "本级")
    o22_transfer = [r for r in o22 if r["fund_source"] == "上级转移支付"]
    cont = [o22_transfer[i] for i in rng.choice(len(o22_transfer), size=30, replace=False)]
    book.continue_projects(cont, 2023, "other")
    book.new_projects(2023, 15, "other", "上级转移支付")
    book.new_projects(2023, 25, "other", "直达资金")
    book.new_projects(2023, 15, "other", "政府债券", sectors=BOND_SECTORS)
    book.new_projects(2023, MONITORING_OTHERS - 85, "other", "本级", special=True)
    cls22 = [r for r in book.rows if r["year"] == 2022 and r["is_classified"]]
    book.continue_projects(cls22[:2], 2023, "classified")
    book.new_projects(2023, CLASSIFIED_PER_YEAR[2023] - 2, "classified", "本级", classified=True)


def assign_codes(rows: list[dict]) -> pd.DataFrame:
    """The project-years as a frame with codes ``370112-<first year>-<seq>``: a line keeps its code
    across years; names are made unique within a department and year (suffix （二）… by line order)."""
    df = pd.DataFrame(rows)
    df["evaluated"] = df["evaluated"].astype("boolean").fillna(True).astype(bool) \
        if "evaluated" in df else True
    first = df.groupby("line")["year"].transform("min")
    df["first_year"] = first
    lines = df.drop_duplicates("line").sort_values(["first_year", "dept_code", "line"])
    lines["seq"] = lines.groupby("first_year").cumcount() + 1
    code = {ln: f"{CITY_CODE}-{fy}-{seq:04d}" for ln, fy, seq in
            zip(lines["line"], lines["first_year"], lines["seq"])}
    df["project_id"] = df["line"].map(code)
    df = df.sort_values(["year", "dept_code", "project_name", "line"]).reset_index(drop=True)
    numerals = "一二三四五六七八九十"
    names_by_line = {}
    taken: dict[tuple, int] = {}
    for ln, dept, nm in df.drop_duplicates("line")[["line", "dept_code", "project_name"]].itertuples(
            index=False):
        k = taken.get((dept, nm), 0)
        taken[(dept, nm)] = k + 1
        if k == 0:
            names_by_line[ln] = nm
        else:
            suffix = numerals[k] if k < 10 else str(k + 1)
            names_by_line[ln] = f"{nm}（{suffix}）"
    df["project_name"] = df["line"].map(names_by_line)
    assert not df.duplicated(["project_id", "year"]).any()
    return df.sort_values(["year", "project_id"]).reset_index(drop=True)
