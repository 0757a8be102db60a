"""Stage 1, verify half: extract a completion's final answer and check it against the gold.

Entry points: :mod:`ddcf.verify.stage` (``infer.py --completions PATH``, ``ddcf verify``; options in
:mod:`ddcf.verify.config`) and :func:`ddcf.verify.grade.grade_completions` (library; the generation
stage grades its own completions through :mod:`ddcf.verify.generated`).

Modules: ``extract`` (named filter chains), ``gold`` (gold normalisation), ``normalize``
(string/number canonical forms), ``equivalence`` (fast paths + :class:`Verifier`), ``pool``
(killable math-verify workers), ``cache`` (persistent verdict cache), ``grade`` (tables in,
verdict tables out), ``generated`` (n sampled completions per question -> verdicts),
``accuracy`` (per-model accuracy tables).
"""
