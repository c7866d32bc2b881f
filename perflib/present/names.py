"""The district's and the bureau's names in titles and documents: the rules file
(``report.district``, ``report.bureau``) first, then the data, then 「本区」 (never assumed).

From the data: a name of the form 「XX区」 leading at least three department or project names
(e.g. 历城区教体局, 历城区科技局 …); department names such as 「区教体局」 carry no district name.
"""
from __future__ import annotations

import re
from collections import Counter

DISTRICT_FALLBACK = "本区"
BUREAU_SUFFIX = "财政局"
# Words that end in 区 but are not a district's name.
_NOT_DISTRICT = {"全区", "城区", "园区", "社区", "小区", "景区", "片区", "辖区", "校区", "厂区", "市区",
                 "新区", "郊区", "山区"}
_DISTRICT = re.compile(r"^([\u4e00-\u9fff]{2,3}区)")
MIN_NAMES = 3  # names that must lead with the same 「XX区」 for the data to name the district


def _rule(rules, key: str) -> str:
    if rules is None:
        return ""
    try:
        value = rules.value(key)
    except KeyError:
        return ""
    return str(value).strip() if isinstance(value, str) else ""


def district_from_data(store) -> str | None:
    """The district's name if the data shows it (see the module docstring), else None."""
    names = list(store.departments()["dept_name"].dropna().astype(str))
    years = store.years()
    if years:
        names += list(store.projects(years[-1])["project_name"].dropna().astype(str))
    counts: Counter = Counter()
    for n in set(names):
        m = _DISTRICT.match(n)
        if m and m.group(1) not in _NOT_DISTRICT:
            counts[m.group(1)] += 1
    if not counts:
        return None
    best, n = counts.most_common(1)[0]
    return best if n >= MIN_NAMES else None


def district_name(store, rules=None) -> str:
    """``report.district`` of the rules, else the name the data shows, else 「本区」."""
    return _rule(rules, "report.district") or district_from_data(store) or DISTRICT_FALLBACK


def bureau_name(store, rules=None) -> str:
    """``report.bureau`` of the rules, else 「<district>财政局」 when the district's name is known
    (rules or data), else 「本区财政局」."""
    return _rule(rules, "report.bureau") or district_name(store, rules) + BUREAU_SUFFIX
