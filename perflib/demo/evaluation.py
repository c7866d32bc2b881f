"""Evaluations: the 2021–2022 self-evaluations (绩效自评, with indicator actuals and reported scores,
some inflated) and the 16 key evaluations of 2023 (重点评价, exact request and cut totals).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibration import (
    FEN,
    KEY_EVALUATIONS,
    KEYEVAL_CUT,
    KEYEVAL_FINDINGS,
    KEYEVAL_GRADES,
    KEYEVAL_REQUEST,
    KEYEVAL_SCORE_BANDS,
    QUALITATIVE_GRADES,
    YEAR,
)
from .money import effective, scale_to_total
from .targets import num_text


# --- self-evaluations ---------------------------------------------------------------------------
@dataclass
class SelfEvaluations:
    """The 绩效自评 and 自评指标 tables, the project targets of the evaluated years with their
    ``actual_value`` (monitoring reuses them for December), and how many scores were inflated."""

    table: pd.DataFrame
    indicators: pd.DataFrame
    actuals: pd.DataFrame
    inflated: int


def draw_self_evaluations(rng: np.random.Generator, p: pd.DataFrame, proj_targets: pd.DataFrame
                          ) -> SelfEvaluations:
    """Self-evaluations of the evaluated 2021–2022 projects: an actual for each indicator, the
    satisfaction, and a reported score near the justified one (about 5 % more than 5 points above)."""
    ev = p[(p["year"] < YEAR) & p["evaluated"] & (p["group"] != "classified")].copy()
    t = proj_targets[proj_targets["year"] < YEAR].copy()
    t = t[t.set_index(["project_id", "year"]).index.isin(ev.set_index(["project_id", "year"]).index)]
    t["actual_value"] = [_actual(rng, d, v, u) for d, v, u in
                         zip(t["direction"], t["target_value"], t["unit"])]
    # satisfaction: the 满意度 indicator's actual where there is one, else a survey figure or empty
    sat_t = t[t["level1"] == "满意度指标"]
    sat_ind = dict(zip(zip(sat_t["project_id"], sat_t["year"]), sat_t["actual_value"]))
    has_targets = set(zip(t["project_id"], t["year"]))
    justified = _justified_scores(t, ev)
    sat, score = [], []
    for pid, year, j in zip(ev["project_id"], ev["year"], justified):
        key = (pid, year)
        if key in sat_ind:
            v = sat_ind[key]
            sat.append(float(v) if v is not None else None)
        elif key in has_targets:
            sat.append(None)
        else:
            sat.append(None if rng.random() < 0.2 else round(float(rng.uniform(78, 99)), 1))
        score.append(j)
    ev["satisfaction"] = sat
    justified = np.array(score, dtype=float)
    no_ind = np.array([(pid, y) not in has_targets for pid, y in zip(ev["project_id"], ev["year"])])
    justified[no_ind] = np.clip(justified[no_ind] + rng.uniform(0, 8, no_ind.sum()), 0, 100)
    reported = justified + rng.normal(0, 1.2, len(ev))
    # about 5 % of the projects with indicators report more than 5 points above what they justify
    inflate = (rng.random(len(ev)) < 0.1) & (justified < 93) & ~no_ind
    inflate |= (rng.random(len(ev)) < 0.03) & (justified < 90) & no_ind
    room = np.maximum(100 - justified, 6.0)
    reported[inflate] = justified[inflate] + rng.uniform(5.8, np.minimum(room[inflate], 15.0))
    ev["reported_score"] = np.round(np.clip(reported, 0, 100), 1)
    ev["spent_amount_fen"] = ev["spent_fen"]
    se = ev[["project_id", "year", "spent_amount_fen", "satisfaction", "reported_score"]]
    se = se.astype({"satisfaction": "Float64"}).reset_index(drop=True)
    ind = t[["project_id", "year", "indicator", "actual_value"]].reset_index(drop=True)
    return SelfEvaluations(table=se, indicators=ind, actuals=t, inflated=int(inflate.sum()))


def _actual(rng: np.random.Generator, direction: str, target: str, unit: str) -> str | None:
    """A year-end actual value for an indicator (some missing, some over-achieved)."""
    u = rng.random()
    if u < 0.03:
        return None
    if direction == "定性":
        return QUALITATIVE_GRADES[rng.choice(4, p=[0.55, 0.30, 0.12, 0.03])]
    t = float(target)
    if direction == "=":
        return num_text(t if rng.random() < 0.85 else t - rng.integers(1, 8))
    if direction == "≤":
        return num_text(round(t * (rng.uniform(0.6, 1.0) if rng.random() < 0.8
                                   else rng.uniform(1.0, 1.3)), 1))
    if unit == "%":
        hi = min(100.0, t * 1.08)
        v = rng.uniform(t, hi) if rng.random() < 0.78 else rng.uniform(t * 0.85, t)
        return num_text(round(v, 1))
    if u < 0.09:
        return num_text(round(t * rng.uniform(1.25, 1.8)))
    if u < 0.72:
        return num_text(round(t * rng.uniform(1.0, 1.15)))
    return num_text(round(t * rng.uniform(0.55, 1.0)))


def _indicator_fraction(direction: str, target: str, actual: str | None) -> float:
    """Share of an indicator's points its actual earns (mirrors SPEC's self-evaluation rule)."""
    if actual is None:
        return 0.0
    if direction == "定性":
        return {"优": 1.0, "良": 0.8, "中": 0.6, "差": 0.0}.get(actual, 0.0)
    t, a = float(target), float(actual)
    if direction == "≥":
        return 1.0 if a >= t else (a / t if t else 1.0)
    if direction == "≤":
        return 1.0 if a <= t else (t / a if a else 1.0)
    return 1.0 if a == t else (min(a, t) / max(a, t) if max(a, t) else 1.0)


def _justified_scores(ind: pd.DataFrame, ev: pd.DataFrame) -> np.ndarray:
    """The score each evaluated project's data justifies: execution 10 + indicators 90 (产出 50,
    效益 30, 满意度 10; a missing level's points go to 产出/效益 pro rata). Projects without
    indicators get execution points plus a plausible 75–90 % of the 90 indicator points."""
    budget = effective(ev).to_numpy(float)
    execution = np.where(budget > 0, np.minimum(ev["spent_fen"].to_numpy(float) / np.where(
        budget > 0, budget, 1), 1.0), 0.0) * 10
    ind = ind.copy()
    ind["lvl"] = ind["level1"].replace({"成本指标": "产出指标"})
    ind["frac"] = [_indicator_fraction(d, t, a) for d, t, a in
                   zip(ind["direction"], ind["target_value"], ind["actual_value"])]
    ind["w"] = ind["weight"].astype(float)
    ind["earned"] = ind["frac"] * ind["w"]
    lv = ind.groupby(["project_id", "year", "lvl"])[["earned", "w"]].sum()
    lv["share"] = lv["earned"] / lv["w"]
    share = lv["share"].unstack("lvl")
    shares = {key: {lvl: v for lvl, v in zip(share.columns, vals)}
              for key, vals in zip(share.index, share.to_numpy())}
    points = {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0}
    out = []
    rng_default = np.linspace(0.78, 0.92, len(ev)) if len(ev) else []
    for k, (pid, year) in enumerate(zip(ev["project_id"], ev["year"])):
        if (pid, year) not in shares:
            out.append(execution[k] + 90 * rng_default[k])
            continue
        row = shares[(pid, year)]
        present = {lvl: pts for lvl, pts in points.items() if lvl in row and pd.notna(row[lvl])}
        missing = sum(pts for lvl, pts in points.items() if lvl not in present)
        base = sum(present[lvl] for lvl in ("产出指标", "效益指标") if lvl in present)
        total = 0.0
        for lvl, pts in present.items():
            extra = missing * pts / base if lvl in ("产出指标", "效益指标") and base else 0.0
            total += row[lvl] * (pts + extra)
        out.append(execution[k] + total)
    return np.array(out)


# --- key evaluations ----------------------------------------------------------------------------
def draw_key_evaluations(rng: np.random.Generator, p: pd.DataFrame) -> pd.DataFrame:
    """16 key evaluations of 2023 with next-year request and approval (exact seed totals)."""
    ke = p[(p["year"] == YEAR) & (p["group"] == "key_eval")].set_index("project_name")
    names = [n for _, n, _ in KEY_EVALUATIONS]
    domains = {n: d for _, n, d in KEY_EVALUATIONS}
    grades = list(KEYEVAL_GRADES)
    order = rng.permutation(len(names))
    grade_of = {names[i]: grades[k] for k, i in enumerate(order)}
    budget = np.array([int(effective(ke.loc[[n]]).iloc[0]) for n in names], dtype=float)
    g = np.array([grade_of[n] for n in names])
    request, cut = _requests_and_cuts(rng, g, budget)
    rows = []
    for i, n in enumerate(names):
        s = _scores(rng, g[i])
        findings = KEYEVAL_FINDINGS[g[i]][rng.integers(len(KEYEVAL_FINDINGS[g[i]]))]
        rows.append(dict(project_id=ke.loc[n, "project_id"], year=YEAR, domain=domains[n],
                         score_decision=s[0], score_process=s[1], score_output=s[2],
                         score_effect=s[3], next_request_fen=int(request[i]),
                         next_approved_fen=int(request[i] - cut[i]), findings=findings))
    return pd.DataFrame(rows)


def _requests_and_cuts(rng: np.random.Generator, g: np.ndarray, budget: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Next-year requests (Σ = the seed's request) and cuts (Σ = the seed's 1.92 亿元) of the key
    evaluations with grades ``g``: 差 projects ask for much more, so their cuts carry most of it."""
    wan = 10_000 * FEN
    mid = g == "中"
    good = np.flatnonzero(g == "良")
    poor = np.flatnonzero(g == "差")
    share = np.array([{"优": 0.5, "良": 0.6, "中": 0.7, "差": 3.2}[x] for x in g])
    for _ in range(100):
        raw = share * (budget / budget.mean()) ** 0.3 * rng.uniform(0.8, 1.2, 16)
        request = scale_to_total(raw, KEYEVAL_REQUEST * FEN, step=wan)
        cut = np.zeros(16, dtype=np.int64)
        cut[mid] = (np.rint(request[mid] * rng.uniform(0.08, 0.12, mid.sum()) / wan) * wan
                    ).astype(np.int64)
        # departures from the suggested cut: one 良 cut by 5 %, one 中 not cut at all
        cut[good[0]] = int(round(request[good[0]] * 0.05 / wan)) * wan
        cut[np.flatnonzero(mid)[-1]] = 0
        rest = KEYEVAL_CUT * FEN - int(cut.sum())
        cut[poor] = scale_to_total(request[poor].astype(float), rest, step=wan)
        rates = cut[poor] / request[poor]
        if ((rates >= 0.3) & (rates <= 0.8)).all():
            return request, cut
    raise RuntimeError("could not calibrate key evaluation cuts")  # pragma: no cover


def _scores(rng: np.random.Generator, grade: str) -> np.ndarray:
    """The four part scores (决策 20, 过程 20, 产出 30, 效益 30) of a key evaluation graded ``grade``."""
    lo, hi = KEYEVAL_SCORE_BANDS[grade]
    for _ in range(100):
        total = rng.uniform(lo, hi)
        f = np.clip(total / 100 + rng.normal(0, 0.05, 4), 0.2, 1.0)
        s = np.round(f * np.array([20, 20, 30, 30]), 1)
        if lo <= s.sum() < hi + 0.5 and (s.sum() >= 90) == (grade == "优") and \
                (s.sum() >= 80) == (grade in "优良") and (s.sum() >= 60) == (grade != "差"):
            return s
    raise RuntimeError("score draw failed")  # pragma: no cover
