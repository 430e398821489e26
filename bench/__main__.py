"""``python -m bench [core|verifier|cast|kiosk|live|mix …] [--quick]``: run benchmarks, update docs/performance.md.

``--quick`` runs a small version of each and writes nothing (a smoke test).
"""

from __future__ import annotations

import argparse

from bench import cast, core, kiosk, live, mix, verifier

BENCHES = {"core": core.main, "verifier": verifier.main, "cast": cast.main, "kiosk": kiosk.main, "live": live.main, "mix": mix.main}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=list(BENCHES), help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, nothing written")
    args = parser.parse_args()
    for name in args.names or list(BENCHES):
        print(f"== {name} ==")
        BENCHES[name](quick=args.quick)


if __name__ == "__main__":
    main()
