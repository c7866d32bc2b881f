"""Synthetic budget-system export calibrated to the seed report (历城区 2023 年预算绩效管理情况说明).

``write_demo(out_dir, seed)`` writes a folder that looks like what a finance bureau exports from its
budget system (Chinese headers, some xlsx and some csv, one csv in GBK, one money column in 万元,
a trailing 合计 row, one workbook with two sheets). Whatever the seed, the SPEC computations on it give
exactly the seed's figures (511 projects with targets, 609 monitored projects with 936,947 万元 …);
names, distributions and indicators vary with the seed. Money is handled in integer fen (分) so
that every calibrated sum is exact.

The package follows the data: ``calibration`` (the seed's figures and name lists) → ``district``
(``build_demo``, running the steps in ``projects``, ``costs``, ``budgets``, ``targets``,
``evaluation``, ``monitoring``, ``fiscal``) → ``export`` (the folder); ``province`` tiles the
district demo over many districts. This module is the public face and defines ``write_demo``.
"""
from __future__ import annotations

from pathlib import Path

from ..exceptions import ParameterError
from .district import DemoData, build_demo
from .export import write_export
from .money import scale_to_total, split_groups
from .province import PROVINCE_DISTRICTS, PROVINCE_FILE_ROWS, write_province

__all__ = ["DEMO_DISTRICT", "DEMO_BUREAU", "DemoData", "PROVINCE_DISTRICTS", "build_demo", "demo_rules_path",
           "scale_to_total", "split_groups", "write_demo", "write_demo_rules", "write_export", "write_province"]

# The seed's district and bureau. Their names are not in the demo data (departments are 「区教体局」 …),
# so the demo writes them into a rules file next to the export: `perflib run --rules` it (make reports).
DEMO_DISTRICT = "历城区"
DEMO_BUREAU = "历城区财政局"


def demo_rules_path(out_dir: str | Path) -> Path:
    """The demo's rules file, next to (not inside) the export folder: ``data/demo`` → ``data/demo.rules.yaml``
    (an export folder holds data files only)."""
    out = Path(out_dir)
    return out.parent / f"{out.name}.rules.yaml"


def write_demo_rules(out_dir: str | Path) -> Path:
    """Write the demo's rules file (``report.district`` / ``report.bureau`` of the seed); returns its path."""
    path = demo_rules_path(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# 演示数据的规则文件：只填区名和财政部门名称，其余规则取 perflib 默认值\n"
        "report:\n"
        f"  district:\n    value: {DEMO_DISTRICT}\n    source: 演示数据（情况说明所属的区）\n    status: local practice\n"
        f"  bureau:\n    value: {DEMO_BUREAU}\n    source: 演示数据（情况说明的行文单位）\n    status: local practice\n",
        encoding="utf-8")
    return path


def write_demo(out_dir: str | Path, seed: int = 0, scale: str = "district", *,
               districts: int | None = None, file_rows: int | None = None) -> Path:
    """Write a synthetic export folder calibrated to the seed report.

    Parameters
    ----------
    out_dir : the folder to write (created if needed; existing demo files are overwritten); the district
        demo also writes its rules file next to it (:func:`demo_rules_path`: the district's name).
    seed : random seed; any seed reproduces the seed report's figures, names and details vary.
    scale : ``district`` (about 3,100 projects over 2021–2023) or ``province`` (the same shape for
        ``districts`` districts, 150 by default: about 470,000 project-years and 15 million payments;
        see :func:`write_province`).
    districts, file_rows : province only — the number of districts and the most payment rows per
        ``支出明细-NNN.csv`` file (tests shrink them). The defaults are read from this module's
        ``PROVINCE_DISTRICTS`` and ``PROVINCE_FILE_ROWS`` at call time (tests patch them here).
    """
    if scale not in ("district", "province"):
        raise ParameterError(f"未知的规模「{scale}」；应为 district 或 province。")
    out = Path(out_dir)
    if scale == "province":
        write_province(out, int(seed), districts=PROVINCE_DISTRICTS if districts is None else districts,
                       file_rows=PROVINCE_FILE_ROWS if file_rows is None else file_rows)
        return out
    write_export(build_demo(int(seed)), out)
    write_demo_rules(out)
    return out
