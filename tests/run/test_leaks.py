"""The leak scan (`perflib.run.leaks`: `find_leaks`, `xlsx_text`) and failure-page masking (`mask`): one
Aho–Corasick pass must find exactly what a per-secret, per-form search finds."""
from __future__ import annotations

import contextlib
import html
import io
import json
import re
import time
import zipfile

import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perflib.run import leaks

CJK = "秘项目经费专保障某特殊业务"  # no character of leaks.LEAK_MASK
ESCAPED = "&<>\"'\\"
CODE_CHARS = "0123456789ABCPabcp_-"
FILLER = CJK + ESCAPED + CODE_CHARS + " ,.;:/()\n\t"


# --- an independent reference -------------------------------------------------------------------
def reference_forms(secret: str) -> set[str]:
    """Written forms of a secret: raw / HTML-escaped (quote on, off), each also JSON-escaped with
    ensure_ascii on and off."""
    forms = set()
    for h in (secret, html.escape(secret, quote=True), html.escape(secret, quote=False)):
        forms |= {h, json.dumps(h, ensure_ascii=False)[1:-1], json.dumps(h, ensure_ascii=True)[1:-1]}
    forms.discard("")
    return forms


def reference_leaks(data: bytes, secrets: list[str]) -> list[int]:
    text = data.decode("utf-8", errors="ignore")
    hits = []
    for i, s in enumerate(secrets):
        code = re.fullmatch(r"[0-9A-Za-z_\-]+", s) is not None
        for form in reference_forms(s):
            if code:
                found = re.search(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", text)
            else:
                found = form in text
            if found:
                hits.append(i)
                break
    return hits


@contextlib.contextmanager
def scan_chunk(size: int):
    """Scan in tiny chunks so that hits and UTF-8 characters straddle chunk edges."""
    old = leaks.SCAN_CHUNK
    leaks.SCAN_CHUNK = size
    try:
        yield
    finally:
        leaks.SCAN_CHUNK = old


# --- strategies ---------------------------------------------------------------------------------
names = st.text(alphabet=CJK + ESCAPED + " A1", min_size=1, max_size=6)
codes = st.text(alphabet=CODE_CHARS, min_size=1, max_size=5)


@st.composite
def secrets_and_text(draw):
    base = draw(st.lists(st.one_of(names, codes), min_size=1, max_size=6))
    secrets = list(base)
    # overlapping secrets and secrets inside other secrets
    for s in base:
        if len(s) > 1 and draw(st.booleans()):
            a = draw(st.integers(0, len(s) - 1))
            b = draw(st.integers(a + 1, len(s)))
            secrets.append(s[a:b])
    if draw(st.booleans()):
        secrets.append(secrets[0])  # the same secret twice: both indexes count
    secrets = draw(st.permutations(secrets))
    pieces = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["filler", "form", "embedded", "punctuated", "partial", "junk"]))
        if kind == "filler":
            pieces.append(draw(st.text(alphabet=FILLER, max_size=8)))
        elif kind == "junk":  # bytes that are not UTF-8 (dropped by the decoder)
            pieces.append(draw(st.sampled_from([b"\xff", b"\xe7\xa7", b"\x80", b"\xe7"])))
        else:
            s = draw(st.sampled_from(secrets))
            form = draw(st.sampled_from(sorted(reference_forms(s))))
            if kind == "embedded":  # a code inside a longer token is not a hit
                form = draw(st.sampled_from("aZ9")) + form + draw(st.sampled_from("b0Y"))
            elif kind == "punctuated":
                form = draw(st.sampled_from("<(\"- _")) + form + draw(st.sampled_from(">)\",_-"))
            elif kind == "partial":
                form = form[: draw(st.integers(0, max(0, len(form) - 1)))]
            pieces.append(form)
    data = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in pieces)
    return secrets, data


# --- find_leaks ----------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=secrets_and_text(), chunk=st.integers(1, 9))
def test_leaks_finds_exactly_what_the_per_secret_search_finds(case, chunk):
    secrets, data = case
    expected = reference_leaks(data, secrets)
    with scan_chunk(chunk):
        assert leaks.find_leaks(data, secrets) == expected
    assert leaks.find_leaks(data, secrets) == expected


@settings(max_examples=100, deadline=None)
@given(case=secrets_and_text(), cuts=st.lists(st.integers(0, 200), max_size=6))
def test_leaks_reads_an_iterable_of_chunks_like_the_joined_bytes(case, cuts):
    secrets, data = case
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    assert leaks.find_leaks(iter(chunks), secrets) == reference_leaks(data, secrets)


def test_leak_examples():
    assert leaks.find_leaks(b"x P004 y", ["P004"]) == [0]
    assert leaks.find_leaks(b"P004", ["P004"]) == [0]  # the whole text is one token
    assert leaks.find_leaks(b"P0041 aP004", ["P004"]) == []
    assert leaks.find_leaks(b"(P004)", ["P004"]) == [0]
    assert leaks.find_leaks(b"_P004-", ["P004"]) == [0]  # _ and - do not glue tokens
    assert leaks.find_leaks('\u201c某"项目\u201d'.encode(), ["X", '某"项目']) == [1]
    # facts.json (ensure_ascii=False) escapes the quote; the .ipynb holds JSON of the HTML
    assert leaks.find_leaks(json.dumps({"t": '某"项目'}, ensure_ascii=False).encode(), ['某"项目']) == [0]
    assert leaks.find_leaks(json.dumps('<某\\项>').encode(), ['<某\\项>']) == [0]
    assert leaks.find_leaks(json.dumps(html.escape('<某\\项>'), ensure_ascii=False).encode(), ['<某\\项>']) == [0]
    assert leaks.find_leaks(b"", ["P004"]) == [] and leaks.find_leaks(b"abc", []) == [] and leaks.find_leaks(b"", [""]) == []
    # both halves of a secret are secrets; the longer one and the shorter one are found
    assert leaks.find_leaks("某特殊业务经费".encode(), ["某特殊业务经费", "业务", "经费X"]) == [0, 1]


