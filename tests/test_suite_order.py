"""The order the two xdist workers take the modules in (``conftest``): modules holding slow tests
first, in the order collected, so that the short modules fill the end of a run."""
from __future__ import annotations

from types import SimpleNamespace

from conftest import pytest_collection_modifyitems


class _Item:
    def __init__(self, module: str, slow: bool):
        self.module = SimpleNamespace(__name__=module)
        self.slow = slow

    def get_closest_marker(self, name):
        return object() if name == "slow" and self.slow else None


def test_modules_holding_slow_tests_come_first_each_in_its_own_order():
    items = [_Item("a", False), _Item("b", False), _Item("b", True), _Item("c", False), _Item("d", True),
             _Item("e", False)]
    pytest_collection_modifyitems(None, items)
    assert [(i.module.__name__, i.slow) for i in items] == [
        ("b", False), ("b", True), ("d", True), ("a", False), ("c", False), ("e", False)]


def test_xdist_hands_the_modules_out_in_that_order(pytestconfig):
    """xdist's default would sort the modules by how many tests they hold (``--loadscope-reorder``)."""
    if pytestconfig.pluginmanager.hasplugin("xdist"):
        assert pytestconfig.option.loadscopereorder is False
    else:  # without xdist nothing reorders: the option does not exist
        assert not hasattr(pytestconfig.option, "loadscopereorder")
