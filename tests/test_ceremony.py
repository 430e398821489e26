"""The trustee key ceremony (SPEC §6.1), share envelopes and the §6.3 trustees list."""

from __future__ import annotations

import copy
import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ballot.group import ORDER, Point, Scalar
from ballot.meeting import parse_meeting, verify_meeting
from ballot.threshold import joint_public_key, lagrange_coefficient
from keys.ceremony import (
    announcement_fingerprint,
    begin,
    deal,
    meeting_trustees,
    parse_state,
    receive,
    run_ceremony_in_memory,
)
from keys.envelope import open_envelope, public_bytes, seal, share_associated_data
from keys.errors import CeremonyError, EnvelopeError, FeldmanError, ShareError
from keys.polynomial import commit, evaluate, feldman_expected, random_polynomial

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静"]


def meeting_entry(trustees, public_key, threshold=3, meeting_id="m1"):
    return {
        "type": "meeting",
        "spec": "piaojue/1",
        "meeting_id": meeting_id,
        "title": "t",
        "body": "b",
        "members": 10,
        "quorum": "two_thirds",
        "log_key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",  # RFC 8032 test 1
        "threshold": threshold,
        "trustees": trustees,
        "public_key": public_key,
    }


def begun(n=5, k=3, meeting_id="m1"):
    pairs = [begin(meeting_id, i, n, k, NAMES[i - 1]) for i in range(1, n + 1)]
    return [s for s, _ in pairs], [a for _, a in pairs]


# ---------------------------------------------------------------- polynomial


def test_polynomial_evaluate_and_commit():
    coefficients = [Scalar.reduce(5), Scalar.reduce(7), Scalar.reduce(11)]
    assert evaluate(coefficients, 0) == Scalar.reduce(5)
    assert evaluate(coefficients, 3) == Scalar.reduce(5 + 7 * 3 + 11 * 9)
    assert evaluate([Scalar.reduce(ORDER - 1), Scalar.reduce(1)], 1) == Scalar.reduce(0)
    commitments = commit(coefficients)
    assert commitments[1] == Point.base_mul(Scalar.reduce(7))
    for x in range(1, 6):
        assert feldman_expected(commitments, x) == Point.base_mul(evaluate(coefficients, x))
    poly = random_polynomial(4)
    assert len(poly) == 4 and all(not a.is_zero() for a in poly)
    with pytest.raises(CeremonyError):
        random_polynomial(0)
    with pytest.raises(CeremonyError):
        evaluate([], 1)


# ---------------------------------------------------------------- the whole ceremony


def test_three_of_five_ceremony():
    trustees, public_key, states = run_ceremony_in_memory("m1", NAMES, 3)
    meeting = parse_meeting(meeting_entry(trustees, public_key))
    verify_meeting(meeting)
    keys = meeting.verification_keys()
    commitments = [t.commitments for t in meeting.trustees]
    assert Point.from_hex(public_key) == joint_public_key(commitments)
    assert [t["index"] for t in trustees] == [1, 2, 3, 4, 5]
    assert all(set(t) == {"index", "name", "commitments", "proofs"} for t in trustees)
    assert [t["name"] for t in trustees] == NAMES
    shares = {}
    for l, state in enumerate(states, start=1):
        parsed = parse_state(state)
        assert parsed.index == l and parsed.complete
        assert parsed.verification_key == Point.base_mul(parsed.share) == keys[l]
        assert parsed.public_key == meeting.public_key
        shares[l] = parsed.share
    # any k shares interpolate to the joint secret s with s·G = K (never done in a real meeting)
    for subset in itertools.combinations(range(1, 6), 3):
        s = Scalar.reduce(0)
        for l in subset:
            s = s + lagrange_coefficient(l, list(subset)) * shares[l]
        assert Point.base_mul(s) == meeting.public_key
    # two shares are not enough
    s2 = lagrange_coefficient(1, [1, 2]) * shares[1] + lagrange_coefficient(2, [1, 2]) * shares[2]
    assert Point.base_mul(s2) != meeting.public_key


def test_one_of_one_and_n_of_n():
    trustees, public_key, states = run_ceremony_in_memory("solo", ["only"], 1)
    verify_meeting(parse_meeting(meeting_entry(trustees, public_key, threshold=1, meeting_id="solo")))
    assert parse_state(states[0]).public_key == Point.from_hex(public_key)
    trustees, public_key, _ = run_ceremony_in_memory("all3", NAMES[:3], 3)
    verify_meeting(parse_meeting(meeting_entry(trustees, public_key, threshold=3, meeting_id="all3")))


def test_announcement_and_state_shape():
    state, announcement = begin("m1", 2, 5, 3, "王芳")
    assert set(announcement) == {"index", "name", "commitments", "proofs", "transport_key"}
    assert len(announcement["commitments"]) == 3 and len(announcement["proofs"]) == 3
    assert state["index"] == 2 and len(state["coefficients"]) == 3
    assert "share" not in state
    fingerprint = announcement_fingerprint(announcement)
    assert len(fingerprint) == 19 and fingerprint.count("-") == 3
    with pytest.raises(CeremonyError):
        begin("m1", 6, 5, 3, "x")
    with pytest.raises(CeremonyError):
        begin("m1", 1, 5, 6, "x")
    with pytest.raises(CeremonyError):
        begin("bad id!", 1, 5, 3, "x")
    with pytest.raises(CeremonyError):
        begin("m1", 1, 5, 3, "  ")


