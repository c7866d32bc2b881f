"""The district's and the bureau's names in titles and documents: the rules file
(``report.district``, ``report.bureau``) first, then the data, then 「本区」 (never assumed).

From the data: a name of the form 「XX区」 leading at least three department or project names
(e.g. 历城区教体局, 历城区科技局 …) and most of the names that lead with a district's name;
department names such as 「区教体局」 carry no district name, and a store of several districts names none.
"""
from __future__ import annotations

from ..pandas_speed import arrow_strings

DISTRICT_FALLBACK = "本区"
BUREAU_SUFFIX = "财政局"
# Words that end in 区 but are not a district's name.
_NOT_DISTRICT = {"全区", "城区", "园区", "社区", "小区", "景区", "片区", "辖区", "校区", "厂区", "市区",
                 "新区", "郊区", "山区"}
_DISTRICT = "^(?P<district>[\u4e00-\u9fff]{2,3}区)"  # a name leading with 「XX区」 (Arrow's RE2 syntax)
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
    """The district's name if the data shows it (see the module docstring): one 「XX区」 leading at
    least :data:`MIN_NAMES` distinct department or project names and more than half of all the names
    that lead with a district's name. A store of several districts (a province's: 113 names leading
    104 names each) names none, rather than whichever came first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [store.departments()["dept_name"]]
    years = store.years()
    if years:
        columns.append(store.projects(years[-1])["project_name"])
    texts = pc.unique(pa.chunked_array([arrow_strings(c).cast(pa.large_string()) for c in columns],
                                       type=pa.large_string()))
    led = pc.struct_field(pc.extract_regex(texts, _DISTRICT), [0]).drop_null()
    led = led.filter(pc.invert(pc.is_in(led, pa.array(sorted(_NOT_DISTRICT), pa.large_string()))))
    found = pc.value_counts(led)
    counts = dict(zip(found.field("values").to_pylist(), found.field("counts").to_pylist()))
    if not counts:
        return None
    best = max(counts, key=counts.get)
    n = counts[best]
    return best if n >= MIN_NAMES and 2 * n > sum(counts.values()) else None


def district_name(store, rules=None) -> str:
    """``report.district`` of the rules, else the name the data shows, else 「本区」."""
    return _rule(rules, "report.district") or district_from_data(store) or DISTRICT_FALLBACK


def bureau_name(store, rules=None) -> str:
    """``report.bureau`` of the rules, else 「<district>财政局」 when the district's name is known
    (rules or data), else 「本区财政局」."""
    return _rule(rules, "report.bureau") or district_name(store, rules) + BUREAU_SUFFIX
