"""Deputy credential cards (代表凭证卡) as a printable PDF.

A4 portrait pages, each a 2 × 4 grid of 95 mm × 68.25 mm cards separated by dashed cut lines
(with crop marks in the margins).  One card per deputy, in roster order; each shows:

* the meeting title;
* 姓名, 座位号 and, if the roster has one, 代表团/组;
* the QR code of :func:`keys.credentials.card_qr_payload` (``PJ1:<meeting_id>:<code>``, error
  correction level M), which the seat tablet scans to check in;
* the code itself as ``XXXXX-XXXXX-XXXXX-XXXXX`` in a large monospace font, for typing if the
  camera fails;
* a short instruction line in Chinese.

Chinese text uses reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1, no font file
needed; PDF viewers substitute a system Song/Ming face).  Codes use the standard Courier-Bold.

The PDF holds every deputy's secret code: it is the only place codes are ever written.  It is
written with file mode 0600, atomically (temporary file then rename).  Output is
deterministic: the same inputs give byte-identical PDFs (reportlab's ``invariant`` mode).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from keys.credentials import IssuedCredential, card_qr_payload, check_meeting_id, format_code
from keys.errors import CardError, KeysError

CJK_FONT = "STSong-Light"
CODE_FONT = "Courier-Bold"

PAGE_W, PAGE_H = A4
COLUMNS, ROWS = 2, 4
CARDS_PER_PAGE = COLUMNS * ROWS
MARGIN_X = 10 * mm
MARGIN_Y = 12 * mm
CARD_W = (PAGE_W - 2 * MARGIN_X) / COLUMNS
CARD_H = (PAGE_H - 2 * MARGIN_Y) / ROWS
PAD = 5 * mm
QR_SIZE = 30 * mm

INSTRUCTION = "请在座位平板上扫描二维码或输入代码签到。此卡仅限本人使用，请妥善保管。"
CODE_LABEL = "凭证代码"

_GREY = colors.Color(0.45, 0.45, 0.45)
_CUT = colors.Color(0.6, 0.6, 0.6)


# STSong-Light is set through the UniGB-UCS2-H CMap, which (like GB2312) has its middle dot at
# U+30FB, not U+00B7: minority names such as 阿依古丽·买买提 are usually typed with U+00B7 and
# would print as a missing glyph.  Middle-dot look-alikes are drawn as U+30FB instead.
_DISPLAY_MAP = str.maketrans({ch: "\u30fb" for ch in "\u00b7\u2022\u2027\u2219\u22c5\uff65"})


def _display(text: str, what: str) -> str:
    """``text`` as it can be drawn in STSong-Light; CardError for characters that cannot be."""
    shown = text.translate(_DISPLAY_MAP)
    bad = sorted({ch for ch in shown if ord(ch) > 0xFFFF or 0xD800 <= ord(ch) <= 0xDFFF})
    if bad:
        chars = "、".join(f"{ch}（U+{ord(ch):04X}）" for ch in bad)
        raise CardError(
            f"{what}中的字符 {chars} 超出卡片字体范围（扩展区生僻字），无法打印；请在名册中改用常用字、拼音或加注后重新导入"
        )
    return shown


def _ensure_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _width(text: str, font: str, size: float) -> float:
    width: float = pdfmetrics.stringWidth(text, font, size)
    return width


def _fit(text: str, font: str, size: float, min_size: float, width: float) -> tuple[str, float]:
    """Shrink ``size`` (down to ``min_size``) until ``text`` fits ``width``; then truncate with …."""
    s = size
    while s > min_size and _width(text, font, s) > width:
        s = max(min_size, s - 0.5)
    if _width(text, font, s) <= width:
        return text, s
    while text and _width(text + "…", font, s) > width:
        text = text[:-1]
    return text + "…", s


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap at sentence ends (。) where the sentences fit, else greedily by character."""
    sentences = [s + "。" for s in text.split("。") if s] if text.endswith("。") else [text]
    if all(_width(s, font, size) <= width for s in sentences):
        lines: list[str] = []
        for s in sentences:
            if lines and _width(lines[-1] + s, font, size) <= width:
                lines[-1] += s
            else:
                lines.append(s)
        return lines
    return _wrap_chars(text, font, size, width)


