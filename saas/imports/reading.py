"""Reading an uploaded file: base64, the format (CSV or XLSX), the CSV's encoding, and its rows, streamed.

Rows are read one at a time (`csv.reader` over a decoding stream; openpyxl in read-only mode), so
memory holds the file's bytes and one chunk of rows, never all rows. The encoding of a CSV is
detected in order: UTF-8 (with or without a byte order mark), then GB18030 (a superset of GBK
and GB2312, what Chinese spreadsheets save), each checked by decoding the whole file
incrementally (a UTF-16 file is known by its byte order mark; other bytes with NUL are refused as
binary); anything else is handed to charset-normalizer, whose best guess must be
coherent (chaos below `MAX_CHAOS`), or the file is refused.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from charset_normalizer import from_bytes

XLSX_MAGIC = b"PK\x03\x04"
CSV_DELIMITERS = ",;\t|"
MAX_CHAOS = 0.2
DECODE_BLOCK = 64 * 1024


class UnreadableFile(ValueError):
    """The content is not a file this import reads; the message says why."""


@dataclass(frozen=True)
class SourceFile:
    data: bytes
    format: str  # "csv" or "xlsx"
    encoding: str | None  # a CSV's


def decode_content(content: str, content_encoding: str | None) -> bytes:
    """The file's bytes from the mutation's `content`: base64 (the default), or the text itself with
    `contentEncoding: "utf-8"` (a CSV pasted as text)."""
    encoding = (content_encoding or "base64").strip().lower()
    if encoding == "base64":
        try:
            return base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise UnreadableFile("content is not valid base64") from None
    if encoding in ("utf-8", "utf8", "text"):
        return content.encode("utf-8")
    raise UnreadableFile('contentEncoding must be "base64" or "utf-8"')


def _decodes_as(data: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        for start in range(0, len(data), DECODE_BLOCK):
            decoder.decode(data[start : start + DECODE_BLOCK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    if b"\x00" in data:
        raise UnreadableFile("the file is binary, neither a CSV nor an XLSX workbook")
    if _decodes_as(data, "utf-8-sig"):
        return "utf-8-sig"
    if _decodes_as(data, "gb18030"):
        return "gb18030"
    best = from_bytes(data[: 1024 * 1024]).best()
    if best is None or best.chaos > MAX_CHAOS:
        raise UnreadableFile("the file's text encoding could not be recognised; save it as UTF-8")
    return str(best.encoding)


def open_source(file_name: str, data: bytes) -> SourceFile:
    """What the bytes are: an XLSX workbook (by its zip signature) or a CSV (with its encoding)."""
    if not data.strip():
        raise UnreadableFile("the file is empty")
    if data.startswith(XLSX_MAGIC):
        return SourceFile(data, "xlsx", None)
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise UnreadableFile("the file is named .xlsx but is not an XLSX workbook")
    return SourceFile(data, "csv", detect_encoding(data))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_rows(source: SourceFile) -> Iterator[list[str]]:
    stream = io.TextIOWrapper(io.BytesIO(source.data), encoding=source.encoding or "utf-8-sig", newline="")
    sample = stream.read(8192)
    stream.seek(0)
    try:
        dialect: Any = csv.Sniffer().sniff(sample.split("\n", 1)[0] or sample, delimiters=CSV_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(stream, dialect)
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV is malformed: {exc}") from None


def _xlsx_rows(source: SourceFile) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
    except Exception:
        raise UnreadableFile("the XLSX workbook cannot be opened") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(value) for value in row]
    finally:
        book.close()


def rows(source: SourceFile) -> Iterator[list[str]]:
    """Every row of the file, the header first, cells as text; wholly empty rows are left out."""
    reader = _xlsx_rows(source) if source.format == "xlsx" else _csv_rows(source)
    for row in reader:
        if any(cell.strip() for cell in row):
            yield row


def header(source: SourceFile) -> list[str]:
    """The header row's names, trimmed; UnreadableFile when the file has none."""
    for row in rows(source):
        return [cell.strip() for cell in row]
    raise UnreadableFile("the file has no header row")
