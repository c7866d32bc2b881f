"""A report's editions (issue 19): what changed since the previous published edition of the same
report (same notebook and parameters: the same unit), and the small history of facts it is computed
from.

The history is a private member of the report's publication unit (:mod:`.units`: written into the
version folder, never linked): each publication copies the previous history forward and appends its
own entry, so it is switched in with the facts it describes by the same rename and a crash can never
leave it disagreeing with the published ``.facts.json`` (SECURITY.md §4). A report published before
the history existed has its current ``.facts.json`` as its previous edition.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from . import units
from .leaks import leak_error

HISTORY = ".history.jsonl"  # the unit's private member: one JSON line per edition, oldest first
HISTORY_KEEP = 24  # editions kept (two years of monthly runs)


def previous_edition(folder: Path, key: str) -> dict | None:
    """The report's current published edition ({rendered_at, load_id, publication, facts}), or None
    (never published, withdrawn, or its files unreadable)."""
    m = units.manifest(folder, key)
    version = units.current_version(folder, key)
    if m is None or version is None or m.get("kind") != "report":
        return None
    lines = history_lines(folder, key)
    if lines:
        return json.loads(lines[-1])
    try:
        doc = json.loads((version / f"{key}.facts.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return {"rendered_at": doc.get("rendered_at"), "load_id": doc.get("load_id"),
            "publication": m.get("version"), "facts": doc.get("facts") or {}}


def history_lines(folder: Path, key: str) -> list[str]:
    """The history of the report's current edition (JSON lines, oldest first; [] without one)."""
    version = units.current_version(folder, key)
    path = version / HISTORY if version is not None else None
    if path is None or not path.is_file():
        return []
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return a == b
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def fact_changes(old: dict, new: dict) -> dict[str, dict]:
    """{fact: {old, new, diff}} of the facts whose value differs (one side missing: None there);
    ``diff`` is new − old where both are numbers, else None."""
    out = {}
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if k in old and k in new and _same(a, b):
            continue
        out[k] = {"old": a, "new": b, "diff": b - a if _number(a) and _number(b) else None}
    return out


def changes_doc(previous: dict | None, facts: dict, load_id: int | None) -> dict | None:
    """The ``changes`` of a new edition against ``previous`` (None for a first edition)."""
    if previous is None:
        return None
    return {"since": previous.get("rendered_at"), "previous_load_id": previous.get("load_id"),
            "load_id": load_id, "facts": fact_changes(previous.get("facts") or {}, facts)}


def summary(changes: dict | None, headline: str | None) -> dict | None:
    """What the index shows (kept in the unit's manifest): how many facts moved, since when, and
    the headline fact's move (None when it did not move or the report has none)."""
    if changes is None:
        return None
    moved = changes["facts"]
    head = dict(moved[headline], fact=headline) if headline in moved else None
    return {"since": changes["since"], "count": len(moved), "headline": head}


def stamp(folder: Path, key: str, outputs: dict[str, bytes], publication: str, secrets: list[str],
          headline: str | None) -> tuple[dict[str, bytes], dict | None]:
    """Under the report's lock: add ``changes`` to the ``.facts.json`` of ``outputs`` against the
    current edition, and the unit's history with this edition appended. Returns the private members
    ({HISTORY: bytes}) and the index summary. Raises ``ValueError`` when an earlier edition's value
    would write a classified name (the report then fails rather than publish it)."""
    doc = json.loads(outputs[".facts.json"].decode("utf-8"))
    previous = previous_edition(folder, key)
    changes = changes_doc(previous, doc["facts"], doc.get("load_id"))
    doc["changes"] = changes
    data = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    error = leak_error({".facts.json": data}, secrets)
    if error is not None:
        raise ValueError(error)
    outputs[".facts.json"] = data
    entry = {"rendered_at": doc.get("rendered_at"), "load_id": doc.get("load_id"), "publication": publication,
             "facts": doc["facts"]}
    lines = history_lines(folder, key) if previous is not None else []
    if previous is not None and not lines:  # published before the history existed: its facts start it
        lines = [json.dumps(previous, ensure_ascii=False, sort_keys=True)]
    lines = lines[-(HISTORY_KEEP - 1):]
    lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True))
    return {HISTORY: ("\n".join(lines) + "\n").encode("utf-8")}, summary(changes, headline)
