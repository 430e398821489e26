"""The dishonest tally service of the tamper tests now lives in :mod:`conformance.forgery`, which
the conformance vector generator (``python -m conformance.generate``) shares; this module keeps
the old import path for the tests."""

from conformance.forgery import hash_hex, index_of, public_hex, retally, signed_record

__all__ = ["hash_hex", "index_of", "public_hex", "retally", "signed_record"]