def _wrap_chars(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy character wrap (right for Chinese, which has no spaces to break at)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and _width(line + ch, font, size) > width:
            # keep closing punctuation with the preceding character (避头点)
            if ch in "，。；：、！？）》”":
                line, ch = line[:-1], line[-1] + ch
            lines.append(line)
            line = ch
        else:
            line += ch
    if line:
        lines.append(line)
    return lines


def _draw_cut_lines(c: Canvas) -> None:
    c.saveState()
    c.setStrokeColor(_CUT)
    c.setLineWidth(0.4)
    c.setDash(3, 3)
    left, right = MARGIN_X, PAGE_W - MARGIN_X
    bottom, top = MARGIN_Y, PAGE_H - MARGIN_Y
    for i in range(COLUMNS + 1):
        x = left + i * CARD_W
        c.line(x, bottom, x, top)
    for j in range(ROWS + 1):
        y = bottom + j * CARD_H
        c.line(left, y, right, y)
    # solid crop marks in the margins, so the grid is visible after trimming
    c.setDash()
    mark = 6 * mm
    for i in range(COLUMNS + 1):
        x = left + i * CARD_W
        c.line(x, bottom - mark, x, bottom - 1.5 * mm)
        c.line(x, top + 1.5 * mm, x, top + mark)
    for j in range(ROWS + 1):
        y = bottom + j * CARD_H
        c.line(left - mark + 2 * mm, y, left - 1.5 * mm, y)
        c.line(right + 1.5 * mm, y, right + mark - 2 * mm, y)
    c.restoreState()


def _draw_qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(payload, barLevel="M", barBorder=2, barWidth=size, barHeight=size)
    drawing = Drawing(size, size)
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def _labelled(c: Canvas, x: float, y: float, label: str, value: str, size: float, width: float) -> None:
    label_size = 8.0
    c.setFont(CJK_FONT, label_size)
    c.setFillColor(_GREY)
    c.drawString(x, y, label)
    lw = _width(label, CJK_FONT, label_size) + 2 * mm
    text, s = _fit(value, CJK_FONT, size, 8.0, width - lw)
    c.setFillColor(colors.black)
    c.setFont(CJK_FONT, s)
    c.drawString(x + lw, y, text)


def _draw_card(c: Canvas, x0: float, y0: float, title: str, meeting_id: str, cred: IssuedCredential) -> None:
    where = f"座位 {cred.seat} 的"
    seat = _display(cred.seat, f"座位号 {cred.seat!r} ")
    name = _display(cred.name, where + "姓名")
    group = _display(cred.group, where + "代表团/组") if cred.group else None
    inner_w = CARD_W - 2 * PAD
    left = x0 + PAD
    top = y0 + CARD_H - PAD

    # meeting title, centred, then a rule under it
    text, s = _fit(title, CJK_FONT, 10.5, 7.0, inner_w)
    c.setFont(CJK_FONT, s)
    c.setFillColor(colors.black)
    c.drawCentredString(x0 + CARD_W / 2, top - 10, text)
    rule_y = top - 14
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.6)
    c.line(left, rule_y, left + inner_w, rule_y)

    # QR code on the right
    qr_top = rule_y - 1.5 * mm
    qr_x = left + inner_w - QR_SIZE + 2 * mm
    _draw_qr(c, card_qr_payload(meeting_id, cred.code), qr_x, qr_top - QR_SIZE, QR_SIZE)

    # name, seat, group on the left
    text_w = inner_w - QR_SIZE - 1 * mm
    y = rule_y - 20
    _labelled(c, left, y, "姓名", name, 16.0, text_w)
    y -= 24
    _labelled(c, left, y, "座位号", seat, 15.0, text_w)
    if group:
        y -= 21
        _labelled(c, left, y, "代表团/组", group, 10.5, text_w)

    # the code, large and monospace
    code_text = format_code(cred.code)
    code_size = 17.0
    while code_size > 9 and _width(code_text, CODE_FONT, code_size) > inner_w:
        code_size -= 0.5
    code_y = y0 + PAD + 27
    c.setFont(CJK_FONT, 7.0)
    c.setFillColor(_GREY)
    c.drawString(left, code_y + code_size * 0.75 + 3, CODE_LABEL)
    c.setFillColor(colors.black)
    c.setFont(CODE_FONT, code_size)
    c.drawCentredString(x0 + CARD_W / 2, code_y, code_text)

    # instruction, wrapped, at the bottom
    c.setFont(CJK_FONT, 7.0)
    c.setFillColor(_GREY)
    lines = _wrap(INSTRUCTION, CJK_FONT, 7.0, inner_w)[:2]
    base = y0 + PAD + 9 * (len(lines) - 1) + 1
    for i, line in enumerate(lines):
        c.drawString(left, base - 9 * i, line)
    c.setFillColor(colors.black)


