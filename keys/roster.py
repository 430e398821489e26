"""Import the clerk's roster (代表名册) from CSV or XLSX.

The roster is whatever the clerk exports from their spreadsheet.  One row per deputy, with a
header row naming the columns:

=================  ==========================================  =========
column             accepted headers                            required
=================  ==========================================  =========
seat               ``座位号``, ``座号``, ``座位``, ``seat``       yes
name               ``姓名``, ``name``                          yes
group              ``代表团``, ``代表组``, ``group``,            no
                   ``delegation``
=================  ==========================================  =========

English headers are matched case-insensitively; other columns (性别, 职务, 备注 …) are ignored.
If a sheet has more than one group column (say both 代表团 and 代表组), the first alias in the
order above wins and the others are ignored.

Formats:

* **CSV**: UTF-8, UTF-8 with BOM (Excel's "CSV UTF-8"), or GB18030 (which covers GBK/GB2312,
  what Chinese Excel writes for plain "CSV").  UTF-16 with a BOM (Excel's "Unicode text") is
  accepted too.  The delimiter is a comma, tab or semicolon, detected from the header line.
* **XLSX**: the first worksheet, read with openpyxl in read-only mode (cached formula values).
  Old binary ``.xls`` is refused with a hint to re-save as ``.xlsx``.

Normalisation (decisions where SPEC is silent; the seat string matters because SPEC §11 signs
it in the check-in message):

* every cell is stripped of whitespace, including the full-width space U+3000, NBSP, BOM and
  zero-width space;
* seats are strings; numeric spreadsheet cells become their integer text (12 → ``"12"``, never
  ``"12.0"``); seats are NFKC-normalised so full-width ``１２`` equals ``12``; duplicates are
  detected after normalisation;
* a name written with alignment padding (``张　三``, common in Chinese rosters) has the inner
  spaces removed when it is pure CJK; otherwise runs of inner whitespace collapse to one space
  (``Ma Li``); the middle dot of minority names (``·``) is kept as written;
* an empty group cell gives ``group=None``;
* rows whose seat *and* name are both blank are skipped (blank lines, delegation sub-headings,
  notes at the bottom);
* the header row is the first row, among the first :data:`HEADER_SEARCH_ROWS`, that has a seat
  or name header, so a title row above the header (e.g. a merged "第十五届…代表名单") is fine.

Errors are collected across the whole file and raised together as one
:class:`~keys.errors.RosterError` whose ``problems`` lists ``(row, message)``; rows are
numbered as the clerk sees them in the spreadsheet (header = row 1 in the usual layout).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from keys.errors import RosterError

#: At most this many deputies in one roster (a national congress has about 3,000).
MAX_ROWS = 10_000
#: Roster files larger than this are refused before being read.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: The header is looked for in this many leading rows.
HEADER_SEARCH_ROWS = 10

SEAT_HEADERS = ("座位号", "座号", "座位", "seat")
NAME_HEADERS = ("姓名", "name")
GROUP_HEADERS = ("代表团", "代表组", "group", "delegation")

_STRIP = " \t\r\n\v\f\u3000\u00a0\ufeff\u200b"
_WS_RUN = re.compile(r"[\s\u3000\u00a0\u200b]+")
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class RosterEntry:
    """One deputy: seat, name, optional delegation/group, and the spreadsheet row it came from."""

    seat: str
    name: str
    group: str | None
    row: int


# ---------------------------------------------------------------------------------------------
# Public entry points


def read_roster(path: str | os.PathLike[str]) -> list[RosterEntry]:
    """Read a roster file, choosing CSV or XLSX by content (and extension as a hint)."""
    p = Path(path)
    source = p.name
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RosterError([(None, f"文件过大（{size} 字节，上限 {MAX_FILE_BYTES} 字节）")], source=source)
        data = p.read_bytes()
    except RosterError:
        raise
    except FileNotFoundError:
        raise RosterError([(None, f"找不到名册文件：{p}")], source=source) from None
    except IsADirectoryError:
        raise RosterError([(None, f"名册路径是一个目录，不是文件：{p}")], source=source) from None
    except OSError as exc:
        raise RosterError([(None, f"无法读取名册文件：{exc.strerror or exc}")], source=source) from None
    return parse_roster_bytes(data, filename=p.name)


def parse_roster_bytes(data: bytes, *, filename: str = "") -> list[RosterEntry]:
    """Parse roster file contents; ``filename`` (for its extension and messages) is optional."""
    source = filename or None
    ext = Path(filename).suffix.lower()
    if data.startswith(_XLS_MAGIC) or (ext == ".xls" and not data.startswith(_XLSX_MAGIC)):
        raise RosterError(
            [(None, "不支持旧版 Excel（.xls）格式，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入")], source=source
        )
    if data.startswith(_XLSX_MAGIC) or ext in (".xlsx", ".xlsm"):
        return parse_xlsx_bytes(data, source=source)
    return parse_csv_bytes(data, source=source)


def parse_csv_bytes(data: bytes, *, source: str | None = None) -> list[RosterEntry]:
    """Parse CSV bytes in UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    text = _decode(data, source)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip(_STRIP)), "")
    delimiter = max(",\t;", key=first.count)  # ties (incl. none found) go to the comma
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows: list[list[object]] = [list(r) for r in reader]
    except csv.Error as exc:
        raise RosterError([(None, f"CSV 格式错误：{exc}")], source=source) from None
    return _parse_rows(enumerate(rows, start=1), source=source)


