"""Transitional: the demo generator moved here whole (``district.py``); the next commit splits it."""
from .district import (  # noqa: F401
    PROVINCE_DISTRICTS,
    DemoData,
    _scale_to_total,
    _split_groups,
    build_demo,
    write_demo,
    write_export,
)
