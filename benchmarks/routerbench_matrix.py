"""A real mixed-task correctness matrix for the predictor benchmarks: RouterBench's 0-shot items, as the RouterDC
repository commits them, turned into the correctness table that ``create_training_data.py --correctness_table``
reads (model, question_id, question, correct, dataset).

RouterBench (Hu et al. 2024, withmartian/routerbench) scored 11 LLMs on every item of several benchmarks; RouterDC
(Chen et al., NeurIPS 2024; github.com/shuhao02/RouterDC, datasets/routerbench_zs/) commits its 0-shot per-item
scores as CSV files, one per task and split: a ``sample_id``, the ``prompt`` (a one-element Python list holding
the text), ``eval_name`` (the task) and one column per model holding 0.0 or 1.0 (for multiple choice the chosen
letter matched, for MBPP the code passed the tests).  Columns with a ``|`` (per-model costs and responses) and
``oracle_model_to_route_to`` are not answers.  ARC-Challenge and Winogrande prompts start with the same five worked
examples for every item; only the last blank-line-separated block, the item itself, is kept as the question text,
without its fixed answer instruction.  An item in two split files is kept once.

    git --git-dir=/path/to/RouterDC/.git archive HEAD datasets/routerbench_zs | tar -x -C routerbench
    python benchmarks/routerbench_matrix.py routerbench/datasets/routerbench_zs routerbench.parquet
    python create_training_data.py --correctness_table routerbench.parquet --workdir rb
    python get_question_embeddings.py --workdir rb --which seed
    python benchmarks/bench_predictor_quality.py --workdir rb --skip_paper

The measured figures are in docs/predictor.md ("Against kNN on other task mixes").  RouterDC's repository states
no licence, so the data is not shipped with ddcf.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import pandas as pd

NOT_MODELS = {"Unnamed: 0", "sample_id", "prompt", "eval_name", "oracle_model_to_route_to"}
ANSWER_TAILS = ("Print only a single choice", "Answer:")


def item_text(prompt: str) -> str:
    """The item of a RouterBench prompt: the last block of its text, before the fixed answer instruction."""
    try:
        value = ast.literal_eval(prompt)
        text = str(value[-1]) if isinstance(value, (list, tuple)) and value else str(value)
    except (ValueError, SyntaxError):
        text = prompt
    blocks = [b for b in text.split("\n\n") if b.strip()]
    item = blocks[-1] if blocks else text
    for tail in ANSWER_TAILS:
        cut = item.find(tail)
        if cut > 0:
            item = item[:cut]
    return item.strip()


def convert(files: list[Path]) -> pd.DataFrame:
    frames = []
    for path in files:
        df = pd.read_csv(path)
        missing = {"sample_id", "prompt", "eval_name"} - set(df.columns)
        if missing:
            raise SystemExit(f"{path} is not a RouterBench CSV (no {', '.join(sorted(missing))} column).")
        models = [c for c in df.columns if c not in NOT_MODELS and "|" not in c]
        df = df.assign(question=df["prompt"].map(item_text), dataset=df["eval_name"].str.replace("-", "_"))
        frames.append(df.melt(id_vars=["sample_id", "question", "dataset"], value_vars=models, var_name="model",
                              value_name="correct"))
    if not frames:
        raise SystemExit("no CSV files given or found.")
    table = pd.concat(frames, ignore_index=True).rename(columns={"sample_id": "question_id"})
    table = table.dropna(subset=["correct"])
    odd = sorted(set(table["correct"].unique()) - {0.0, 1.0})
    if odd:
        raise SystemExit(f"the model columns hold values other than 0 and 1 (e.g. {odd[:3]}): not per-item "
                         "correctness.")
    table["correct"] = table["correct"].astype("int64")
    table["question_id"] = table["question_id"].astype(str)
    table = table.drop_duplicates(["model", "question_id"])
    return (table[["model", "question_id", "question", "correct", "dataset"]]
            .sort_values(["dataset", "question_id", "model"]).reset_index(drop=True))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="folder with RouterDC's datasets/routerbench_zs/*.csv (or one CSV file)")
    p.add_argument("out", help="the correctness table to write (.parquet or .csv)")
    a = p.parse_args(argv)
    src = Path(a.src)
    if not src.exists():
        raise SystemExit(f"{src} does not exist: give the folder datasets/routerbench_zs of a RouterDC checkout "
                         "(see this script's docstring for the git command) or one of its CSV files.")
    files = sorted(src.glob("*.csv")) if src.is_dir() else [src]
    table = convert(files)
    out = Path(a.out)
    if out.suffix == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    per = table.groupby("dataset").agg(questions=("question_id", "nunique"), rows=("correct", "size"),
                                       accuracy=("correct", "mean"))
    print(f"{out}: {len(table):,} answers of {table['model'].nunique()} models to "
          f"{table['question_id'].nunique():,} questions\n{per.round(3).to_string()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
