"""Random tampering with election records, for the record verifier (issue #6 "Bad input"; SPEC §8).

Two classes, each a Hypothesis strategy of tampered records and a judge:

``record_zip`` — a real record zip served by the tally service (GET …/record.zip of a meeting
with a published resolution, a closed vote with recasts, a spoiled ballot and a revoked card),
tampered at the level of its files (a byte or a hex digit of a line, a JSON value, lines swapped,
moved, dropped, duplicated or added, the log cut, the STH or a published STH changed or broken, a
file missing) or of the zip itself (bytes flipped, cut, members doubled or moved). Nobody can
re-sign its tree head, so every change to the log or the STH must be caught:
``python -m ballot.verify`` (its ``main``, in process) must exit 1 naming failed checks, or 2 when
the record cannot be read, and never raise; it may exit 0 only if the record it reads is the
original (a changed zip timestamp, the STH's JSON re-indented).

``record_resigned`` — a simulated record whose log key is known, tampered at the level of entries
and then given a correctly signed tree head, so only the semantic checks can notice: the verifier
must never raise, must name known checks, and must fail for tampering that changes what was
counted (a ballot dropped, duplicated or altered, a share altered or dropped, a count changed, the
meeting or a vote definition altered).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ballot import templates
from ballot.audit import CHECKS, verify_record
from ballot.errors import PiaojueError
from ballot.hashing import canonical_json, parse_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.record import LOG_NAME, STH_NAME, STHS_NAME, Record, read_record, zip_bytes
from ballot.verify import main as verify_main
from piaojue_tools.simulate import agenda, simulate

CHECK_NAMES = {name for name, _ in CHECKS}
HEX = "0123456789abcdef"


# ------------------------------------------------------------------ the two records


def service_record(folder: Path) -> bytes:
    """A record zip from the tally service (SQLite): resolution v1 published, with a spoiled
    ballot; a resolution r1 with recasts, closed; a card replaced (a revocation); other votes pending."""
    from ballot.encrypt import encrypt_ballot
    from keys.credentials import derive_private_key, public_key_hex, sign_checkin
    from tally import demo
    from tally.services import lifecycle, meetings
    from tally.store import cache
    from tests.service.conftest import make_app

    app = make_app(f"sqlite:///{folder}/record.sqlite3", str(folder / "instance"))
    client = app.test_client()
    try:
        with app.app_context():
            people = demo.create_demo("m1", 5)
            meetings.define_vote("m1", templates.resolution("r1", "可重投的表决", recast=True), actor="fuzz")
            meeting = cache.sealed_meeting("m1")
        keys = [derive_private_key(p.code, "m1") for p in people]
        for person, key in zip(people, keys):
            body = {
                "credential": public_key_hex(key),
                "seat": person.seat,
                "signature": sign_checkin(key, meeting.hash, person.seat),
            }
            assert client.post("/api/meetings/m1/checkin", json=body).status_code == 200
        replacement = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
        with app.app_context():
            meetings.replace_credential("m1", public_key_hex(keys[4]), public_key_hex(replacement), actor="fuzz")
        keys[4] = replacement

        def cast(vote_id: str, key: Ed25519PrivateKey, choice: str, spoil: bool = False) -> None:
            with app.app_context():
                definition = cache.vote_definition("m1", vote_id)
            ballot = encrypt_ballot(definition, meeting.hash, meeting.public_key, key, {"motion": [choice]})
            if spoil:
                body = {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}
                assert client.post(f"/api/meetings/m1/votes/{vote_id}/spoiled", json=body).status_code == 201
            else:
                assert (
                    client.post(f"/api/meetings/m1/votes/{vote_id}/ballots", json=ballot.entry).status_code
                    == 201
                )

        for vote_id, plan in (
            ("v1", [(0, "yes"), (1, "no"), (2, "yes"), (4, "abstain")]),
            ("r1", [(0, "no"), (1, "yes"), (0, "yes"), (3, "abstain")]),
        ):
            with app.app_context():
                lifecycle.open_vote("m1", vote_id, actor="fuzz")
            if vote_id == "v1":
                cast("v1", keys[3], "no", spoil=True)
            for who, choice in plan:
                cast(vote_id, keys[who], choice)
            with app.app_context():
                lifecycle.close_vote("m1", vote_id, actor="fuzz")
                if vote_id == "v1":  # r1 stays closed: a record may hold a vote not yet decrypted
                    demo.demo_tally("m1", vote_id)
        response = client.get("/api/meetings/m1/record.zip")
        assert response.status_code == 200
        return response.get_data()
    finally:
        app.extensions["piaojue.engine"].dispose()


@dataclass
class Simulated:
    entries: list[dict[str, Any]]
    log_key: Ed25519PrivateKey


def simulated_record() -> Simulated:
    """A small simulated meeting (4 deputies, 3 trustees, threshold 2): a resolution with a
    spoiled ballot and a resolution with recasts, both published; the log key is known."""
    votes = [agenda()[0], templates.resolution("r1", "可重投的表决", recast=True)]
    sim = simulate(deputies=4, seed=7, trustees=3, threshold=2, votes_json=votes)
    return Simulated(copy.deepcopy(sim.log.entries), sim.log.log_key)


def signed_record(lines: list[bytes], log_key: Ed25519PrivateKey) -> Record:
    """A record of ``lines`` with a correctly signed tree head over them (the tampering is then
    invisible to the ``sth`` check)."""
    tree = MerkleTree()
    for line in lines:
        tree.append(leaf_hash(line))
    sth = sign_sth(log_key, tree.size, tree.root(tree.size), 1_800_000_000_000)
    entries: list[Any] = []
    for line in lines:
        try:
            entries.append(parse_json(line))
        except PiaojueError as exc:
            entries.append(exc)
    return Record(list(lines), sth, None, entries)


# ------------------------------------------------------------------ outcomes


@dataclass
class RecordStats:
    tried: int = 0
    exits: Counter = field(default_factory=Counter)
    failed_checks: Counter = field(default_factory=Counter)
    variants: Counter = field(default_factory=Counter)
    uncaught: int = 0
    violations: list[str] = field(default_factory=list)


class RecordViolation(AssertionError):
    pass


class RecordJudge:
    """Runs the verifier on tampered records and checks its promise (see the module docstring)."""

    def __init__(self, original_zip: bytes, *, strict: bool = True) -> None:
        self.original_zip = original_zip
        self.strict = strict
        self.folder = Path(tempfile.mkdtemp(prefix="piaojue-record-fuzz-"))
        path = self.folder / "original.zip"
        path.write_bytes(original_zip)
        self.original = read_record(path)
        self.stats: dict[str, RecordStats] = {}

    def _violation(self, stats: RecordStats, variant: str, message: str) -> None:
        text = f"[{variant}] {message}"
        stats.violations.append(text)
        if self.strict:
            raise RecordViolation(text)

    def verify_zip(self, variant: str, data: bytes, cls: str = "record_zip") -> int | None:
        """``python -m ballot.verify --json`` on ``data`` (in process); the exit code."""
        stats = self.stats.setdefault(cls, RecordStats())
        stats.tried += 1
        stats.variants[variant] += 1
        path = self.folder / "tampered.zip"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = verify_main([str(path), "--json"])
        except BaseException as exc:  # noqa: BLE001 - an uncaught exception is exactly what we look for
            stats.uncaught += 1
            stats.exits["uncaught"] += 1
            self._violation(stats, variant, f"uncaught {type(exc).__name__}: {exc}")
            return None
        stats.exits[code] += 1
        if code == 2:
            if not err.getvalue().startswith("error: "):
                self._violation(stats, variant, f"exit 2 without an error message: {err.getvalue()!r:.200}")
            return code
        report = json.loads(out.getvalue())
        failed = sorted(name for name, check in report["checks"].items() if check["failures"])
        stats.failed_checks.update(failed)
        if code == 1:
            if not failed or not set(failed) <= CHECK_NAMES:
                self._violation(stats, variant, f"exit 1 naming {failed}")
        elif code == 0:
            if not self._unchanged(path):
                self._violation(stats, variant, "a tampered record passed")
        else:
            self._violation(stats, variant, f"exit {code}")
        return code

    def _unchanged(self, path: Path) -> bool:
        try:
            record = read_record(path)
        except PiaojueError:
            return False
        return (record.lines, record.sth, record.sths) == (
            self.original.lines,
            self.original.sth,
            self.original.sths,
        )

    def verify_resigned(
        self, variant: str, record: Record, must_fail: bool, cls: str = "record_resigned"
    ) -> bool:
        stats = self.stats.setdefault(cls, RecordStats())
        stats.tried += 1
        stats.variants[variant] += 1
        try:
            report = verify_record(record)
        except BaseException as exc:  # noqa: BLE001
            stats.uncaught += 1
            stats.exits["uncaught"] += 1
            self._violation(stats, variant, f"uncaught {type(exc).__name__}: {exc}")
            return False
        failed = report.failed()
        stats.failed_checks.update(failed)
        stats.exits[0 if report.ok else 1] += 1
        if not set(failed) <= CHECK_NAMES:
            self._violation(stats, variant, f"unknown checks {failed}")
        if must_fail and report.ok:
            self._violation(stats, variant, "tampering that changes what counts passed the verifier")
        return report.ok


# ------------------------------------------------------------------ tampering with the zip


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _hex_positions(line: bytes) -> list[int]:
    """Positions of hex digits inside long hex strings of a JSON line."""
    text = line.decode("utf-8", "replace")
    out, run = [], []
    for i, ch in enumerate(text):
        if ch in HEX:
            run.append(i)
        else:
            if len(run) >= 32:
                out.extend(run)
            run = []
    return out


@st.composite
def tampered_zip(draw: Any, original: bytes) -> tuple[str, bytes]:
    files = _files(original)
    lines = files[LOG_NAME][:-1].split(b"\n")
    kind = draw(
        st.sampled_from(
            [
                "log_byte",
                "log_hex_digit",
                "log_hex_digit",
                "log_json_value",
                "log_swap",
                "log_move",
                "log_drop",
                "log_duplicate",
                "log_truncate",
                "log_append",
                "log_blank_line",
                "log_no_newline",
                "log_deep_line",
                "log_surrogate_line",
                "log_float_line",
                "sth_field",
                "sth_garbage",
                "sths_hex_digit",
                "sths_garbage",
                "file_missing",
                "zip_byte",
                "zip_truncate",
                "zip_duplicate_member",
                "zip_in_folder",
                "zip_garbage",
            ]
        )
    )
    new_lines = list(lines)
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "log_byte":
        line = bytearray(lines[i])
        j = draw(st.integers(0, len(line) - 1))
        line[j] ^= draw(st.integers(1, 255))
        new_lines[i] = bytes(line)
    elif kind == "log_hex_digit":
        candidates = [k for k, line in enumerate(lines) if _hex_positions(line)]
        i = draw(st.sampled_from(candidates))
        j = draw(st.sampled_from(_hex_positions(lines[i])))
        text = lines[i].decode()
        new_lines[i] = (
            text[:j] + draw(st.sampled_from([c for c in HEX if c != text[j]])) + text[j + 1 :]
        ).encode()
    elif kind == "log_json_value":
        entry = json.loads(lines[i])
        paths = _value_paths(entry)
        path = draw(st.sampled_from(paths))
        old = _get(entry, path)
        _set(entry, path, draw(_changed_value(old)))
        new_lines[i] = _encode(entry)
    elif kind == "log_swap":
        j = draw(st.integers(0, len(lines) - 1).filter(lambda j: j != i))
        new_lines[i], new_lines[j] = new_lines[j], new_lines[i]
    elif kind == "log_move":
        line = new_lines.pop(i)
        new_lines.insert(draw(st.integers(0, len(new_lines)).filter(lambda j: j != i)), line)
    elif kind == "log_drop":
        del new_lines[i]
    elif kind == "log_duplicate":
        new_lines.insert(draw(st.integers(0, len(new_lines))), lines[i])
    elif kind == "log_truncate":
        del new_lines[draw(st.integers(0, len(lines) - 1)) :]
    elif kind == "log_append":
        new_lines.append(
            draw(
                st.sampled_from(lines)
                | st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b" "))
            )
        )
    elif kind == "log_blank_line":
        new_lines.insert(draw(st.integers(0, len(new_lines))), b"")
    elif kind == "log_deep_line":
        depth = draw(st.integers(33, 30000))
        new_lines[i] = b'{"type":"x","a":' + b"[" * depth + b"]" * depth + b"}"
    elif kind == "log_surrogate_line":
        new_lines[i] = b'{"type":"ballot","x":"\\ud800"}' if draw(st.booleans()) else b'{"type":"\\udfff"}'
    elif kind == "log_float_line":
        new_lines[i] = lines[i][:-1] + b',"zz":1.5}'
    log = b"\n".join(new_lines) + b"\n" if new_lines else b""
    if kind == "log_no_newline":
        log = files[LOG_NAME][:-1]
    files = dict(files)
    files[LOG_NAME] = log
    if kind == "sth_field":
        sth = json.loads(files[STH_NAME])
        name = draw(st.sampled_from(sorted(sth)))
        value = sth[name]
        if isinstance(value, int):
            sth[name] = value + draw(st.sampled_from([-1, 1, 2, -(value or 1), 1000]))
        else:
            j = draw(st.integers(0, len(value) - 1))
            sth[name] = value[:j] + draw(st.sampled_from([c for c in HEX if c != value[j]])) + value[j + 1 :]
        files[STH_NAME] = json.dumps(sth, indent=2).encode() + b"\n"
    elif kind == "sth_garbage":
        files[STH_NAME] = draw(
            st.sampled_from(
                [
                    b"",
                    b"[]",
                    b"{}",
                    b"null",
                    b'{"tree_size": 1.5}',
                    files[STH_NAME][: len(files[STH_NAME]) // 2],
                ]
            )
            | st.binary(max_size=60)
        )
    elif kind == "sths_hex_digit":
        sths = files[STHS_NAME][:-1].split(b"\n")
        k = draw(st.integers(0, len(sths) - 1))
        positions = _hex_positions(sths[k])
        j = draw(st.sampled_from(positions))
        text = sths[k].decode()
        sths[k] = (
            text[:j] + draw(st.sampled_from([c for c in HEX if c != text[j]])) + text[j + 1 :]
        ).encode()
        files[STHS_NAME] = b"\n".join(sths) + b"\n"
    elif kind == "sths_garbage":
        files[STHS_NAME] = (
            files[STHS_NAME] + draw(st.binary(min_size=1, max_size=30)).replace(b"\n", b" ") + b"\n"
        )
    elif kind == "file_missing":
        del files[draw(st.sampled_from([LOG_NAME, STH_NAME]))]
    data = zip_bytes(files)
    if kind == "zip_byte":
        raw = bytearray(original)
        for _ in range(draw(st.integers(1, 3))):
            j = draw(st.integers(0, len(raw) - 1))
            raw[j] ^= draw(st.integers(1, 255))
        data = bytes(raw)
    elif kind == "zip_truncate":
        data = original[: draw(st.integers(0, len(original) - 1))]
    elif kind == "zip_duplicate_member":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in _files(original).items():
                archive.writestr(name, content)
            name = draw(st.sampled_from([LOG_NAME, STH_NAME]))
            with _quiet_duplicate_warning():
                archive.writestr(name, _files(original)[name])
        data = buffer.getvalue()
    elif kind == "zip_in_folder":
        data = zip_bytes({f"record/{name}": content for name, content in _files(original).items()})
    elif kind == "zip_garbage":
        data = draw(st.binary(max_size=200))
    return kind, data


@contextlib.contextmanager
def _quiet_duplicate_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _encode(entry: Any) -> bytes:
    try:
        return canonical_json(entry)
    except PiaojueError:
        return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )


def _value_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_value_paths(value, prefix + (key,)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.extend(_value_paths(value, prefix + (i,)))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _changed_value(old: Any) -> SearchStrategy[Any]:
    """Another value for a JSON node: a near miss of the same type, or any other value."""
    others = (
        st.none()
        | st.booleans()
        | st.integers(-3, 2**60)
        | st.text(max_size=6)
        | st.lists(st.integers(0, 3), max_size=2)
    )
    if isinstance(old, bool):
        near: SearchStrategy[Any] = st.just(not old)
    elif isinstance(old, int):
        near = st.sampled_from([old + 1, old - 1, old * 2 + 1, -old - 1])
    elif isinstance(old, str) and old:
        near = st.integers(0, len(old) - 1).flatmap(
            lambda j: st.sampled_from("0af7Z-").map(lambda c: old[:j] + c + old[j + 1 :])
        )
    else:
        near = others
    return st.one_of(near, near, others).filter(lambda value: value != old or type(value) is not type(old))


# ------------------------------------------------------------------ tampering with entries, re-signed


MUST_FAIL = {
    "drop_ballot",
    "duplicate_ballot",
    "ballot_hex",
    "result_count",
    "share_hex",
    "drop_share",
    "meeting_field",
    "vote_title",
    "open_present",
    "close_ballots",
}
"""Tampering that changes what was counted, so the verifier must fail. (Dropping a result is not
in it: a record taken before a vote was published has none.)"""


@st.composite
def resigned_tampering(draw: Any, sim: Simulated) -> tuple[str, Record, bool]:
    entries = copy.deepcopy(sim.entries)
    index = {
        kind: [i for i, e in enumerate(entries) if e["type"] == kind]
        for kind in (
            "meeting",
            "vote",
            "open",
            "ballot",
            "spoiled",
            "close",
            "share",
            "result",
            "credentials",
        )
    }
    kind = draw(
        st.sampled_from(
            sorted(MUST_FAIL)
            + ["drop_result", "drop_any", "swap_any", "change_any", "duplicate_any", "surrogate_entry"]
        )
    )
    lines: list[bytes]
    if kind == "drop_ballot":
        del entries[draw(st.sampled_from(index["ballot"]))]
    elif kind == "duplicate_ballot":
        i = draw(st.sampled_from(index["ballot"]))
        entries.insert(i + 1, copy.deepcopy(entries[i]))
    elif kind == "ballot_hex":
        ballot = entries[draw(st.sampled_from(index["ballot"]))]
        selection = draw(st.sampled_from([s for c in ballot["contests"] for s in c["selections"]]))
        name = draw(st.sampled_from(["alpha", "beta", "proof"]))
        if name == "proof":
            pair = draw(st.sampled_from(selection["proof"]))
            j = draw(st.integers(0, 1))
            pair[j] = _flip_hex(draw, pair[j])
        else:
            selection[name] = _flip_hex(draw, selection[name])
    elif kind == "result_count":
        result = entries[draw(st.sampled_from(index["result"]))]
        draw(st.sampled_from(result["tallies"]))["count"] += draw(st.sampled_from([1, -1, 2]))
    elif kind == "share_hex":
        share = entries[draw(st.sampled_from(index["share"]))]
        item = draw(st.sampled_from(share["shares"]))
        if draw(st.booleans()):
            item["M"] = _flip_hex(draw, item["M"])
        else:
            j = draw(st.integers(0, 1))
            item["proof"][j] = _flip_hex(draw, item["proof"][j])
    elif kind == "drop_share":
        del entries[draw(st.sampled_from(index["share"]))]
    elif kind == "drop_result":
        del entries[draw(st.sampled_from(index["result"]))]
    elif kind == "meeting_field":
        meeting = entries[0]
        name = draw(st.sampled_from(["title", "body", "members", "quorum", "threshold", "meeting_id"]))
        meeting[name] = {
            "title": meeting["title"] + "！",
            "body": meeting["body"] + "常委会",
            "members": meeting["members"] + 1,
            "quorum": "majority",
            "threshold": 1,
            "meeting_id": meeting["meeting_id"] + "x",
        }[name]
    elif kind == "vote_title":
        vote = entries[draw(st.sampled_from(index["vote"]))]
        vote["title"] += "（修订）"
    elif kind == "open_present":
        entries[draw(st.sampled_from(index["open"]))]["present"] -= 4
    elif kind == "close_ballots":
        entries[draw(st.sampled_from(index["close"]))]["ballots"] += draw(st.sampled_from([1, -1]))
    elif kind == "drop_any":
        del entries[draw(st.integers(1, len(entries) - 1))]
    elif kind == "swap_any":
        i = draw(st.integers(0, len(entries) - 1))
        j = draw(st.integers(0, len(entries) - 1).filter(lambda j: j != i))
        entries[i], entries[j] = entries[j], entries[i]
    elif kind == "duplicate_any":
        i = draw(st.integers(0, len(entries) - 1))
        entries.insert(draw(st.integers(0, len(entries))), copy.deepcopy(entries[i]))
    elif kind == "surrogate_entry":
        entries.insert(
            draw(st.integers(1, len(entries))),
            {"type": draw(st.sampled_from(["ballot", "note"])), "x": "\ud800"},
        )
    else:
        i = draw(st.integers(0, len(entries) - 1))
        paths = _value_paths(entries[i])
        path = draw(st.sampled_from(paths))
        _set(entries[i], path, draw(_changed_value(_get(entries[i], path))))
    lines = [_encode(e) for e in entries]
    return kind, signed_record(lines, sim.log_key), kind in MUST_FAIL


def _flip_hex(draw: Any, text: str) -> str:
    j = draw(st.integers(0, len(text) - 1))
    return text[:j] + draw(st.sampled_from([c for c in HEX if c != text[j]])) + text[j + 1 :]
