"""Writing the public disclosure package (``perflib publish``): build the pages and the workbook,
scan every file for classified names and codes (the reports' leak scan, :mod:`.leaks`), then
publish the folder atomically: written whole into a hidden temp folder beside ``out``, fsynced, and
renamed into place (a previous package is renamed aside first and removed after), so that ``out``
never holds half a package. ``disclosure.json`` records the count (fact ``disclosure.items``), its
definition, the year and the publication time; ``perflib run overview --text 八=<out>/disclosure.json``
cites it in section 八 of the 情况说明.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, files
from ..exceptions import DisclosureLeak, ParameterError
from .leaks import leak_error

FACTS_NAME = "disclosure.json"
FACT = "disclosure.items"


@dataclass
class Written:
    out: Path
    year: int
    items: dict
    total: int
    published_at: str
    files: list[str]
    sentence: str


def build_package(store, year: int, rules, published_at: str) -> tuple[dict[str, bytes], dict]:
    """{file name: bytes} of the package and its ``disclosure.json`` document."""
    from ..analysis.disclosure import disclosure
    from ..present.disclosure import ITEM_DEFINITION, XLSX_NAME, items_sentence, pages, selfeval_note, workbook
    from ..present.names import district_name

    d = disclosure(store, year, rules)
    published = published_at[:10]
    contents = pages(d, district=district_name(store, rules), published=published)
    contents[XLSX_NAME.format(year=d.year)] = workbook(d)
    doc = {"year": d.year, "selfeval_year": d.selfeval_year, "published_at": published_at,
           "perflib_version": __version__, "items": d.items(), "facts": {FACT: d.total_items()},
           "scopes": {FACT: ITEM_DEFINITION}, "selfeval_note": selfeval_note(d),
           "sentence": items_sentence(d), "files": sorted(contents)}
    contents[FACTS_NAME] = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    return contents, doc


def check_year(store, year: int | None) -> int:
    """``year`` (default: the latest in the store) when the store has projects of it, else ParameterError."""
    years = store.years()
    y = year if year is not None else (years[-1] if years else None)
    if y is None or y not in years:
        raise ParameterError(f"参数 --year：数据中没有 {y} 年的项目，未写入任何内容"
                             f"（已有年度：{'、'.join(map(str, years)) or '无'}）")
    return int(y)


def publish_folder(out: Path, contents: dict[str, bytes]) -> None:
    """Write ``contents`` as the folder ``out`` in one rename (see the module docstring)."""
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"参数 --out：{out} 已存在且不是文件夹，未写入任何内容")
    sweep_dead(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp", dir=out.parent))
    old = None
    try:
        for name, data in contents.items():
            files.atomic_write_bytes(tmp / name, data)
        os.chmod(tmp, 0o755)
        files.fsync_dir(tmp)
        if out.exists():
            old = out.parent / f".{out.name}.{os.getpid()}.old.tmp"
            os.replace(out, old)
        os.replace(tmp, out)
        files.fsync_dir(out.parent)
    except BaseException:
        if old is not None and old.exists() and not out.exists():
            os.replace(old, out)  # put the previous package back
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def sweep_dead(out: Path) -> None:
    """Remove the temp folders a killed ``perflib publish`` into ``out`` left (its pid is gone)."""
    for p in out.parent.glob(f".{out.name}.*.tmp"):
        pid = p.name[len(out.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            continue


def write_disclosure(db, year: int | None, out: Path, rules) -> Written:
    """Build, scan and publish the package of ``year`` into ``out``; raises before writing anything
    when the year is unknown or a classified name or code is in any file."""
    from ..rules import now_text
    from ..store import Store

    with Store(db) as store:
        y = check_year(store, year)
        with Store(db, redact=False) as raw:
            secrets = sorted(raw.classified_names(), key=len, reverse=True)
        published_at = now_text(rules.value("report.timezone"))
        contents, doc = build_package(store, y, rules, published_at)
    error = leak_error(contents, secrets)
    if error is not None:
        raise DisclosureLeak(error.replace("报告未发布", "绩效信息公开包未写入"))
    publish_folder(out, contents)
    return Written(out=Path(out), year=y, items=doc["items"], total=doc["facts"][FACT],
                   published_at=published_at, files=sorted(contents), sentence=doc["sentence"])

