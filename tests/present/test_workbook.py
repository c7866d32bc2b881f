"""The fast .xlsx writer, read back with openpyxl (an independent reader) and pandas.read_excel."""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perflib.present import xlsx as workbook
from perflib.present.xlsx import write_xlsx

# the documented replacement, written out here independently: XML 1.0 forbids these characters
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def expected_text(s: str) -> str:
    return FORBIDDEN.sub("\ufffd", s)


def load(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


SPECIAL = ["=SUM(A1)", "<b>&", "a\x01b\x1fc", "中文项目名称", "", " 前后空格 ", "\r\n行\r", "x\x00y",
           "@cmd", "+1", "http://x", '"引号"\'', "]]>", "\t", "_x0041_", "\ufffe"]
texts = st.one_of(st.none(), st.sampled_from(SPECIAL), st.text(max_size=12))
ints = st.integers(min_value=-(2**53), max_value=2**53)
floats = st.one_of(st.sampled_from([0.1 + 0.2, 1e15, -1e15, -2.5, 1e-7, 123456789.123, -0.0, math.nan]),
                   st.floats(allow_nan=True, allow_infinity=False))
stamps = st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
                   .map(lambda d: d.replace(microsecond=0)))
days = st.one_of(st.none(), st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)))


@st.composite
def frames(draw):
    n = draw(st.integers(min_value=0, max_value=15))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    return pd.DataFrame({
        "文本": pd.Series(col(texts), dtype=object),
        "整数": pd.Series(col(ints), dtype="int64"),
        "小数": pd.Series(col(floats), dtype="float64"),
        "是否": pd.Series(col(st.booleans()), dtype=bool),
        "时间": pd.to_datetime(pd.Series(col(stamps), dtype=object)),
        "日期": pd.Series(col(days), dtype=object),
        "<表头>&": pd.Series(col(st.one_of(texts, floats)), dtype=object),  # mixed text and numbers
    })


def expected_value(v):
    """What a cell must read back as (None for no cell), written independently of the writer."""
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return expected_text(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    return v


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.integers(min_value=1, max_value=5))
def test_round_trip_through_openpyxl(df, chunk):
    old = workbook.CHUNK_ROWS
    workbook.CHUNK_ROWS = chunk  # several chunks: rows joined across chunk boundaries
    try:
        data = write_xlsx([("数据", df)])
    finally:
        workbook.CHUNK_ROWS = old
    ws = load(data)["数据"]
    assert [c.value for c in ws[1]] == list(df.columns)
    for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
        for j, v in enumerate(row, start=1):
            got = ws.cell(row=i, column=j).value
            want = expected_value(v)
            if isinstance(want, float) and not isinstance(want, bool):
                assert got == want and type(got) in (int, float), (i, j, v, got)
            else:
                assert got == want, (i, j, v, got)
                if isinstance(want, bool):
                    assert type(got) is bool


def test_text_never_becomes_a_formula_or_number():
    df = pd.DataFrame({"a": ["=SUM(A1)", "1", "TRUE", "http://x"]})
    ws = load(write_xlsx([("s", df)]))["s"]
    assert [ws.cell(row=i, column=1).value for i in range(2, 6)] == ["=SUM(A1)", "1", "TRUE", "http://x"]
    assert all(ws.cell(row=i, column=1).data_type == "s" for i in range(2, 6))
    xml = zipfile.ZipFile(io.BytesIO(write_xlsx([("s", df)]))).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and 't="s"' in xml and "<is>" not in xml.split("</row>", 1)[1]


def test_each_distinct_text_is_written_once_in_the_shared_strings():
    """Text cells of every sheet point into one shared-strings part that holds each distinct text
    once, escaped as inline text would be; the cells read back as written (openpyxl, pandas)."""
    a = pd.DataFrame({"部门": ["区卫健局", "区教育局", "区卫健局", None, " 前后空格 ", "A&B<C>\r"],
                      "n": [1, 2, 3, 4, 5, 6]})
    b = pd.DataFrame({"名称": ["区教育局", "另一个", "区卫健局"]})
    data = write_xlsx([("a", a), ("b", b)])
    z = zipfile.ZipFile(io.BytesIO(data))
    sst = z.read("xl/sharedStrings.xml").decode()
    items = re.findall(r"<si><t( xml:space=\"preserve\")?>(.*?)</t></si>", sst)
    texts = [t for _, t in items]
    assert texts == ["区卫健局", "区教育局", " 前后空格 ", "A&amp;B&lt;C&gt;&#13;", "另一个"]
    assert items[2][0] and not items[0][0]                     # edge whitespace kept
    assert 'count="8" uniqueCount="5"' in sst                  # 8 text cells, 5 distinct texts
    sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r'<c r="A\d+" t="s"><v>(\d+)</v>|<c t="s"><v>(\d+)</v>', sheet)
    wb = load(data)
    assert [c.value for c in wb["a"]["A"][1:]] == ["区卫健局", "区教育局", "区卫健局", None, " 前后空格 ", "A&B<C>\r"]
    assert [c.value for c in wb["b"]["A"][1:]] == ["区教育局", "另一个", "区卫健局"]
    assert write_xlsx([("n", pd.DataFrame({"n": [1]}))])  # no text at all: an empty shared-strings part


def test_header_bold_pane_frozen_and_widths():
    df = pd.DataFrame({"项目名称": ["很长的项目名称" * 3, "短"], "n": [1, 2], "x" * 80: [1.5, 2.5]})
    wb = load(write_xlsx([("s", df), ("t", df.head(0))]))
    ws = wb["s"]
    assert ws.freeze_panes == "A2" and wb["t"].freeze_panes == "A2"
    assert all(c.font.b for c in ws[1]) and not ws["A2"].font.b
    # min 8, 1.6 per character of the longest of header and first 200 values, max 60
    assert ws.column_dimensions["A"].width == pytest.approx(21 * 1.6)
    assert ws.column_dimensions["B"].width == pytest.approx(8)
    assert ws.column_dimensions["C"].width == pytest.approx(60)