def _draw_footer(c: Canvas, title: str, page: int, pages: int) -> None:
    c.saveState()
    c.setFont(CJK_FONT, 7.0)
    c.setFillColor(_GREY)
    text, _ = _fit(f"{title}　代表凭证卡（沿虚线裁开）　内含签到代码，请妥善保管，分发后销毁多余页", CJK_FONT, 7.0, 7.0, PAGE_W * 0.7)
    c.drawString(MARGIN_X, 4 * mm, text)
    c.drawRightString(PAGE_W - MARGIN_X, 4 * mm, f"第 {page} / {pages} 页")
    c.restoreState()


def render_cards_pdf(meeting_title: str, meeting_id: str, credentials: Sequence[IssuedCredential]) -> bytes:
    """The card PDF as bytes (see the module docstring for the layout)."""
    check_meeting_id(meeting_id)
    creds = list(credentials)
    if not creds:
        raise CardError("没有可打印的凭证")
    title = _display((meeting_title or "").strip() or meeting_id, "会议名称")
    _ensure_fonts()
    buf = BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(f"{title} 代表凭证卡")
    c.setSubject("piaojue/1 credential cards — contains secret codes")
    c.setCreator("piaojue keys")
    pages = (len(creds) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
    try:
        for p in range(pages):
            _draw_cut_lines(c)
            for k, cred in enumerate(creds[p * CARDS_PER_PAGE : (p + 1) * CARDS_PER_PAGE]):
                col, row = k % COLUMNS, k // COLUMNS
                x0 = MARGIN_X + col * CARD_W
                y0 = PAGE_H - MARGIN_Y - (row + 1) * CARD_H
                _draw_card(c, x0, y0, title, meeting_id, cred)
            _draw_footer(c, title, p + 1, pages)
            c.showPage()
        c.save()
    except KeysError:
        raise
    except Exception as exc:  # reportlab raises assorted errors for text it cannot set
        raise CardError(f"无法生成凭证卡 PDF：{exc}") from exc
    return buf.getvalue()


def write_private_file(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename) with ``mode``,
    by default 0600 (owner read/write only)."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_cards_pdf(
    path: str | os.PathLike[str], meeting_title: str, meeting_id: str, credentials: Sequence[IssuedCredential]
) -> int:
    """Render the cards and write them to ``path`` (mode 0600, atomic).  Returns the page count."""
    data = render_cards_pdf(meeting_title, meeting_id, credentials)
    try:
        write_private_file(path, data)
    except OSError as exc:
        raise CardError(f"无法写入凭证卡 PDF {path}：{exc.strerror or exc}") from exc
    return (len(credentials) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
