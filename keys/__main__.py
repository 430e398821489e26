"""``python -m keys``: run the keys command line (see :mod:`keys.cli`)."""

from keys.cli import main

if __name__ == "__main__":
    main()
