"""tally.store.batching.GroupCommit: batches, per-item errors, failed transactions, leadership."""

from __future__ import annotations

import threading
import time

import pytest

from tally.store.batching import GroupCommit


def test_concurrent_submissions_are_batched_and_each_gets_its_result():
    batches: list[list[int]] = []
    gate = threading.Event()

    def run(key, items):
        if not batches:
            gate.wait(5)  # hold the first batch so that the others queue up behind it
        batches.append([item.payload for item in items])
        for item in items:
            if item.payload % 7 == 3:
                item.error = ValueError(f"rejected {item.payload}")
            else:
                item.result = item.payload * 10

    commit = GroupCommit(run)
    results: dict[int, object] = {}

    def submit(n):
        try:
            results[n] = commit.submit("m1", n)
        except ValueError as exc:
            results[n] = str(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
        time.sleep(0.002)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert sorted(n for batch in batches for n in batch) == list(range(40))  # each item exactly once
    assert len(batches) < 40  # later arrivals shared batches
    assert all(results[n] == (f"rejected {n}" if n % 7 == 3 else n * 10) for n in range(40))


def test_a_failed_transaction_fails_every_item_of_its_batch_only():
    calls = []

    def run(key, items):
        calls.append(len(items))
        if len(calls) == 1:
            raise ConnectionError("database down")
        for item in items:
            item.result = "ok"

    commit = GroupCommit(run)
    with pytest.raises(ConnectionError):
        commit.submit("m1", 1)
    assert commit.submit("m1", 2) == "ok"  # the next batch runs normally
    assert commit.submit("m2", 3) == "ok"  # keys are independent


def test_max_batch_and_promotion_under_load():
    seen = []
    lock = threading.Lock()

    def run(key, items):
        assert len(items) <= 3
        time.sleep(0.01)
        with lock:
            seen.extend(item.payload for item in items)
        for item in items:
            item.result = item.payload

    commit = GroupCommit(run, max_batch=3)
    out = []
    threads = [threading.Thread(target=lambda n=n: out.append(commit.submit("k", n))) for n in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(out) == list(range(25)) and sorted(seen) == list(range(25))
