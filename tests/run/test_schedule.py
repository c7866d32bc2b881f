"""The order reports are handed to the workers (``publish.longest_first``): longest first, so that
two workers finish together; a run's results are still listed in the planned order."""
from __future__ import annotations

import json
from types import SimpleNamespace

from perflib.run.publish import INDEX_STATE, longest_first


def _jobs(*stems):
    return [SimpleNamespace(stem=f"2023/{s}", notebook=s.split("-")[0]) for s in stems]


PLANNED = ("coverage", "fiscal-东风", "fiscal-华山", "fiscal-全福", "cost-道路保洁", "cost-物业管理", "overview")


def test_without_an_index_single_reports_come_first_and_fan_outs_last(tmp_path):
    order = [j.stem.split("/")[1] for j in longest_first(tmp_path, _jobs(*PLANNED))]
    assert order == ["coverage", "overview", "cost-道路保洁", "cost-物业管理", "fiscal-东风", "fiscal-华山", "fiscal-全福"]


def test_with_an_index_the_longest_last_time_come_first(tmp_path):
    state = {"2023/coverage": {"seconds": 3.0}, "2023/fiscal-东风": {"timing": {"total": 2.5}},
             "2023/fiscal-华山": {"seconds": 2.0}, "2023/cost-道路保洁": {"seconds": 5.5},
             "2023/cost-物业管理": {"seconds": 3.5}, "2023/overview": {"seconds": 4.0},
             "2023/quality": {"seconds": 99.0}}  # not asked for this time: no matter
    (tmp_path / INDEX_STATE).write_text(json.dumps(state), "utf-8")
    order = [j.stem.split("/")[1] for j in longest_first(tmp_path, _jobs(*PLANNED, "targets"))]
    # targets never rendered (and no other targets report): first; fiscal-全福 new: the mean of its
    # notebook's, 2.25 s, between the other two streets
    assert order == ["targets", "cost-道路保洁", "overview", "cost-物业管理", "coverage", "fiscal-东风",
                     "fiscal-全福", "fiscal-华山"]


def test_an_unreadable_index_is_no_index(tmp_path):
    (tmp_path / INDEX_STATE).write_text("{not json", "utf-8")
    assert longest_first(tmp_path, _jobs(*PLANNED)) == longest_first(tmp_path / "none", _jobs(*PLANNED))
    (tmp_path / INDEX_STATE).write_text("[1, 2]", "utf-8")
    assert longest_first(tmp_path, _jobs(*PLANNED)) == longest_first(tmp_path / "none", _jobs(*PLANNED))
