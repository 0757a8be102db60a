"""The score tests reuse the selection tests' synthetic layout builder (tests/select/helpers_select.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "select"))
