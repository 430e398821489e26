"""Tools beside the protocol core: demo data and the whole-meeting simulator.

``ballot/`` is what an auditor installs and reads; the code here only produces meetings and
records to look at or test against (as electionguard-python keeps ``electionguard_tools`` apart
from ``electionguard``). It may import ``ballot/`` and ``keys/`` (it plays the trustees); nothing
in ``ballot/`` imports it except the ``ballot.simulate`` command shim (``tests/test_purity.py``).

- :mod:`piaojue_tools.demo_data`: sample projects, nominees, candidates, departments and names;
- :mod:`piaojue_tools.simulate`: ``python -m ballot.simulate --out DIR`` (or
  ``python -m piaojue_tools.simulate``), a whole meeting with real crypto, and its record.
"""
