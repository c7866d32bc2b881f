"""Exact money in integer fen: splitting a total over rows so that every calibrated sum is exact,
a project's effective budget, and fen as 元 text. Shared by the generator steps and the writers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .calibration import FEN


def scale_to_total(raw: np.ndarray, total: int, step: int = 100 * FEN) -> np.ndarray:
    """Integer amounts proportional to ``raw``, rounded to ``step`` fen, summing exactly to ``total``."""
    raw = np.asarray(raw, dtype=float)
    if len(raw) == 0:
        if total:
            raise ValueError("nothing to carry a non-zero total")
        return np.zeros(0, dtype=np.int64)
    x = raw / raw.sum() * total
    out = (np.rint(x / step) * step).astype(np.int64)
    out[np.argmax(out)] += total - out.sum()
    if (out < 0).any():
        raise ValueError("calibration produced a negative amount")
    return out


def scale_to_total_signed(raw: np.ndarray, total: int, step: int) -> np.ndarray:
    """Signed integer amounts proportional to ``raw`` (rounded to ``step``) summing to ``total``."""
    s = raw.sum()
    x = raw / s * total if s != 0 else np.full(len(raw), total / len(raw))
    out = (np.rint(x / step) * step).astype(np.int64)
    out[np.argmax(np.abs(out))] += total - out.sum()
    return out


def split_groups(group: np.ndarray, weight: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Split ``totals[g]`` (fen) over the rows of each group in proportion to ``weight``, exactly.

    ``group`` must be sorted (rows of a group contiguous). Cumulative rounding keeps every share
    non-negative and each group's shares summing exactly to its total.
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = np.asarray(weight, dtype=float)
    start = np.r_[True, group[1:] != group[:-1]]
    last = np.r_[group[1:] != group[:-1], True]
    gid = np.cumsum(start) - 1
    cs = np.cumsum(w)
    before = (cs - w)[start][gid]
    end = cs[last][gid]
    span = end - before
    frac = np.where(span > 0, (cs - before) / np.where(span > 0, span, 1), 1.0)
    frac[last] = 1.0
    cum = np.rint(frac * totals[group]).astype(np.int64)
    prev = np.r_[0, cum[:-1]]
    prev[start] = 0
    return cum - prev


def effective(p: pd.DataFrame) -> pd.Series:
    """Budget in fen: 调整后预算数 where given, else 年初预算数."""
    adj = p["adjusted_amount_fen"]
    return adj.where(adj.notna(), p["budget_amount_fen"]).astype("int64")


def fen_text(fen: pd.Series | np.ndarray) -> pd.Series:
    """Fen → exact decimal text in 元 (e.g. 123456 → '1234.56')."""
    f = pd.Series(np.asarray(fen, dtype=np.int64))
    return (f // FEN).astype(str) + "." + (f % FEN).astype(str).str.zfill(2)
