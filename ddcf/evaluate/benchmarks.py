"""The ten evaluation benchmarks of the paper's Table 2: where each file is, how its answers are graded.

Every file under ``data/benchmarks/`` is JSON Lines with one schema (written by
``scripts/build_benchmarks.py`` from ``../shared/data/benchmarks``; sources and licenses in
``data/benchmarks/SOURCES.md``)::

    {"id": "gsm8k/0", "problem": "...", "answer": "18", "answer_type": "numeric"}

``answer_type`` picks the grading style of the project's verifier: ``numeric`` (GSM8K-style: numbers,
last-number fallback), ``math`` (LaTeX expressions, math-verify) or ``choice`` (a letter A-D, the chain
of :mod:`ddcf.verify.choice`).  Gaokao mixes choice and open questions, so the type is per question.

``role`` is the column group of Table 2: ``ID`` (in-distribution), ``OOD`` or ``dev`` (development sets,
after the averages).  AIME24 and AMC23 are small and hard: 64 samples per question, reported as the
unbiased pass@32; the others one sample, pass@1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddcf.errors import DDCFError

BENCHMARK_DIR = Path(__file__).resolve().parents[2] / "data" / "benchmarks"
ANSWER_TYPES = ("numeric", "math", "choice")
BENCHMARK_COLUMNS = ("id", "problem", "answer", "answer_type")


@dataclass(frozen=True)
class Benchmark:
    name: str  # file stem and --benchmarks name
    column: str  # Table 2 column header
    role: str  # 'ID' | 'OOD' | 'dev'
    answer_type: str  # default of the file's rows (see the module docstring)
    samples: int = 1
    k: int | None = None  # headline pass@k (None: pass@1)

    @property
    def path(self) -> Path:
        return BENCHMARK_DIR / f"{self.name}.jsonl"


#: in Table 2 order: ID columns, then OOD, then the development sets
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("aime24", "AIME24", "ID", "numeric", samples=64, k=32),
    Benchmark("math500", "MATH", "ID", "math"),
    Benchmark("olympiadbench", "OlyBen", "ID", "math"),
    Benchmark("gsm8k", "GSM8k", "ID", "numeric"),
    Benchmark("sat", "SAT", "ID", "choice"),
    Benchmark("minervamath", "Minerva", "OOD", "math"),
    Benchmark("gaokao", "Gaokao", "OOD", "math"),
    Benchmark("stem", "STEM", "OOD", "choice"),
    Benchmark("svamp", "SVAMP", "dev", "numeric"),
    Benchmark("amc23", "AMC23", "dev", "numeric", samples=64, k=32),
)
BY_NAME = {b.name: b for b in BENCHMARKS}
#: --benchmarks spellings users know from other harnesses
ALIASES = {"math": "math500", "olympiad": "olympiadbench", "olyben": "olympiadbench", "minerva": "minervamath",
           "mmlu_stem": "stem", "mmlu-stem": "stem", "sat_math": "sat", "aime": "aime24", "amc": "amc23"}
NAMES = tuple(BY_NAME)


def resolve(names: list[str]) -> list[Benchmark]:
    """``['all']`` or names/aliases -> benchmarks in Table 2 order; an unknown name is a DDCFError."""
    wanted: set[str] = set()
    for raw in names:
        key = raw.strip().lower()
        if key == "all":
            wanted.update(NAMES)
            continue
        key = ALIASES.get(key, key)
        if key not in BY_NAME:
            raise DDCFError(f"--benchmarks names an unknown benchmark {raw!r}.",
                            f"use 'all' or a comma-separated list of {', '.join(NAMES)}.")
        wanted.add(key)
    if not wanted:
        raise DDCFError("--benchmarks is empty.", f"pass 'all' or some of {', '.join(NAMES)}.")
    return [b for b in BENCHMARKS if b.name in wanted]


def load(bench: Benchmark, limit: int | None = None, directory: Path | None = None):
    """The benchmark's questions as a DataFrame (question_id, question, gold, answer_type), first ``limit``."""
    import pandas as pd

    path = Path(directory or BENCHMARK_DIR) / f"{bench.name}.jsonl"
    if not path.is_file():
        raise DDCFError(f"The benchmark file {path} is missing.",
                        "restore data/benchmarks/ from the repository or rebuild it with "
                        "scripts/build_benchmarks.py.")
    df = pd.read_json(path, lines=True, dtype=False)
    missing = [c for c in BENCHMARK_COLUMNS if c not in df.columns]
    if missing:
        raise DDCFError(f"The benchmark file {path} lacks the field(s) {', '.join(missing)}.",
                        "rebuild it with scripts/build_benchmarks.py.")
    if limit is not None:
        df = df.head(limit)
    return pd.DataFrame({"question_id": df["id"].astype(str), "question": df["problem"].astype(str),
                         "gold": df["answer"].astype(str), "answer_type": df["answer_type"].astype(str)})
