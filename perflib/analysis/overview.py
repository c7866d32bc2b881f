"""The facts of the yearly 情况说明 (the seed report, sections 二–七): what the overview's sentences
state, gathered from the analysis modules (money in 元, rates as fractions). The sentences themselves
are drafted by :mod:`perflib.present.text.overview`; sections 一 (制度建设) and 八 (宣传与信息公开)
have no data.
"""
from __future__ import annotations

from typing import Any

from .application import application_facts, application_from_store
from .cost import cost_overview_facts
from .coverage import coverage_facts
from .evaluation import key_evaluation_totals, key_evaluations, self_evaluation, self_evaluation_summary
from .fiscal import street_overview, street_overview_facts
from .monitoring import last_complete_month, monitoring_facts
from .rectification import rectification
from .signals import signal_facts, signals_from_store

# The rectification facts section 四 states (none when the ledger has no item of the year).
RECTIFICATION_KEYS = ("rectification.items", "rectification.done", "rectification.open",
                      "rectification.overdue", "rectification.as_of")

# The coverage facts of section 二 (targets) and section 三 (self-evaluation).
TARGET_KEYS = ("targets.projects", "targets.projects_prev", "targets.amount", "targets.coverage_count",
               "targets.coverage_amount", "departments.level1", "departments.with_targets")
SELFEVAL_KEYS = ("selfeval.projects", "selfeval.amount", "selfeval.projects_prev", "selfeval.amount_prev")


def overview_facts(store, year: int, rules) -> dict[str, Any]:
    """All facts the overview's sentences state (what its ``.facts.json`` carries): sections 二–三
    from coverage (plus the recomputed self-evaluation scores when fiscal year Y−1 was
    self-evaluated), 四 key evaluations, rectification, the conflicting signals and every stage's
    结果应用, 五 the evaluated streets, 六 monitoring up to the last complete month (none without
    one), 七 the cost standards."""
    y = int(year)
    f = coverage_facts(store, y, rules)
    out: dict[str, Any] = {k: f[k] for k in TARGET_KEYS + SELFEVAL_KEYS}
    if out["selfeval.projects"]:
        out.update(self_evaluation_summary(self_evaluation(store, y, rules)))
    out.update(key_evaluation_totals(key_evaluations(store, y, rules)))
    out.update(signal_facts(signals_from_store(store, y, rules)[0]))
    out.update(application_facts(application_from_store(store, y, rules).summary))
    out.update(street_overview_facts(street_overview(store, y, rules)[0]))
    m = last_complete_month(store, y, rules)
    if m is not None:
        out.update(monitoring_facts(store, y, int(m), rules))
    out.update(cost_overview_facts(store, y, rules))
    out.update(rectification_overview_facts(store, y))
    return out


def rectification_overview_facts(store, year: int) -> dict[str, Any]:
    """Section 四's rectification facts (:data:`RECTIFICATION_KEYS`), empty without items of ``year``."""
    facts = rectification(store, int(year))[2]
    return {k: facts[k] for k in RECTIFICATION_KEYS} if facts["rectification.items"] else {}