# ---------------------------------------------------------------- complaints


def _all_messages(states, announcements):
    return [m for state in states for m in deal(state, announcements)]


def test_wrong_share_fails_feldman_and_names_sender():
    states, announcements = begun()
    messages = _all_messages(states, announcements)
    # trustee 3 seals a wrong value to trustee 2, properly encrypted and bound
    coefficients = parse_state(states[2]).coefficients
    bad = (evaluate(coefficients, 2) + Scalar.reduce(1)).to_bytes()
    envelope = seal(bytes.fromhex(announcements[1]["transport_key"]), bad, share_associated_data("m1", 3, 2))
    tampered = [
        {"from": 3, "to": 2, "envelope": envelope} if (m["from"], m["to"]) == (3, 2) else m for m in messages
    ]
    with pytest.raises(FeldmanError) as info:
        receive(states[1], announcements, tampered)
    assert info.value.sender == 3 and info.value.recipient == 2 and info.value.trustee == 3
    assert "trustee 3's share to trustee 2 fails the Feldman check" in str(info.value)
    # the others are unaffected
    for l in (1, 3, 4, 5):
        receive(states[l - 1], announcements, tampered)


def test_several_bad_shares_are_all_named():
    states, announcements = begun()
    messages = _all_messages(states, announcements)
    for m in messages:
        if m["to"] == 1 and m["from"] in (2, 5):
            value = Scalar.random().to_bytes()
            m["envelope"] = seal(
                bytes.fromhex(announcements[0]["transport_key"]),
                value,
                share_associated_data("m1", m["from"], 1),
            )
    with pytest.raises(FeldmanError) as info:
        receive(states[0], announcements, messages)
    assert info.value.sender == 2
    assert [f.sender for f in info.value.failures] == [2, 5]
    assert "trustee 5's share to trustee 1" in str(info.value)


def test_tampered_ciphertext_is_a_complaint_about_the_sender():
    states, announcements = begun()
    messages = _all_messages(states, announcements)
    for m in messages:
        if (m["from"], m["to"]) == (4, 1):
            ct = bytearray(bytes.fromhex(m["envelope"]["ciphertext"]))
            ct[0] ^= 1
            m["envelope"]["ciphertext"] = ct.hex()
    with pytest.raises(ShareError) as info:
        receive(states[0], announcements, messages)
    assert not isinstance(info.value, FeldmanError)
    assert info.value.sender == 4 and "trustee 4's share to trustee 1 cannot be opened" in str(info.value)


def test_relabelled_message_does_not_open():
    states, announcements = begun()
    messages = _all_messages(states, announcements)
    by_pair = {(m["from"], m["to"]): m for m in messages}
    # trustee 5's envelope to trustee 1, presented as trustee 4's
    relabelled = [m for m in messages if (m["from"], m["to"]) != (4, 1)]
    relabelled.append({"from": 4, "to": 1, "envelope": by_pair[(5, 1)]["envelope"]})
    with pytest.raises(ShareError) as info:
        receive(states[0], announcements, relabelled)
    assert info.value.sender == 4


def test_tampered_proof_of_knowledge_is_rejected_in_deal():
    states, announcements = begun()
    bad = copy.deepcopy(announcements)
    c, v = bad[3]["proofs"][1]
    bad[3]["proofs"][1] = [c, (Scalar.from_hex(v) + Scalar.reduce(1)).hex()]
    with pytest.raises(CeremonyError) as info:
        deal(states[0], bad)
    assert info.value.trustee == 4
    assert "trustee 4's proof of knowledge for A_4,1 does not verify" in str(info.value)
    # a commitment swapped for another one, with its old proof
    bad = copy.deepcopy(announcements)
    bad[2]["commitments"][0] = announcements[1]["commitments"][0]
    with pytest.raises(CeremonyError) as info:
        deal(states[0], bad)
    assert info.value.trustee == 3
    # proofs made for another meeting do not verify here
    _, other = begun(meeting_id="m2")
    with pytest.raises(CeremonyError) as info:
        deal(states[0], announcements[:1] + other[1:])
    assert info.value.trustee == 2
    # and receive checks them too
    with pytest.raises(CeremonyError):
        receive(states[0], announcements[:1] + other[1:], [])


