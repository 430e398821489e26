"""Roster import (keys/roster.py): CSV in every encoding a clerk's Excel writes, XLSX, and errors
that name the spreadsheet row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballot.errors import PiaojueError
from keys.errors import RosterError
from keys.roster import MAX_ROWS, RosterEntry, parse_roster_bytes, read_roster

FIXTURES = Path(__file__).parent / "fixtures"

EXPECTED_OK = [
    RosterEntry("101", "王建国", "城关镇代表团", 2),
    RosterEntry("102", "李秀英", "城关镇代表团", 3),
    RosterEntry("103", "张伟", "城关镇代表团", 4),  # 张　伟: alignment padding removed
    RosterEntry("104", "刘丽华", "东河乡代表团", 5),
    RosterEntry("105", "陈志强", "东河乡代表团", 6),
    RosterEntry("106", "杨桂芳", "东河乡代表团", 7),
    RosterEntry("107", "赵德明", "西山镇代表团", 8),
    RosterEntry("108", "黄晓燕", "西山镇代表团", 9),
    RosterEntry("109", "周海涛", "西山镇代表团", 10),
    RosterEntry("110", "阿依古丽·买买提", "西山镇代表团", 11),
]


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def roster_error(data: bytes, filename: str = "roster.csv") -> RosterError:
    with pytest.raises(RosterError) as info:
        parse_roster_bytes(data, filename=filename)
    return info.value


def write_xlsx(path: Path, rows: list[list[object]], *, cells: dict[str, object] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for ref, value in (cells or {}).items():
        ws[ref] = value
    wb.save(path)
    return path


# --- CSV encodings -------------------------------------------------------------------------------


def test_csv_utf8_fixture() -> None:
    assert read_roster(FIXTURES / "roster_ok.csv") == EXPECTED_OK


def test_csv_utf8_bom_fixture() -> None:
    assert (FIXTURES / "roster_bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_roster(FIXTURES / "roster_bom.csv") == EXPECTED_OK


def test_csv_gb18030_fixture_with_crlf() -> None:
    data = (FIXTURES / "roster_gb18030.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8
    assert read_roster(FIXTURES / "roster_gb18030.csv") == EXPECTED_OK


def test_csv_gbk_is_gb18030_subset() -> None:
    text = "座位号,姓名,代表团\n1,欧阳娜娜,第一代表团\n"
    assert parse_roster_bytes(text.encode("gbk")) == [RosterEntry("1", "欧阳娜娜", "第一代表团", 2)]


def test_csv_utf16_tab_separated() -> None:
    """Excel's "Unicode text" export: UTF-16 with BOM, tab-separated."""
    text = "座位号\t姓名\t代表组\r\n7\t钱学森\t第二组\r\n"
    assert parse_roster_bytes(text.encode("utf-16")) == [RosterEntry("7", "钱学森", "第二组", 2)]


def test_csv_semicolon_delimited() -> None:
    assert parse_roster_bytes(csv_bytes("座位号;姓名\n3;林芳\n")) == [RosterEntry("3", "林芳", None, 2)]


def test_csv_quoted_fields_with_commas() -> None:
    data = csv_bytes('座位号,姓名,代表团\n5,"Smith, John","团,一"\n')
    assert parse_roster_bytes(data) == [RosterEntry("5", "Smith, John", "团,一", 2)]


def test_english_headers_case_insensitive_and_optional_group() -> None:
    assert read_roster(FIXTURES / "roster_english.csv") == [
        RosterEntry("A-01", "Zhang Wei", None, 2),
        RosterEntry("A-02", "Li Na", "Delegation 1", 3),
        RosterEntry("A-03", "王芳", "Delegation 1", 4),
    ]


def test_group_header_daibiaozu_and_no_group_column() -> None:
    assert parse_roster_bytes(csv_bytes("姓名,座位号,代表组\n李明,9,第三组\n")) == [
        RosterEntry("9", "李明", "第三组", 2)
    ]
    assert parse_roster_bytes(csv_bytes("姓名,座位号\n李明,9\n")) == [RosterEntry("9", "李明", None, 2)]


def test_both_group_columns_prefers_daibiaotuan() -> None:
    data = csv_bytes("座位号,姓名,代表组,代表团\n1,李明,第三组,北京团\n")
    assert parse_roster_bytes(data) == [RosterEntry("1", "李明", "北京团", 2)]


def test_whitespace_stripped_including_fullwidth() -> None:
    data = csv_bytes("\u3000座位号 , 姓名\u3000,代表团\n\u3000１２\u3000, \u3000李\u3000明 \u00a0, \u3000 \n")
    assert parse_roster_bytes(data) == [RosterEntry("12", "李明", None, 2)]


