"""User-facing errors of perflib: each carries a Chinese message an analyst can act on, and an exit code.

Exit codes follow SPEC: 0 all good, 1 a report failed, 2 bad input or arguments.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as the user sees it in Excel or a text editor.

    ``row`` is the 1-based row number in the sheet/file (the header row included), ``column`` the
    header as written in the file (Chinese where the file is Chinese).

    ``kind`` is None for an error that always refuses the export, else a finding kind of
    :data:`perflib.schema.FINDING_KINDS` (graded by the rules file or ``--strict``); a finding also
    names the record it is about: ``table``, ``key`` (its key values joined with "|" in the table's
    key order, "" for none), ``dept_code``, ``project_id`` and ``year`` where the table has them.
    """

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    expected: str | None = None
    kind: str | None = None
    table: str | None = None
    key: str = ""
    dept_code: str | None = None
    project_id: str | None = None
    year: int | None = None

    def location(self) -> str:
        parts = [f"文件 {self.file}"]
        if self.sheet:
            parts.append(f"工作表 {self.sheet}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"列「{self.column}」")
        return "，".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}：{self.message}"
        if self.value is not None and self.value != "":
            text += f"；值为「{self.value}」"
        if self.expected:
            text += f"；应为：{self.expected}"
        return text


class PerflibError(Exception):
    """Base of every error perflib reports to a user; ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class InputError(PerflibError):
    """The export folder has problems; every problem found is listed, not only the first."""

    def __init__(self, problems: list[Problem], summary: str | None = None):
        self.problems = list(problems)
        head = summary or f"导入数据有 {len(self.problems)} 处问题，未写入数据库（原数据库保持不变）："
        lines = [head] + [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        super().__init__("\n".join(lines))


class RulesError(PerflibError):
    """The rules file is malformed: names the key and what was expected."""


class ParameterError(PerflibError):
    """A report parameter or command-line argument is wrong; raised before any kernel starts."""


class StoreError(PerflibError):
    """The database is missing, locked or not a perflib store."""


class DisclosureLeak(PerflibError):
    """A classified name or code was found in the disclosure package: nothing was written."""

    exit_code = 1


class ReportFailed(PerflibError):
    """One or more reports failed to render; the others were rendered."""

    exit_code = 1


# --- "did you mean": the closest known names to a typo, for every "no such …" message -------------
def _similarity(word: str, name: str) -> float:
    """How alike two names are, 0–1: the mean of difflib's sequence ratio (order, for Latin typos
    such as ``overveiw``) and the characters they share (a multiset Dice coefficient, which works
    for Chinese names such as 区卫健委/区卫健局); a name containing the word scores at least 0.8."""
    import difflib
    from collections import Counter

    a, b = word.casefold(), name.casefold()
    if not a or not b:
        return 0.0
    seq = difflib.SequenceMatcher(None, a, b).ratio()
    shared = sum((Counter(a) & Counter(b)).values())
    score = (seq + 2 * shared / (len(a) + len(b))) / 2
    return max(score, 0.8) if a in b else score


def closest(word: str, names, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The ``n`` known ``names`` most like ``word`` (best first; ties in the given order), those
    scoring at least ``cutoff``. ``closest("区卫健委", ["区教体局", "区卫健局"]) == ["区卫健局"]``."""
    word = str(word).strip()
    scored = [(_similarity(word, str(x)), i, str(x)) for i, x in enumerate(dict.fromkeys(map(str, names)))]
    scored = [s for s in scored if s[0] >= cutoff and s[2] != word]
    return [x for _, _, x in sorted(scored, key=lambda s: (-s[0], s[1]))[:n]]


def did_you_mean(word: str, names, n: int = 3) -> str:
    """「您是否要找：区卫健局？」 for the closest names, or "" when none is close."""
    near = closest(word, names, n)
    return f"您是否要找：{'、'.join(near)}？" if near else ""
