"""The ``keys`` command line (``python -m keys …``): the clerk's and trustees' offline tool.

Commands:

``credentials --meeting M --roster FILE --out cards.pdf --public creds.json [--title T] [--force]``
    Read the roster (CSV or XLSX, see :mod:`keys.roster`), issue one credential per deputy
    (SPEC §4.2), write the card PDF (the only place the secret codes are ever written, mode
    0600) and the public file ``creds.json``::

        {"meeting_id": "M", "credentials": ["<hex Ed25519 public key>", …]}

    The key list is sorted, as SPEC §7 ``credentials`` ``add`` lists are, so it carries no roster
    order; it holds no names, seats or codes, so the tally service cannot link a credential to
    a deputy (check-in, SPEC §11, needs no such link: the seat comes signed from the tablet).
    Existing output files are not overwritten without ``--force``: re-running issues *new*
    codes, which would silently invalidate cards already printed.

Every command shares one error policy: a :class:`~ballot.errors.PiaojueError` becomes a
one-line ``错误：…`` message on stderr and exit code 2, never a traceback.  Further commands
(the key ceremony, partial decryption, …) are added with ``@cli.command()`` on :data:`cli` and
get that policy for free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ballot.errors import PiaojueError
from keys.cards import CARDS_PER_PAGE, render_cards_pdf, write_private_file
from keys.credentials import check_service_meeting_id, issue_credentials, public_credentials
from keys.errors import KeysError
from keys.mix_cli import name_shares_command, shuffle_command
from keys.roster import read_roster
from keys.trustee_cli import ceremony, decrypt

#: Exit code for every expected failure (bad input, unwritable output), like click's usage errors.
EXIT_ERROR = 2


class OutputError(KeysError):
    """An output file that cannot or may not be written."""


def fail(message: str) -> None:
    """Print ``错误：message`` as one line on stderr and exit with :data:`EXIT_ERROR`."""
    click.echo(f"错误：{' '.join(message.split())}", err=True)
    raise click.exceptions.Exit(EXIT_ERROR)


class KeysGroup(click.Group):
    """A click group whose subcommands report PiaojueError as one line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PiaojueError as exc:
            fail(str(exc))


@click.group(cls=KeysGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """票决 piaojue/1 离线密钥工具：代表凭证、凭证卡（以及监票人密钥仪式、部分解密）。"""


def _check_writable(path: Path, force: bool, what: str) -> None:
    if path.is_dir():
        raise OutputError(f"{what} {path} 是一个目录")
    if path.exists() and not force:
        raise OutputError(f"{what} {path} 已存在；重新生成会作废已打印的凭证卡，确需覆盖请加 --force")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{what}所在目录 {parent} 不存在")


@cli.command("credentials")
@click.option("--meeting", "meeting_id", required=True, help="会议编号 meeting_id（与会议条目一致）")
@click.option("--roster", "roster_path", required=True, type=click.Path(dir_okay=True, path_type=Path),
              help="代表名册 CSV 或 XLSX（表头：座位号、姓名，可选 代表团/代表组）")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="凭证卡 PDF（含秘密代码，打印后妥善处理）")
@click.option("--public", "public_path", required=True, type=click.Path(path_type=Path),
              help="公开凭证文件 creds.json（只含公钥，上传到计票服务）")
@click.option("--title", default=None, help="印在卡片上的会议名称（默认为会议编号）")
@click.option("--force", is_flag=True, help="覆盖已存在的输出文件")
def credentials_command(
    meeting_id: str, roster_path: Path, out_path: Path, public_path: Path, title: str | None, force: bool
) -> None:
    """为名册中每位代表生成凭证，输出凭证卡 PDF 和公开的 creds.json。"""
    check_service_meeting_id(meeting_id)
    if out_path.resolve() == public_path.resolve():
        raise OutputError("--out 和 --public 不能是同一个文件")
    _check_writable(out_path, force, "凭证卡文件")
    _check_writable(public_path, force, "公开凭证文件")

    roster = read_roster(roster_path)
    issued = issue_credentials(roster, meeting_id)
    pdf = render_cards_pdf(title or meeting_id, meeting_id, issued)
    public = json.dumps(public_credentials(meeting_id, issued), ensure_ascii=False, indent=2) + "\n"

    try:
        write_private_file(out_path, pdf)
    except OSError as exc:
        raise OutputError(f"无法写入凭证卡文件 {out_path}：{exc.strerror or exc}") from exc
    try:
        write_private_file(public_path, public.encode("utf-8"), mode=0o644)
    except OSError as exc:
        out_path.unlink(missing_ok=True)  # cards whose keys were never published are useless
        raise OutputError(f"无法写入公开凭证文件 {public_path}：{exc.strerror or exc}") from exc

    pages = (len(issued) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
    click.echo(
        f"已生成 {len(issued)} 张凭证卡（{pages} 页）：{out_path}；公开凭证（{len(issued)} 个公钥）：{public_path}。"
        f"凭证卡含秘密代码，打印分发后请销毁 PDF。"
    )


cli.add_command(ceremony)
cli.add_command(decrypt)
cli.add_command(shuffle_command)  # docs/protocol.md §12.5: write-in names
cli.add_command(name_shares_command)  # §12.6


def main() -> None:
    """Console entry point."""
    cli(prog_name="python -m keys")
