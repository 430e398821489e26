"""The result announcement (公告) of a published vote, as a PDF and as a CSV.

The wording is the formal Chinese of a presidium's announcement (主席团公告) whatever the page
language, since the document is posted and filed as such. The PDF uses reportlab's built-in CID
font STSong-Light (as ``keys/cards.py`` does), so no font file ships with the project, and
reportlab's invariant mode, so the same result gives the same bytes. The CSV is UTF-8 with a
byte-order mark so that Excel opens it as UTF-8: a header row, one row per question, candidate,
project or department, then a blank row and the meeting's figures (and, where a deputy could leave an
item blank, the note on how 未按 is counted).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import escape

from tally.web.outcome import ResultView

CJK_FONT = "STSong-Light"
KIND_ACTION = {"resolution": "表决", "appointment": "表决", "selection": "票决", "election": "选举",
               "evaluation": "测评"}
STATUS = {
    "selection": {"elected": "入选", "tied": "票数相等", "not_elected": "未入选", "below_threshold": "未过半数"},
    "election": {"elected": "当选", "tied": "票数相等", "not_elected": "未当选", "below_threshold": "得票未过半数"},
}
NUMERIC_COLUMNS = {"排名", "赞成", "反对", "弃权", "未按", "得票", "预算（万元）", "满意", "基本满意", "不满意"}
_DISPLAY = str.maketrans({ch: "\u30fb" for ch in "\u00b7\u2022\u2027\u2219\u22c5\uff65"})


def _text(value: object) -> str:
    """Text as STSong-Light can draw it (its CMap puts the middle dot at U+30FB; characters
    beyond the BMP are replaced), escaped for a reportlab Paragraph."""
    shown = str(value).translate(_DISPLAY)
    shown = "".join(ch if ord(ch) <= 0xFFFF and not 0xD800 <= ord(ch) <= 0xDFFF else "□" for ch in shown)
    return escape(shown)


def people(body: str) -> str:
    """代表 for a people's congress, 组成人员 for a standing committee."""
    return "组成人员" if "常务委员会" in body or "常委会" in body else "代表"


def base_words(view: ResultView) -> str:
    who = people(view.body)
    return {"members": f"全体{who}", "present": f"出席会议的{who}", "cast": f"参加表决的{who}"}[view.base_name]


def threshold_words(view: ResultView) -> str:
    if view.threshold == "two_thirds":
        return f"达到{base_words(view)}的三分之二以上"
    return f"超过{base_words(view)}的半数"


def date_words(when: datetime | None) -> str:
    return f"{when.year}年{when.month}月{when.day}日" if when is not None else ""


def budget_wan(budget: int | None) -> str:
    if budget is None:
        return ""
    if budget % 10_000 == 0:
        return f"{budget // 10_000:,}"
    return f"{budget / 10_000:,.2f}"


def status_words(view: ResultView, status: str) -> str:
    return STATUS.get(view.kind, STATUS["election"]).get(status, status)


def option_count(item, option_id: str) -> int:
    return next((b.count for b in item.bars if b.id == option_id), 0)


# ------------------------------------------------------------------ the words of the announcement


def has_table(view: ResultView) -> bool:
    """A resolution is announced in words alone; the other kinds list their items in a table."""
    return view.kind != "resolution"


