"""Which answer type grades each row: the row's own, its dataset's default, or one picked from the golds.

Separate from the registry (:mod:`ddcf.verify.answer_types`) because picking by gold values needs the choice
and code_output types, which import the registry: kept here, nothing imports in a circle.
"""

from __future__ import annotations

from ddcf.verify.answer_types import AUTO, _missing, check_name, dataset_default
from ddcf.verify.answer_types.choice import options
from ddcf.verify.answer_types.code_output import NOTHING, safe_literal
from ddcf.verify.choice_letters import gold_letter


def resolve(answer_types, datasets, default: str = AUTO, where: str = "column 'answer_type'", golds=None,
            questions=None, picks: dict | None = None) -> list[str]:
    """One answer type per row: the row's own, else its dataset's default, else ``default``.

    ``default`` ``auto``: with ``golds`` (and ``questions``) given, one type per dataset from its gold values
    (:func:`auto_pick`; ``picks``, when a dict, receives {dataset: (type, reason)}); without them, math.
    """
    if default != AUTO:
        check_name(default, "--answer_type")
    out: list[str | None] = []
    for t, d in zip(answer_types, datasets):
        if not _missing(t):
            out.append(check_name(str(t).strip(), where))
        else:
            out.append(dataset_default(d) or (None if default == AUTO else default))
    if any(t is None for t in out):
        open_rows = [i for i, t in enumerate(out) if t is None]
        if default != AUTO or golds is None:
            chosen = {None: ("math", "no gold values given")}
            key = [None] * len(out)
        else:
            golds, datasets = list(golds), list(datasets)
            questions = list(questions) if questions is not None else [""] * len(golds)
            key = [None if _missing(d) else str(d) for d in datasets]
            chosen = {}
            for ds in dict.fromkeys(key[i] for i in open_rows):
                rows = [i for i in open_rows if key[i] == ds]
                chosen[ds] = auto_pick([golds[i] for i in rows], [questions[i] for i in rows])
            if picks is not None:
                picks.update(chosen)
        for i in open_rows:
            out[i] = chosen[key[i]][0]
    return out  # type: ignore[return-value]


def auto_pick(golds, questions) -> tuple[str, str]:
    """(answer type, why) for one dataset from its gold values (``--answer_type auto``).

    * code_output: every gold is a Python literal and at least one is not a plain number (``'abc'``,
      ``[1, 2]``, ``True``, ``None``): numbers alone are math answers too;
    * choice: every gold is one letter A-J (``B``, ``(b)``) that is among the options its question lists;
    * otherwise math.
    """
    golds = [str(g) for g in golds]
    n = len(golds)
    if not n:
        return "math", "no rows"
    values = [safe_literal(g) for g in golds]
    if all(v is not NOTHING for v in values):
        other = sum(1 for v in values if isinstance(v, bool) or not isinstance(v, (int, float)))
        if other:
            return "code_output", f"all {n} golds are Python literals, {other} of them not plain numbers"
    letters = 0
    for g, q in zip(golds, questions):
        letter = gold_letter(g) if len(g.strip()) <= 3 else None
        if letter is None or letter not in options(str(q or "")):
            break
        letters += 1
    if letters == n:
        return "choice", f"all {n} golds are one letter among the options their question lists"
    return "math", "golds are neither all Python literals (beyond numbers) nor all option letters"
