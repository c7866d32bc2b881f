"""The classified-name guard: find any classified project name or code in an output before it is
published, and mask them in text that is shown anyway (failure pages, error messages).

One Aho–Corasick automaton over every written form of every secret (as is, HTML- and JSON-escaped),
scanning the text a chunk at a time so that a 300 MB workbook is never held decoded. Codes
(``[0-9A-Za-z_-]+``) count only as whole tokens; names count anywhere. See SECURITY.md.
"""
from __future__ import annotations

import codecs
import functools
import html
import json
import re
from typing import Any, Iterable

LEAK_MASK = "［涉密信息已隐去］"
CODE_SHAPED = re.compile(r"[0-9A-Za-z_\-]+")
TOKEN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
SCAN_CHUNK = 8 << 20  # bytes decoded and scanned at a time: bounds the memory of a 300 MB scan
STREAM_PIECE = 1 << 20  # bytes a StreamScan scans at a time (holding the GIL: ~5 ms)

def secret_forms(secret: str) -> set[str]:
    """Every way an output writes a secret: as is, HTML-escaped (with/without quotes), JSON-escaped
    (``ensure_ascii`` on and off), and the JSON escapes of the HTML forms (HTML inside an .ipynb)."""
    forms = set()
    for f in (secret, html.escape(secret), html.escape(secret, quote=False)):
        forms |= {f, json.dumps(f, ensure_ascii=False)[1:-1], json.dumps(f, ensure_ascii=True)[1:-1]}
    return forms - {""}


@functools.lru_cache(maxsize=4)
def _secret_automaton(secrets: tuple[str, ...]) -> Any:
    """One Aho–Corasick automaton over every form of every secret, built once per secret list.

    Each form maps to ``(length, plain, token)``: the indexes of the secrets it belongs to, split
    into names (any occurrence is a hit) and codes (``[0-9A-Za-z_-]+``, a hit only as a whole token).
    ``None`` when there is nothing to look for.
    """
    import ahocorasick

    owners: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(secrets):
        code = CODE_SHAPED.fullmatch(s) is not None
        for f in secret_forms(s):
            owners.setdefault(f, ([], []))[code].append(i)
    if not owners:
        return None
    automaton = ahocorasick.Automaton()
    for f, (plain, token) in owners.items():
        automaton.add_word(f, (len(f), tuple(plain), tuple(token)))
    automaton.make_automaton()
    return automaton


def _byte_chunks(data: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterable[bytes | memoryview]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        return (view[o:o + SCAN_CHUNK] for o in range(0, len(view), SCAN_CHUNK))
    return data


def _text_windows(data: bytes | Iterable[bytes], keep: int) -> Iterable[str]:
    """The UTF-8 text of ``data`` (undecodable bytes dropped, as ``decode(errors="ignore")``) between
    two sentinel newlines, in windows that each start with the last ``keep`` characters of the one
    before: any span of at most ``keep`` characters lies whole in some window."""
    carry, pending = "\n", b""
    for chunk in _byte_chunks(data):
        if pending:
            chunk = pending + chunk
        text, used = codecs.utf_8_decode(chunk, "ignore", False)
        pending = bytes(chunk[used:])
        if text:
            window = carry + text
            yield window
            carry = window[-keep:]
    yield carry + codecs.utf_8_decode(pending, "ignore", True)[0] + "\n"


def find_leaks(data: bytes | Iterable[bytes], secrets: list[str]) -> list[int]:
    """Indexes (ascending) of secrets found in an output (text as written, HTML- or JSON-escaped).

    One Aho–Corasick pass over the text, decoded a chunk at a time; ``data`` is the output's bytes or
    an iterable of byte chunks (:func:`xlsx_text`). Codes count only as whole tokens (no ASCII
    letter or digit on either side).
    """
    automaton = _secret_automaton(tuple(secrets))
    if automaton is None:
        return []
    findable = {i for i, s in enumerate(secrets) if s}
    found: set[int] = set()
    # a window holds each hit with the characters on both sides (the sentinels stand for the ends)
    for window in _text_windows(data, keep=automaton.get_stats()["longest_word"] + 2):
        last = len(window) - 2
        for end, (length, plain, token) in automaton.iter(window):
            start = end - length + 1
            if start < 1 or end > last:
                continue
            if plain:
                found.update(plain)
            if token and window[start - 1] not in TOKEN_CHARS and window[end + 1] not in TOKEN_CHARS:
                found.update(token)
        if found >= findable:
            break
    return sorted(found)


class XlsxText:
    """The XML text inside an .xlsx (its strings are not visible in the zipped bytes), members
    joined by newlines. Iterating streams it in chunks, one member at a time, so that a 300 MB
    workbook is never held decompressed; ``bytes()`` gives it whole."""

    def __init__(self, data: bytes):
        self.data = data

    def __iter__(self):
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(self.data)) as z:
            for k, name in enumerate(n for n in z.namelist() if n.endswith(".xml")):
                if k:
                    yield b"\n"
                with z.open(name) as member:
                    while chunk := member.read(SCAN_CHUNK):
                        yield chunk

    def __bytes__(self) -> bytes:
        return b"".join(self)

    def __len__(self) -> int:
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(self.data)) as z:
            sizes = [i.file_size for i in z.infolist() if i.filename.endswith(".xml")]
        return sum(sizes) + max(len(sizes) - 1, 0)