def paragraphs(view: ResultView) -> tuple[list[str], list[str]]:
    """The body of the announcement as plain-text paragraphs: those before the table, and those
    after it."""
    who = people(view.body)
    action = KIND_ACTION.get(view.kind, "表决")
    when = date_words(view.published_at)
    intro = (f"{view.meeting_title}于{when}" if when else f"{view.meeting_title}") + f"对“{view.title}”进行了{action}。"
    attendance = (f"本次会议应到{who}{view.members}名，出席{view.present}名，参加{action}{view.counted}名，"
                  f"未按表决器{view.not_voted}名。")
    attendance += "出席人数符合法定人数。" if view.quorum_met else "出席人数未达到法定人数。"
    before = [intro + attendance, f"{action}结果如下："]
    out: list[str] = []
    if view.rule == "majority":
        if view.kind == "resolution" and view.items:
            item = view.items[0]
            out.append(f"赞成{option_count(item, 'yes')}票，反对{option_count(item, 'no')}票，"
                       f"弃权{option_count(item, 'abstain')}票，未按表决器{view.not_voted}名。")
            if item.passed:
                out.append(f"赞成票{threshold_words(view)}，“{view.title}”获得通过。")
            elif not view.quorum_met:
                out.append(f"因出席人数未达到法定人数，“{view.title}”未获通过。")
            else:
                out.append(f"赞成票未{threshold_words(view).removesuffix('以上')}，“{view.title}”未获通过。")
        else:
            passed = [i.title for i in view.items if i.passed]
            failed = [i.title for i in view.items if not i.passed]
            if passed:
                out.append(f"对{'、'.join(passed)}的任免获得通过（赞成票{threshold_words(view)}）。")
            if failed:
                reason = "因出席人数未达到法定人数，" if not view.quorum_met else ""
                out.append(f"{reason}对{'、'.join(failed)}的任免未获通过。")
    elif view.rule == "select":
        noun = "项目" if view.kind == "selection" else "候选人"
        unit = "项" if view.kind == "selection" else "名"
        elected = [r.label for r in view.ranking if r.status == "elected"]
        tied = [r.label for r in view.ranking if r.status == "tied"]
        lead = f"应选{noun}{view.seats}{unit}，{noun}共{len(view.ranking)}{unit}。"
        if view.threshold == "half":
            lead += f"得票须{threshold_words(view)}（{view.needed}票以上）。"
        before[-1] = f"{action}结果如下（按得票多少排序）："
        before.insert(-1, lead)
        if elected:
            verb = "确定为入选项目" if view.kind == "selection" else "当选"
            out.append(f"{'、'.join(elected)}{verb}。")
        elif view.quorum_met:
            out.append(f"没有{noun}{status_words(view, 'elected')}。")
        else:
            out.append(f"因出席人数未达到法定人数，没有{noun}{status_words(view, 'elected')}。")
        if tied:
            out.append(f"{'、'.join(tied)}得票相等，须依照有关规定另行确定。")
        if view.unfilled:
            out.append(f"尚有{view.unfilled}{unit}空缺。")
    else:
        graded = [f"{i.title}为“{i.grade_label}”" for i in view.items if i.grade_label]
        if graded:
            out.append("测评等次：" + "；".join(graded) + "。")
        else:
            out.append("因出席人数未达到法定人数，不确定测评等次。")
    return before, out


def table(view: ResultView, *, for_csv: bool = False) -> list[list[str]]:
    """The table of the announcement and of the CSV: a header row, then one row per item. The
    CSV gives budgets in whole yuan, as numbers; the PDF in 万元."""
    if view.rule == "majority":
        head = ["事项" if view.kind == "resolution" else "被任命人", "赞成", "反对", "弃权", "未按", "表决结果"]
        rows = [[i.title + (f"（{i.extra}）" if i.extra else ""), str(option_count(i, "yes")), str(option_count(i, "no")),
                 str(option_count(i, "abstain")), str(i.blank), "通过" if i.passed else "未通过"]
                for i in view.items]
        return [head] + rows
    if view.rule == "select":
        if view.kind == "selection":
            head = ["排名", "项目名称", "预算（元）" if for_csv else "预算（万元）", "得票", "结果"]
            rows = [[str(r.rank), r.label,
                     ("" if r.budget_cny is None else str(r.budget_cny)) if for_csv else budget_wan(r.budget_cny),
                     str(r.count), status_words(view, r.status)] for r in view.ranking]
        else:
            head = ["排名", "候选人", "得票", "结果"]
            rows = [[str(r.rank), r.label, str(r.count), status_words(view, r.status)] for r in view.ranking]
        return [head] + rows
    levels = [b.label for b in view.items[0].bars] if view.items else ["满意", "基本满意", "不满意"]
    head = ["测评对象", *levels, "未按", "测评等次"]
    rows = [[i.title, *[str(b.count) for b in i.bars], str(i.blank), i.grade_label or "—"] for i in view.items]
    return [head] + rows


def blank_note(view: ResultView) -> str | None:
    """How the table's 未按 is counted, when a deputy could leave an item blank (a nominee of
    人事任免): the item's own blanks, which may exceed those who did not vote at all."""
    if not view.item_blanks:
        return None
    noun = {"appointment": "被任命人", "evaluation": "测评对象"}.get(view.kind, "事项")
    who = people(view.body)
    return (f"注：表中“未按”为出席会议的{who}人数减去该{noun}各项票数之和，既包括未按表决器的{who}，"
            f"也包括参加{KIND_ACTION.get(view.kind, '表决')}但对该{noun}未作选择的{who}。")


def footnote(view: ResultView, trustee_names: Sequence[str]) -> str:
    names = "、".join(trustee_names)
    where = f"，记入本次会议公开日志第 {view.log_index} 条" if view.log_index is not None else ""
    return (f"注：本结果由监票人{names}共同解密{where}（会议标识 {view.meeting_id}，表决标识 {view.vote_id}）。"
            "任何人均可下载本次会议的选举记录，用 python -m ballot.verify 独立核验。")


