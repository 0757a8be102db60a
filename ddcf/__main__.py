"""``python -m ddcf <command>``: the same as the ``ddcf`` console script."""

from ddcf.cli import main

raise SystemExit(main())