def xlsx_text(data: bytes) -> XlsxText:
    """The XML text inside an .xlsx, as chunks for :func:`find_leaks` (``bytes()`` of it: whole)."""
    return XlsxText(data)


class StreamScan:
    """:func:`find_leaks` over the bytes of a file being written, in a thread of its own: ``feed``
    them (member by member for a zip, as :func:`perflib.present.xlsx.write_xlsx`'s ``observe``), then
    ``found()``. The scan (which holds the GIL) then runs beside the compression (which releases it)
    instead of unzipping the finished file again. Members are separated by a newline, as in
    :class:`XlsxText`; at most ``depth`` chunks wait, so a large workbook is never held decompressed.

    ``with StreamScan(secrets) as scan: data = write(observe=scan.feed)`` then ``scan.found()``."""

    _END = object()

    def __init__(self, secrets: list[str], depth: int = 16):
        import queue
        import threading

        self.secrets = list(secrets)
        self._queue: Any = queue.Queue(maxsize=depth)
        self._member: str | None = None
        self._found: list[int] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._scan, name="perflib-leak-scan", daemon=True)
        self._thread.start()

    def feed(self, member: str, data: bytes | memoryview) -> None:
        if self._member is not None and member != self._member:
            self._queue.put(b"\n")
        self._member = member
        view = memoryview(data)
        for start in range(0, len(view), STREAM_PIECE):  # each scanned without letting go of the GIL
            self._queue.put(view[start:start + STREAM_PIECE])

    def _chunks(self) -> Iterable[bytes | memoryview]:
        while (chunk := self._queue.get()) is not self._END:
            yield chunk

    def _scan(self) -> None:
        chunks = self._chunks()
        try:
            self._found = find_leaks(chunks, self.secrets)
        except BaseException as exc:  # noqa: BLE001 - raised in found()
            self._error = exc
        for _ in chunks:  # every secret found early, or an error: the writer must never block
            pass

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._END)
            self._thread.join()

    def found(self) -> list[int]:
        """Indexes of the secrets in what was fed (:func:`find_leaks`); ends the scan."""
        self.close()
        if self._error is not None:
            raise self._error
        assert self._found is not None
        return self._found

    def __enter__(self) -> "StreamScan":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def mask(text: str, secrets: list[str]) -> str:
    """``text`` with every form of every secret (codes too, inside longer tokens as well) replaced
    by :data:`LEAK_MASK`; of overlapping matches the leftmost, then the longest, wins."""
    automaton = _secret_automaton(tuple(secrets))
    if automaton is None or not text:
        return text
    spans = sorted((end - length + 1, -length) for end, (length, _, _) in automaton.iter(text))
    parts, pos = [], 0
    for start, negative_length in spans:
        if start >= pos:
            parts += [text[pos:start], LEAK_MASK]
            pos = start - negative_length
    parts.append(text[pos:])
    return "".join(parts)