# ------------------------------------------------------------------ PDF


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def pdf_bytes(view: ResultView, trustee_names: Sequence[str]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    base = ParagraphStyle("body", fontName=CJK_FONT, fontSize=12.5, leading=23, wordWrap="CJK",
                          firstLineIndent=25)
    heading = ParagraphStyle("heading", parent=base, fontSize=17, leading=26, alignment=TA_CENTER, firstLineIndent=0)
    title = ParagraphStyle("title", parent=base, fontSize=24, leading=34, alignment=TA_CENTER, firstLineIndent=0,
                           textColor=colors.Color(0.72, 0.11, 0.11))
    number = ParagraphStyle("number", parent=base, fontSize=12.5, alignment=TA_CENTER, firstLineIndent=0)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT, firstLineIndent=0)
    cell = ParagraphStyle("cell", fontName=CJK_FONT, fontSize=10, leading=14, wordWrap="CJK")
    number_cell = ParagraphStyle("number_cell", parent=cell, alignment=TA_RIGHT)
    note = ParagraphStyle("note", fontName=CJK_FONT, fontSize=8.5, leading=13, wordWrap="CJK",
                          textColor=colors.Color(0.35, 0.35, 0.35))

    story: list = [
        Paragraph(_text(view.meeting_title), heading),
        Paragraph("主席团公告", title),
        Paragraph(f"第 {view.position} 号", number),
        Spacer(1, 8 * mm),
    ]
    before, after = paragraphs(view)
    story += [Paragraph(_text(p), base) for p in before]
    if has_table(view):
        rows = table(view)
        numeric = {i for i, name in enumerate(rows[0]) if name in NUMERIC_COLUMNS}
        data = [[Paragraph(_text(c), number_cell if i in numeric else cell) for i, c in enumerate(row)] for row in rows]
        width = A4[0] - 50 * mm
        fractions = {
            "majority": [0.36, 0.12, 0.12, 0.12, 0.12, 0.16],
            "rating": [0.34, 0.12, 0.14, 0.12, 0.12, 0.16],
            "selection": [0.09, 0.47, 0.16, 0.12, 0.16],
            "election": [0.10, 0.50, 0.18, 0.22],
        }[view.rule if view.rule != "select" else view.kind if view.kind == "selection" else "election"]
        grid = Table(data, colWidths=[width * f for f in fractions], repeatRows=1, hAlign="CENTER")
        grid.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.5, colors.Color(0.5, 0.5, 0.5)),
            ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]))
        story += [Spacer(1, 2 * mm), grid, Spacer(1, 2 * mm)]
        if blank_note(view):
            story.append(Paragraph(_text(blank_note(view)), note))
        story.append(Spacer(1, 3 * mm))
    story += [Paragraph(_text(p), base) for p in after]
    story += [Paragraph("特此公告。", base), Spacer(1, 14 * mm),
              Paragraph(_text(f"{view.meeting_title}主席团"), right),
              Paragraph(_text(date_words(view.published_at)), right), Spacer(1, 12 * mm),
              Paragraph(_text(footnote(view, trustee_names)), note)]

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm, bottomMargin=22 * mm,
        title=f"{view.meeting_title}主席团公告（第{view.position}号）", author=f"{view.meeting_title}主席团",
        subject=view.title, creator="Piaojue 票决", invariant=1,
    )
    document.build(story)
    return buffer.getvalue()


# ------------------------------------------------------------------ CSV


def csv_text(view: ResultView) -> str:
    """UTF-8 CSV text starting with a byte-order mark (encode it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in table(view, for_csv=True):
        writer.writerow(row)
    who = people(view.body)
    writer.writerow([])
    writer.writerow(["会议", view.meeting_title])
    writer.writerow(["表决事项", view.title])
    writer.writerow([f"应到{who}", view.members])
    writer.writerow([f"出席{who}", view.present])
    writer.writerow(["参加表决", view.counted])
    writer.writerow(["未按表决器", view.not_voted])
    writer.writerow(["法定人数", "符合" if view.quorum_met else "未达到"])
    writer.writerow(["计票基数", f"{base_words(view)}（{view.base}）"])
    if view.needed is not None:
        writer.writerow(["通过/当选所需票数", view.needed])
    writer.writerow(["公布日期", date_words(view.published_at)])
    writer.writerow(["日志条目", "" if view.log_index is None else view.log_index])
    note = blank_note(view)
    if note:
        writer.writerow(["注", note.removeprefix("注：")])
    return "\ufeff" + out.getvalue()