def test_dates_and_datetimes_have_date_formats_and_timezone_is_dropped():
    df = pd.DataFrame({
        "d": pd.to_datetime(["2023-07-31", None]),
        "t": pd.to_datetime(["2023-01-01 08:30:00", "2023-01-02 00:00:00"]).tz_localize("Asia/Shanghai"),
    })
    ws = load(write_xlsx([("s", df)]))["s"]
    assert ws["A2"].value == dt.datetime(2023, 7, 31) and ws["A3"].value is None
    assert ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["B2"].value == dt.datetime(2023, 1, 1, 8, 30)  # wall-clock time kept
    assert "hh:mm" in ws["B2"].number_format


def test_missing_values_leave_no_cell_and_inf_is_blank():
    df = pd.DataFrame({"a": [None, "x"], "b": [np.nan, np.inf], "c": pd.array([None, 3], dtype="Int64")})
    xml = zipfile.ZipFile(io.BytesIO(write_xlsx([("s", df)]))).read("xl/worksheets/sheet1.xml").decode()
    row2 = re.search(r'<row r="2">(.*?)</row>', xml).group(1)
    assert row2 == ""  # no cell at all
    ws = load(write_xlsx([("s", df)]))["s"]
    assert [ws.cell(row=3, column=j).value for j in (1, 2, 3)] == ["x", None, 3]


def test_opens_with_pandas_read_excel():
    df = pd.DataFrame({"项目": ["甲", "乙", None], "金额": [1.5, None, 3.0], "年度": [2023, 2024, 2025]})
    data = write_xlsx([("一", df), ("二", df)])
    back = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
    assert list(back) == ["一", "二"]
    pd.testing.assert_frame_equal(back["一"], df, check_dtype=False)


def test_more_rows_than_excel_holds_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(workbook, "MAX_ROWS", 10)
    write_xlsx([("ok", pd.DataFrame({"a": range(9)}))])  # 9 rows + header = 10
    with pytest.raises(ValueError, match="超过 Excel"):
        write_xlsx([("big", pd.DataFrame({"a": range(10)}))])


def test_bad_or_duplicate_sheet_names_are_refused():
    df = pd.DataFrame({"a": [1]})
    for bad in (["a/b"], ["x" * 32], ["s", "S"], [""]):
        with pytest.raises(ValueError):
            write_xlsx([(n, df) for n in bad])


def test_sheet_name_with_ampersand_is_escaped():
    wb = load(write_xlsx([("A&B<1>", pd.DataFrame({"a": [1]}))]))
    assert wb.sheetnames == ["A&B<1>"]


def test_large_frame_is_written_in_chunks_and_reads_back():
    n = 70_000  # more than one chunk of CHUNK_ROWS
    df = pd.DataFrame({"code": [f"P{i:06d}" for i in range(n)], "v": np.arange(n) / 4})
    df.loc[n - 1, "code"] = None
    ws = load(write_xlsx([("s", df)]))["s"]
    assert ws.max_row == n + 1
    assert ws.cell(row=n, column=1).value == f"P{n - 2:06d}" and ws.cell(row=n, column=2).value == (n - 2) / 4
    assert ws.cell(row=n + 1, column=1).value is None and ws.cell(row=n + 1, column=2).value == (n - 1) / 4


def test_dates_before_march_1900_follow_excels_calendar():
    # Excel counts a fictitious 1900-02-29 (serial 60): 1900-01-05 is serial 5, 1900-03-01 is 61
    df = pd.DataFrame({"d": pd.to_datetime(["1900-01-05", "1900-02-28", "1900-03-01"])})
    data = write_xlsx([("s", df)])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r"<v>([^<]*)</v>", xml) == ["5", "59", "61"]
    ws = load(data)["s"]
    assert [ws.cell(row=i, column=1).value for i in (2, 3, 4)] == [
        dt.datetime(1900, 1, 5), dt.datetime(1900, 2, 28), dt.datetime(1900, 3, 1)]


def test_observe_sees_every_member_byte_for_byte_in_the_order_written(monkeypatch):
    monkeypatch.setattr(workbook, "CHUNK_ROWS", 7)  # the large sheet comes in several pieces
    df = pd.DataFrame({"名称": [f"项目{i} <&>" for i in range(30)], "金额": np.arange(30) * 1.5})
    seen: dict[str, bytearray] = {}
    order: list[str] = []

    def observe(member, data):
        seen.setdefault(member, bytearray()).extend(bytes(data))
        order.append(member)

    data = write_xlsx([("甲", df), ("乙", df.head(3))], observe=observe)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {m: bytes(b) for m, b in seen.items()} == {n: z.read(n) for n in z.namelist()}
        runs = [m for i, m in enumerate(order) if i == 0 or order[i - 1] != m]
        assert runs == z.namelist()  # each member once, whole, in the zip's order
    assert order.count("xl/worksheets/sheet1.xml") > 4
    # observing changes nothing: the same members, in the same order, byte for byte (the zip's own
    # bytes may not be the same: each member carries the time it was written, to 2 s)
    with zipfile.ZipFile(io.BytesIO(write_xlsx([("甲", df), ("乙", df.head(3))]))) as unseen, \
            zipfile.ZipFile(io.BytesIO(data)) as z:
        assert unseen.namelist() == z.namelist()
        assert all(unseen.read(n) == z.read(n) for n in z.namelist())