def test_non_cjk_name_inner_whitespace_collapses() -> None:
    data = csv_bytes("座位号,姓名\n1,Ma\u3000  Li\n2,阿不都 Ali\n")
    assert [e.name for e in parse_roster_bytes(data)] == ["Ma Li", "阿不都 Ali"]


def test_title_row_above_header_and_blank_rows_keep_row_numbers() -> None:
    text = "第十八届人民代表大会第三次会议代表名单,,\n,,\n座位号,姓名,代表团\n1,甲一,\n\n,,东河乡代表团\n2,乙二,\n"
    assert parse_roster_bytes(csv_bytes(text)) == [
        RosterEntry("1", "甲一", None, 4),
        RosterEntry("2", "乙二", None, 7),
    ]


def test_extra_columns_ignored_and_short_rows_padded() -> None:
    data = csv_bytes("序号,座位号,姓名,性别,代表团\n1,10,王五,男,一团\n2,11,赵六\n")
    assert parse_roster_bytes(data) == [RosterEntry("10", "王五", "一团", 2), RosterEntry("11", "赵六", None, 3)]


def test_entries_are_frozen() -> None:
    entry = read_roster(FIXTURES / "roster_ok.csv")[0]
    with pytest.raises(AttributeError):
        entry.seat = "999"  # type: ignore[misc]  # on purpose: a frozen dataclass must refuse it


# --- CSV errors: every one names its row --------------------------------------------------------


def test_errors_fixture_collects_all_problems_in_row_order() -> None:
    with pytest.raises(RosterError) as info:
        read_roster(FIXTURES / "roster_errors.csv")
    err = info.value
    assert [row for row, _ in err.problems] == [3, 4, 5]
    assert "姓名为空" in err.problems[0][1] and "202" in err.problems[0][1]
    assert "座位号为空" in err.problems[1][1] and "吴刚" in err.problems[1][1]
    dup = err.problems[2][1]
    assert "201" in dup and "第 2 行" in dup and "第 5 行" in dup and "孙明" in dup and "郑红" in dup
    message = str(err)
    for row in (3, 4, 5):
        assert f"第 {row} 行" in message
    assert "\n" not in message
    assert isinstance(err, PiaojueError)
    assert err.row == 3


def test_duplicate_seat_after_normalisation() -> None:
    err = roster_error(csv_bytes("座位号,姓名\n12,甲\n１２,乙\n"))
    assert err.problems == [(3, "座位号 12 重复：第 2 行（甲）和第 3 行（乙）")]


def test_duplicate_names_are_allowed() -> None:
    assert len(parse_roster_bytes(csv_bytes("座位号,姓名\n1,王伟\n2,王伟\n"))) == 2


def test_blank_name_names_row() -> None:
    err = roster_error(csv_bytes("座位号,姓名\n1,甲\n2,\u3000\n"))
    assert err.problems == [(3, "姓名为空（座位号：2）")]
    assert err.message.startswith("第 3 行：") and str(err) == "roster.csv: 第 3 行：姓名为空（座位号：2）"


def test_blank_seat_names_row() -> None:
    err = roster_error(csv_bytes("座位号,姓名\n1,甲\n , 乙\n"))
    assert err.problems == [(3, "座位号为空（姓名：乙）")]


def test_missing_required_header_names_header_row() -> None:
    err = roster_error(csv_bytes("姓名,代表团\n甲,一团\n"))
    assert err.row == 1 and "座位号" in str(err) and "第 1 行" in str(err)
    err = roster_error(csv_bytes("会议名单\n座位号,代表团\n1,一团\n"))
    assert err.row == 2 and "姓名" in err.problems[0][1]


def test_no_header_at_all() -> None:
    err = roster_error(csv_bytes("1,甲\n2,乙\n"))
    assert err.row == 1 and "表头" in str(err)


def test_duplicate_header_column() -> None:
    err = roster_error(csv_bytes("座位号,姓名,姓名\n1,甲,乙\n"))
    assert err.row == 1 and "姓名" in str(err)


def test_empty_roster() -> None:
    assert "为空" in str(roster_error(b""))
    assert "为空" in str(roster_error(b"\xef\xbb\xbf\r\n , \r\n"))
    err = roster_error(csv_bytes("座位号,姓名,代表团\n,,\n"))
    assert err.row == 1 and "没有任何代表" in str(err)


def test_unreadable_encoding() -> None:
    err = roster_error(b"\x80\xff\xfe\x81\x30 not text")
    assert err.row is None and "编码" in str(err)


def test_utf16_without_bom_is_refused() -> None:
    err = roster_error("座位号,姓名\n1,甲\n".encode("utf-16-le"))
    assert "编码" in str(err)


