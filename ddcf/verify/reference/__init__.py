"""The released DDCF grader's semantics (``--grader reference``), reimplemented clean-room.

The paper's code grades with an edited copy of Qwen2.5-Math's ``math_equal`` and ``extract_answer``; Table 2
and the released correctness matrices were made with it.  Ours (:mod:`ddcf.verify`, ``--grader strict``) is
stricter.  This package reproduces the released behaviour so our numbers are comparable:

* :mod:`.strip`   the answer clean-up applied to every extracted prediction (unit text, ``\\text{}``,
  ``x=``, word numbers, ``\\frac12``, ``a/b``, ...);
* :mod:`.extract` the last ``\\boxed{}`` / "the answer is" / (evaluation only) the last number;
* :mod:`.equal`   the comparison: exact text, choice letters, the 30-character rule, Minerva normalisation of
  both sides, numbers within 1% relative (also x100 and /100: percent forms), brackets, tuples, matrices,
  equations; sympy only at the end, through a hook;
* :mod:`.symbolic` the sympy part (parsing, simplify, numeric evaluation), run only inside the killable
  worker processes of :mod:`ddcf.verify.workers` because sympy can spin without end;
* :mod:`.grader`  batches: extraction and the sympy-free front in this process, the rest in the workers.

``strip``, ``extract`` and ``equal`` import neither pandas nor sympy; the worker process imports :mod:`.symbolic`
(and through it :mod:`.equal`) only.  The one addition to the released extraction is the JSON ``"answer"``
field of the bundled seed outputs, read first (:func:`ddcf.verify.reference.extract.json_answer`).
"""
