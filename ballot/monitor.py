"""``piaojue-monitor BASE_URL MEETING`` (also ``python -m ballot.monitor``): follows a live meeting
over the §11 API and verifies every entry as it is logged (docs/protocol.md §11, §13).

Not yet implemented: this stub only reserves the command (the console script is declared in
pyproject.toml). It prints so and exits 2.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("piaojue-monitor: not yet implemented", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
