"""``python -m ballot.simulate --out DIR``: the public command, kept here; the simulator lives in
:mod:`piaojue_tools.simulate`.

A simulation plays the trustees with ``keys/`` and draws on the demo data, so it is a tool, not
part of the protocol core that an auditor installs and reads. This shim exists only because the
command is public (README, the guides, scripts): it runs the tool's ``main`` with the same options
and output. It is the one module of ``ballot/`` that imports ``keys/`` or the tools (through the
tool; ``tests/test_purity.py``), and no other module of ``ballot/`` imports it. Import the
simulator's functions from :mod:`piaojue_tools.simulate`.
"""

from __future__ import annotations

import sys

from piaojue_tools.simulate import main

if __name__ == "__main__":
    sys.exit(main())
