"""tally.ops.gc_tuning: the collector settings gunicorn applies in each worker, and the pause log
``bench live`` reads. (That the served instances run with them is asserted by
tests/scale/test_live_broadcast.py, through the instances' own pause logs.)"""

from __future__ import annotations

import gc

import pytest

from tally.ops import gc_tuning


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    callbacks = list(gc.callbacks)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks


def test_apply_freezes_what_exists_and_raises_the_first_threshold(restore_gc):
    survivor = [object() for _ in range(10)]
    gc.unfreeze()
    before = gc.get_threshold()
    gc_tuning.apply()
    assert gc.get_threshold() == (gc_tuning.THRESHOLD0, before[1], before[2])
    assert gc.get_freeze_count() > 0
    assert not any(o is survivor for o in gc.get_objects())  # frozen: in no generation, never scanned
    late = [object()]
    assert any(o is late for o in gc.get_objects())  # what comes later is collected as usual


def test_apply_refuses_a_threshold_below_one(restore_gc):
    with pytest.raises(ValueError, match="at least 1"):
        gc_tuning.apply(0)


def test_the_pause_log_records_every_collection_with_its_generation(tmp_path, restore_gc):
    gc.set_threshold(1234, 10, 10)
    log = gc_tuning.PauseLog(tmp_path)
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        log.close()
    header, pauses = gc_tuning.read_pauses(log.path)
    assert header["threshold"] == "1234,10,10" and int(header["frozen"]) >= 0
    assert [generation for _, generation, _ in pauses][-2:] == [2, 0]
    assert all(pause >= 0 for _, _, pause in pauses)
    assert pauses == sorted(pauses, key=lambda p: p[0])  # monotonic end times
    gc.collect(2)
    assert len(gc_tuning.read_pauses(log.path)[1]) == len(pauses)  # closed: no more lines