def test_a_hit_that_straddles_the_scan_chunks_is_found():
    secret = "某特殊业务经费"
    data = ("前" * 3 + secret + "后").encode()
    for chunk in range(1, 12):
        with scan_chunk(chunk):
            assert leaks.find_leaks(data, [secret]) == [0]
            assert leaks.find_leaks(b"x" * chunk + b"P004", ["P004"]) == []
            assert leaks.find_leaks(b"x" * chunk + b" P004", ["P004"]) == [0]


def _workbook(cells: list[str]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("表")
    for r, value in enumerate(cells):
        ws.write_string(r, 0, value)
    wb.add_worksheet("另一表").write_string(0, 0, "无关")
    wb.close()
    return buf.getvalue()


def test_xlsx_text_streams_the_xml_members_one_by_one():
    data = _workbook(["项目A", "<某&保障>", "370101-2023-0001"])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        joined = b"\n".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))
    with scan_chunk(5):
        assert bytes(leaks.xlsx_text(data)) == joined
        assert len(leaks.xlsx_text(data)) == len(joined)
        assert all(len(c) <= 5 for c in leaks.xlsx_text(data) if c != b"\n")
        assert leaks.find_leaks(leaks.xlsx_text(data), ["370101-2023-0001", "<某&保障>", "370101-2023-000"]) == [0, 1]
    assert leaks.find_leaks(leaks.xlsx_text(data), ["项目B", "70101-2023"]) == []


def test_many_secrets_over_megabytes_take_well_under_a_second_per_megabyte():
    # the per-secret scan took ~15 s per MB with 904 province secrets; one automaton pass ~10 ms
    secrets = [f"37{i:04d}-2023-{i:04d}" for i in range(900)] + [f"某专项{i}经费" for i in range(100)]
    row = "<row><c><is><t>370001-2023-00011 某专项1经 &lt;项目&gt;</t></is></c><v>123.45</v></row>\n"
    data = (row * (4_000_000 // len(row.encode()))).encode() + "某专项7经费".encode()
    started = time.perf_counter()
    assert leaks.find_leaks(data, secrets) == [907]
    assert time.perf_counter() - started < 4


# --- _mask -----------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(case=secrets_and_text())
def test_mask_leaves_no_form_of_any_secret(case):
    secrets, data = case
    text = data.decode("utf-8", errors="ignore")
    masked = leaks.mask(text, secrets)
    for s in secrets:
        for form in reference_forms(s):
            assert form not in masked
    if not any(form in text for s in secrets for form in reference_forms(s)):
        assert masked == text


def test_mask_prefers_the_longest_match_and_keeps_the_rest():
    mask = leaks.LEAK_MASK
    secrets = ["业务", "某特殊业务经费", "P004"]
    assert leaks.mask("甲某特殊业务经费乙 业务 P0041", secrets) == f"甲{mask}乙 {mask} {mask}1"
    assert leaks.mask("&lt;秘&gt; \\u79d8 \\\"秘", ['<秘>', '"秘', "秘"]) == f"{mask} {mask} {mask}"
    assert leaks.mask("无涉密内容", secrets) == "无涉密内容"
    assert leaks.mask("", secrets) == "" and leaks.mask("P004", []) == "P004"


# --- the workbook scanned as it is written ------------------------------------------------------
def test_a_stream_scan_finds_what_the_scan_of_the_finished_workbook_finds(monkeypatch):
    import pandas as pd

    from perflib.present import xlsx

    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 5)
    monkeypatch.setattr(leaks, "STREAM_PIECE", 7)  # names and codes cut between the pieces scanned
    df = pd.DataFrame({"名称": [f"项目{i}" for i in range(40)] + ["某<特殊>业务经费"],
                       "编码": [f"370101-2023-{i:04d}" for i in range(41)]})
    df[("合计 370102-2023-0009")] = 1.0  # a code in a header
    sheets = [("说明", df.head(2)), ("表一", df), ("表二 P004", df.tail(3))]
    cases = [["某<特殊>业务经费"], ["370101-2023-0033", "370101-2023-003"], ["370102-2023-0009"],
             ["P004", "项目39"], ["不在其中", "370101-2023"], []]
    for secrets in cases:
        with leaks.StreamScan(secrets) as scan:
            data = xlsx.write_xlsx(sheets, observe=scan.feed)
        assert scan.found() == leaks.find_leaks(leaks.xlsx_text(data), secrets), secrets
    assert [leaks.find_leaks(leaks.xlsx_text(data), s) for s in cases[:3]] == [[0], [0], [0]]


def test_a_stream_scan_takes_every_chunk_after_it_has_found_everything():
    """Once every secret is found the scan stops looking, but the writer must never wait on it."""
    import threading

    def write():
        with leaks.StreamScan(["某专项经费"], depth=1) as scan:
            scan.feed("a.xml", "某专项经费".encode())
            for _ in range(200):
                scan.feed("b.xml", b"x" * 100)
        result.append(scan.found())

    result: list = []
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(timeout=20)
    assert result == [[0]]
