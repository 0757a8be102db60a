"""Old name of :mod:`ddcf.verify.choice_letters` (renamed: two modules were called choice.py).

Deprecated; removed in ddcf 0.2.  Import from :mod:`ddcf.verify.choice_letters`; ``extract_choice`` is in
:mod:`ddcf.verify.answer_types.choice`, ``grade_choices`` in :mod:`ddcf.verify.grade`.
"""

from ddcf._deprecated import warn_moved
from ddcf.verify.answer_types.choice import extract_choice  # noqa: F401
from ddcf.verify.choice_letters import *  # noqa: F403
from ddcf.verify.choice_letters import CHAIN, FALLBACK_CHAIN, LETTERS, gold_letter  # noqa: F401
from ddcf.verify.grade import grade_choices  # noqa: F401

warn_moved("ddcf.verify.choice")
