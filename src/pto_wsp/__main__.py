"""``python -m pto_wsp``: the same command line as the ``pto-wsp`` script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