def leak_error(files: dict[str, bytes], secrets: list[str], scanned: dict[str, list[int]] | None = None) -> str | None:
    """Why ``files`` ({suffix or what: bytes}; ``.xlsx`` scanned inside its zip) may not be
    published: the number of secrets found and where, or None when none is in any of them.
    ``scanned``: what a :class:`StreamScan` found in some of them as they were written (those are
    not scanned again)."""
    def scan(suffix: str, data: bytes) -> list[int]:
        if scanned is not None and suffix in scanned:
            return scanned[suffix]
        zipped = suffix.endswith((".xlsx", ".docx"))  # Office files: their XML text, unzipped
        return find_leaks(xlsx_text(data) if zipped else data, secrets)

    found = {suffix: scan(suffix, data) for suffix, data in files.items()}
    leaked = sorted({i for hits in found.values() for i in hits})
    if not leaked:
        return None
    where = [suffix for suffix, hits in found.items() if hits]
    return f"输出中出现了 {len(leaked)} 个涉密项目的名称或编码（{'、'.join(where)}），报告未发布"


# --- names, labels, the index and the log (SECURITY.md §14) ----------------------------------------
def holds_secret(text: Any, secrets: list[str]) -> bool:
    """Whether ``text`` (a file name, a parameter value or label, a line) is or contains a
    classified name, or a classified code as a whole token."""
    return bool(secrets) and text is not None and bool(find_leaks(str(text).encode("utf-8"), secrets))


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` (text, or dicts and lists of it, keys too) with every string that holds a secret
    masked; anything else as it is. For what the index shows of a report (parameters, title, error)."""
    if isinstance(value, str):
        return mask(value, secrets) if holds_secret(value, secrets) else value
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v, secrets) for v in value)
    return value


class _LogMasking:
    """One record factory, installed while any :func:`masked_logging` block is open, that masks
    every secret of every open block in each log record of the process (whatever the logger:
    perflib's, papermill's cell output, a library's), its traceback included."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.active: dict[int, list[str]] = {}
        self.previous: Any = None
        self.next_id = 0

    def secrets(self) -> list[str]:
        with self.lock:
            merged = {s for group in self.active.values() for s in group}
        return sorted(merged, key=len, reverse=True)

    def factory(self, *args: Any, **kwargs: Any):
        import logging

        record = (self.previous or logging.LogRecord)(*args, **kwargs)
        secrets = self.secrets()
        if not secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string stays the logging module's to report
            return record
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and holds_secret(record.exc_text, secrets):
            record.exc_text = mask(record.exc_text, secrets)
            record.exc_info = None  # a handler would format it again from the exception itself
        if holds_secret(message, secrets):
            record.msg, record.args = mask(message, secrets), ()
        return record

    def enter(self, secrets: list[str]) -> int:
        import logging

        with self.lock:
            if not self.active:
                self.previous = logging.getLogRecordFactory()
                logging.setLogRecordFactory(self.factory)
            self.next_id += 1
            self.active[self.next_id] = list(secrets)
            return self.next_id

    def leave(self, key: int) -> None:
        import logging

        with self.lock:
            self.active.pop(key, None)
            if not self.active and logging.getLogRecordFactory() == self.factory:
                logging.setLogRecordFactory(self.previous or logging.LogRecord)


_LOG_MASKING = _LogMasking()


class masked_logging:
    """``with masked_logging(secrets):`` every log line of this process written meanwhile has the
    secrets masked (nested and concurrent blocks add up)."""

    def __init__(self, secrets: list[str]):
        self.secrets = list(secrets)
        self.key: int | None = None

    def __enter__(self) -> "masked_logging":
        if self.secrets:
            self.key = _LOG_MASKING.enter(self.secrets)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.key is not None:
            _LOG_MASKING.leave(self.key)