def test_announcement_set_problems():
    states, announcements = begun()
    with pytest.raises(CeremonyError, match="missing announcements from trustee 5"):
        deal(states[0], announcements[:4])
    # an identical duplicate is harmless, a different one is not
    assert len(deal(states[0], announcements + [copy.deepcopy(announcements[2])])) == 4
    _, other = begun()
    with pytest.raises(CeremonyError, match="two different announcements for trustee 3"):
        deal(states[0], announcements + [other[2]])
    # own announcement replaced (e.g. the relay swapped the transport key)
    replaced = copy.deepcopy(announcements)
    replaced[0]["transport_key"] = public_bytes(X25519PrivateKey.generate()).hex()
    with pytest.raises(CeremonyError, match="not the one this state made"):
        deal(states[0], replaced)
    duplicate_key = copy.deepcopy(announcements)
    duplicate_key[4]["transport_key"] = duplicate_key[3]["transport_key"]
    with pytest.raises(CeremonyError, match="same transport key"):
        deal(states[0], duplicate_key)
    extra = copy.deepcopy(announcements)
    extra[1]["meeting_id"] = "m1"
    with pytest.raises(CeremonyError) as info:
        deal(states[0], extra)
    assert info.value.trustee == 2
    with pytest.raises(CeremonyError):
        deal(states[0], {"index": 1})


def test_missing_and_conflicting_messages():
    states, announcements = begun()
    messages = _all_messages(states, announcements)
    with pytest.raises(CeremonyError, match="no share for trustee 2 from trustee 5") as info:
        receive(states[1], announcements, [m for m in messages if m["from"] != 5])
    assert not isinstance(info.value, ShareError)
    # a second, different copy of a message
    again = deal(states[4], announcements)
    with pytest.raises(CeremonyError, match="two different messages from trustee 5"):
        receive(states[1], announcements, messages + again)
    # an identical copy is fine
    new_state = receive(states[1], announcements, messages + [copy.deepcopy(messages[0])])
    assert parse_state(new_state).complete
    with pytest.raises(CeremonyError):
        receive(states[1], announcements, messages + [{"from": 9, "to": 2, "envelope": {}}])


def test_receive_does_not_mutate_and_is_repeatable():
    states, announcements = begun()
    messages = _all_messages(states, announcements)
    before = copy.deepcopy(states[0])
    first = receive(states[0], announcements, messages)
    assert states[0] == before
    assert receive(first, announcements, messages) == first


def test_meeting_trustees_checks_proofs_for_the_meeting():
    _, announcements = begun()
    trustees, public_key = meeting_trustees(announcements, meeting_id="m1")
    assert meeting_trustees(list(reversed(announcements)))[0] == trustees
    with pytest.raises(CeremonyError):
        meeting_trustees(announcements, meeting_id="m2")
    entry = meeting_entry(trustees, public_key)
    verify_meeting(parse_meeting(entry))
    assert "transport_key" not in str(entry)


def test_parse_state_rejects_garbage():
    state, _ = begin("m1", 1, 3, 2, "a")
    for broken in (
        {},
        {**state, "format": "x"},
        {**state, "coefficients": state["coefficients"][:1]},
        {**state, "transport_key": "00"},
        {**state, "share": "00" * 32},
        {**state, "index": 4},
    ):
        with pytest.raises(CeremonyError):
            parse_state(broken)


# ---------------------------------------------------------------- envelopes


def test_envelope_round_trip_and_binding():
    recipient = X25519PrivateKey.generate()
    other = X25519PrivateKey.generate()
    ad = share_associated_data("m1", 1, 2)
    envelope = seal(public_bytes(recipient), b"secret share", ad)
    assert set(envelope) == {"ephemeral", "nonce", "ciphertext"}
    assert open_envelope(recipient, envelope, ad) == b"secret share"
    assert seal(public_bytes(recipient), b"secret share", ad) != envelope  # fresh ephemeral key
    for wrong_ad in (
        share_associated_data("m1", 1, 3),
        share_associated_data("m1", 2, 1),
        share_associated_data("m2", 1, 2),
    ):
        with pytest.raises(EnvelopeError):
            open_envelope(recipient, envelope, wrong_ad)
    with pytest.raises(EnvelopeError):
        open_envelope(other, envelope, ad)


def test_envelope_malformed_input():
    recipient = X25519PrivateKey.generate()
    ad = b"ad"
    envelope = seal(public_bytes(recipient), b"x" * 32, ad)
    for field in ("ephemeral", "nonce", "ciphertext"):
        tampered = dict(envelope)
        raw = bytearray(bytes.fromhex(tampered[field]))
        raw[-1] ^= 0x40
        tampered[field] = raw.hex()
        with pytest.raises(EnvelopeError):
            open_envelope(recipient, tampered, ad)
    for broken in (
        None,
        [],
        {"ephemeral": envelope["ephemeral"], "nonce": envelope["nonce"]},
        {**envelope, "extra": 1},
        {**envelope, "nonce": "zz" * 12},
        {**envelope, "nonce": envelope["nonce"].upper()},
        {**envelope, "nonce": "00" * 11},
        {**envelope, "ciphertext": ""},
        {**envelope, "ephemeral": "00" * 32},  # low-order point: all-zero shared secret
    ):
        with pytest.raises(EnvelopeError):
            open_envelope(recipient, broken, ad)
    with pytest.raises(EnvelopeError):
        seal(b"short", b"x", ad)
    with pytest.raises(EnvelopeError):
        seal(bytes(32), b"x", ad)
    with pytest.raises(EnvelopeError):
        open_envelope(b"not a key", envelope, ad)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)