def test_too_many_rows() -> None:
    lines = ["座位号,姓名"] + [f"{i},代表{i}" for i in range(1, MAX_ROWS + 2)]
    err = roster_error(csv_bytes("\n".join(lines)))
    assert err.row == MAX_ROWS + 2 and str(MAX_ROWS) in str(err)


def test_exactly_max_rows_is_fine() -> None:
    lines = ["座位号,姓名"] + [f"{i},代表{i}" for i in range(1, MAX_ROWS + 1)]
    entries = parse_roster_bytes(csv_bytes("\n".join(lines)))
    assert len(entries) == MAX_ROWS
    assert entries[-1] == RosterEntry(str(MAX_ROWS), f"代表{MAX_ROWS}", None, MAX_ROWS + 1)


def test_many_problems_message_is_capped_but_problems_complete() -> None:
    lines = ["座位号,姓名"] + [f"{i}," for i in range(1, 51)]
    err = roster_error(csv_bytes("\n".join(lines)))
    assert len(err.problems) == 50
    assert "50 处问题" in str(err) and "另有 30 处" in str(err)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="找不到"):
        read_roster(tmp_path / "nope.csv")
    with pytest.raises(RosterError, match="目录"):
        read_roster(tmp_path)


def test_old_xls_refused() -> None:
    err = roster_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, filename="名册.xls")
    assert ".xlsx" in str(err)


def test_corrupt_xlsx() -> None:
    err = roster_error(b"PK\x03\x04 this is not a zip", filename="roster.xlsx")
    assert "XLSX" in str(err)


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_numeric_seats_and_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "名册.xlsx",
        [["座位号", "姓名", "代表团"], [12, "张三", "一团"], [13.0, "李四", None], ["A-3", " 王\u3000五 ", "  "]],
        cells={"A7": 14, "B7": "赵六"},  # rows 5-6 left empty
    )
    assert read_roster(path) == [
        RosterEntry("12", "张三", "一团", 2),
        RosterEntry("13", "李四", None, 3),
        RosterEntry("A-3", "王五", None, 4),
        RosterEntry("14", "赵六", None, 7),
    ]


def test_xlsx_uses_first_sheet_and_english_headers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["SEAT", "NAME", "GROUP"])
    ws.append([1, "Wang", "G1"])
    other = wb.create_sheet("其他")
    other.append(["座位号", "姓名"])
    other.append([99, "不应读取"])
    wb.save(tmp_path / "r.xlsx")
    assert read_roster(tmp_path / "r.xlsx") == [RosterEntry("1", "Wang", "G1", 2)]


def test_xlsx_detected_by_content_whatever_the_extension(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export.dat", [["座位号", "姓名"], [5, "甲"]])
    assert read_roster(path) == [RosterEntry("5", "甲", None, 2)]


def test_xlsx_title_row_and_errors_name_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [["某某县人大代表名单"], ["座位号", "姓名"], [1, "甲"], [2, None], [None, "丙"], [1, "丁"]],
        cells={"A8": dt.date(2024, 1, 12), "B8": "戊"},
    )
    with pytest.raises(RosterError) as info:
        read_roster(path)
    rows = [row for row, _ in info.value.problems]
    assert rows == [4, 5, 6, 8]
    assert "日期" in info.value.problems[3][1]
    assert "第 1 行" not in str(info.value)


def test_xlsx_missing_header(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [["姓名"], ["甲"]])
    with pytest.raises(RosterError, match="第 1 行.*座位号"):
        read_roster(path)


def test_xlsx_empty(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [])
    with pytest.raises(RosterError, match="为空"):
        read_roster(path)


def test_xlsx_too_many_rows(tmp_path: Path) -> None:
    rows: list[list[object]] = [["座位号", "姓名"]] + [[i, f"代表{i}"] for i in range(1, MAX_ROWS + 2)]
    path = write_xlsx(tmp_path / "big.xlsx", rows)
    with pytest.raises(RosterError) as info:
        read_roster(path)
    assert info.value.row == MAX_ROWS + 2


# --- property: what csv.writer writes, the parser reads back -------------------------------------

_cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 99999),
            st.text(_cjk, min_size=1, max_size=6),
            st.one_of(st.none(), st.text(_cjk, min_size=1, max_size=8)),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0],
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_csv_round_trip(rows: list[tuple[int, str, str | None]], encoding: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["座位号", "姓名", "代表团"])
    for seat, name, group in rows:
        writer.writerow([seat, name, group or ""])
    entries = parse_roster_bytes(buf.getvalue().encode(encoding))
    assert entries == [RosterEntry(str(s), n, g, i) for i, (s, n, g) in enumerate(rows, start=2)]