def parse_xlsx_bytes(data: bytes, *, source: str | None = None) -> list[RosterEntry]:
    """Parse the first worksheet of an XLSX workbook."""
    import openpyxl  # local: only the XLSX path needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterError([(None, f"无法读取 XLSX 文件（文件损坏或不是 Excel 工作簿）：{exc}")], source=source) from None
    try:
        if not wb.worksheets:
            raise RosterError([(None, "XLSX 工作簿中没有工作表")], source=source)
        ws = wb.worksheets[0]
        rows = ((i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1))
        return _parse_rows(rows, source=source)
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------
# Decoding and cell normalisation


def _decode(data: bytes, source: str | None) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for enc in encodings:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise RosterError(
        [(None, "无法识别文件编码：请将名册另存为 “CSV UTF-8” 或 .xlsx 格式（支持 UTF-8、GB18030/GBK）")],
        source=source,
    )


def _clean(value: object) -> str:
    """A cell as stripped text ('' for empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip(_STRIP)


def _seat_text(value: object) -> tuple[str, str | None]:
    """``(seat, problem)``: the normalised seat string, or a problem describing the cell."""
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return "", "座位号单元格是日期/时间格式（可能被 Excel 自动转换了，如 1-12），请把该列设为“文本”后重新输入"
    if isinstance(value, bool):
        return "", "座位号单元格是逻辑值（TRUE/FALSE），不是座位号"
    seat = unicodedata.normalize("NFKC", _clean(value)).strip(_STRIP)
    seat = _WS_RUN.sub(" ", seat)
    return seat, None


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and ch not in "\u3000"


def _name_text(value: object) -> str:
    name = _clean(value)
    parts = [p for p in _WS_RUN.split(name) if p]
    if len(parts) > 1 and all(_is_cjk(ch) for p in parts for ch in p):
        return "".join(parts)  # 张　三 → 张三 (alignment padding)
    return " ".join(parts)


def _header_key(value: object) -> str:
    return unicodedata.normalize("NFKC", _clean(value)).replace(" ", "").lower()


def _find(header: list[str], aliases: tuple[str, ...]) -> tuple[int | None, list[int]]:
    """Column index of the first alias present, and every column matching that alias."""
    for alias in aliases:
        cols = [i for i, h in enumerate(header) if h == alias.lower()]
        if cols:
            return cols[0], cols
    return None, []


# ---------------------------------------------------------------------------------------------
# The row parser shared by CSV and XLSX


def _parse_rows(rows: Iterable[tuple[int, list[object]]], *, source: str | None) -> list[RosterEntry]:
    it: Iterator[tuple[int, list[object]]] = iter(rows)
    problems: list[tuple[int | None, str]] = []

    header_row: int | None = None
    header: list[str] = []
    first_nonblank: int | None = None
    for rownum, cells in it:
        keys = [_header_key(c) for c in cells]
        if first_nonblank is None and any(keys):
            first_nonblank = rownum
        if any(k in (a.lower() for a in SEAT_HEADERS + NAME_HEADERS) for k in keys):
            header_row, header = rownum, keys
            break
        if rownum >= HEADER_SEARCH_ROWS:
            break
    if header_row is None:
        if first_nonblank is None:
            raise RosterError([(None, "名册为空：没有任何内容")], source=source)
        raise RosterError(
            [(first_nonblank, "找不到表头：需要“座位号”和“姓名”两列（可选“代表团”或“代表组”）")], source=source
        )

    seat_col, seat_cols = _find(header, SEAT_HEADERS)
    name_col, name_cols = _find(header, NAME_HEADERS)
    group_col, group_cols = _find(header, GROUP_HEADERS)
    missing = [label for label, col in (("座位号", seat_col), ("姓名", name_col)) if col is None]
    if missing:
        raise RosterError([(header_row, f"表头缺少必需的列：{'、'.join(missing)}")], source=source)
    for label, cols in (("座位号", seat_cols), ("姓名", name_cols), ("代表团/代表组", group_cols)):
        if len(cols) > 1:
            problems.append((header_row, f"表头中“{label}”列出现了 {len(cols)} 次"))
    if problems:
        raise RosterError(problems, source=source)
    assert seat_col is not None and name_col is not None

    entries: list[RosterEntry] = []
    data_rows = 0
    seen: dict[str, tuple[int, str]] = {}
    for rownum, cells in it:
        def cell(col: int | None) -> object:
            return cells[col] if col is not None and col < len(cells) else None  # noqa: B023 - called within this iteration

        seat, seat_problem = _seat_text(cell(seat_col))
        name = _name_text(cell(name_col))
        if not seat and not name and seat_problem is None:
            continue  # blank line, sub-heading or note
        data_rows += 1
        if data_rows > MAX_ROWS:
            raise RosterError(
                [(rownum, f"名册行数过多：最多 {MAX_ROWS} 名代表，请检查是否选错了工作表或文件")], source=source
            )
        group = _clean(cell(group_col)) or None
        row_ok = True
        if seat_problem is not None:
            problems.append((rownum, seat_problem))
            row_ok = False
        elif not seat:
            problems.append((rownum, f"座位号为空（姓名：{name}）"))
            row_ok = False
        if not name:
            problems.append((rownum, f"姓名为空（座位号：{seat}）" if seat else "姓名为空"))
            row_ok = False
        if seat and seat_problem is None:
            if seat in seen:
                prev_row, prev_name = seen[seat]
                problems.append(
                    (rownum, f"座位号 {seat} 重复：第 {prev_row} 行（{prev_name}）和第 {rownum} 行（{name or '姓名为空'}）")
                )
                row_ok = False
            else:
                seen[seat] = (rownum, name)
        if row_ok:
            entries.append(RosterEntry(seat=seat, name=name, group=group, row=rownum))

    if problems:
        raise RosterError(problems, source=source)
    if not entries:
        raise RosterError([(header_row, "名册为空：表头下面没有任何代表")], source=source)
    return entries
