"""The verify stage (infer.py --completions, ``ddcf verify``), end to end on a slice of the real bundled completions."""

import os

import pandas as pd
import pytest
import yaml

from ddcf import cli as ddcf_cli
from ddcf.bundled.files import SEED_COMPLETIONS
from ddcf.cli import run_main
from ddcf.infer import main
from ddcf.io import read_parquet_metadata
from ddcf.layout import Layout
from ddcf.verify.cli import command
from ddcf.verify.grade import VERDICT_COLUMNS

MODELS = ["gpt-4o-2024-05-13", "gemma-2-2b-it", "Llama-3.1-405B-Inst@sambanova"]


@pytest.fixture(scope="module")
def slice_path(tmp_path_factory):
    """~300 real rows: 3 models x (50 GSM8K + 50 MATH Level-5 questions), incl. no-JSON and math-verify cases."""
    df = pd.read_parquet(SEED_COMPLETIONS)
    df = df[df["model"].isin(MODELS)]
    gsm = sorted(df.loc[df["dataset"] == "gsm8k", "question_id"].unique())[:50]
    math = sorted(df.loc[df["dataset"] == "math", "question_id"].unique())[:50]
    part = df[df["question_id"].isin(gsm + math)].reset_index(drop=True)
    assert 250 <= len(part) <= 320
    path = tmp_path_factory.mktemp("data") / "slice.parquet"
    part.to_parquet(path)
    return path


@pytest.fixture(scope="module")
def done(slice_path, tmp_path_factory):
    """One full run on the slice; later tests reuse its work directory."""
    wd = tmp_path_factory.mktemp("work")
    code = main(["--completions", str(slice_path), "--workdir", str(wd), "--no_progress", "--workers", "2"])
    assert code == 0
    return wd


def mtimes(layout):
    return {m: os.stat(layout.verdicts(m)).st_mtime_ns for m in MODELS}


def test_end_to_end(done, slice_path):
    layout = Layout(done)
    src = pd.read_parquet(slice_path)
    for m in MODELS:
        v = pd.read_parquet(layout.verdicts(m))
        assert list(v.columns) == VERDICT_COLUMNS
        mine = src[src["model"] == m]
        assert len(v) == len(mine) and set(v["question_id"]) == set(mine["question_id"])
        assert v["correct"].dtype == bool and set(v["status"]) <= {"ok", "no_answer", "timeout", "error"}
        meta = read_parquet_metadata(layout.verdicts(m))
        assert meta["model"] == m and meta["source"] == str(slice_path) and meta["timeout_s"] == 5.0
    seed = pd.read_parquet(layout.seed_questions)
    assert list(seed.columns) == ["question_id", "question", "gold", "dataset"]
    assert len(seed) == src["question_id"].nunique() == 100
    summary = pd.read_parquet(layout.verify_summary)
    assert list(summary["model"]) == sorted(MODELS) + ["ALL"]
    acc = summary.set_index("model")["accuracy"]
    # the strongest model of the three must come out on top, the 2B model at the bottom
    assert acc["gpt-4o-2024-05-13"] > acc["gemma-2-2b-it"]
    assert acc["Llama-3.1-405B-Inst@sambanova"] > acc["gemma-2-2b-it"]
    assert layout.verify_cache.exists()


def test_resolved_config_beside_the_verdicts_repeats_the_run(done, slice_path, capsys):
    layout = Layout(done)
    path = layout.resolved_config(layout.verdicts_dir, "verify")
    saved = yaml.safe_load(path.read_text())
    assert saved == {"timeout": 5.0, "workers": 2, "completions": str(slice_path), "models": [], "answer_type": "auto",
                     "grader": "strict", "reverify": False}
    assert "infer.py --config" in path.read_text()  # the header says how to repeat the run
    first = command.parse(["--completions", str(slice_path), "--workdir", str(done), "--no_progress", "--workers", "2"])
    assert command.parse(["--config", str(path), "--workdir", str(done), "--no_progress"]) == first
    before = mtimes(layout)
    # infer.py reads --completions from the file, so it runs the verify stage
    assert main(["--config", str(path), "--workdir", str(done), "--no_progress"]) == 0
    assert "verifying 0 model(s), 3 already verified" in capsys.readouterr().out
    assert mtimes(layout) == before


def test_config_file_and_flags_override_it(slice_path, tmp_path):
    cfg = tmp_path / "verify.yaml"
    cfg.write_text(f"completions: {slice_path}\nmodels: [a, b]\ntimeout: 2\n")
    c = command.parse(["--config", str(cfg), "--timeout", "3", "--workers", "4"])
    assert (c.completions, c.models, c.timeout, c.workers) == (str(slice_path), ["a", "b"], 3.0, 4)
    c = command.parse(["--config", str(cfg), "--models", "x,y", "z"])
    assert c.models == ["x", "y", "z"]


def test_help_lists_every_option_of_both_modes(capsys):
    from ddcf.config import build_parser
    from ddcf.generate.config import GenerateConfig
    from ddcf.verify.config import VerifyConfig

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for cls in (VerifyConfig, GenerateConfig):
        for action in build_parser(cls)._actions:
            for flag in action.option_strings:
                assert flag in text, flag
    assert "--completions" in text and "--model_name" in text and "--regrade" in text


def test_ddcf_verify_is_the_same_command(done, slice_path, capsys):
    assert ddcf_cli.SUBCOMMANDS["verify"][0] == "ddcf.verify.cli"
    argv = ["verify", "--completions", str(slice_path), "--workdir", str(done), "--no_progress"]
    assert ddcf_cli.main(argv) == 0
    assert "3 already verified" in capsys.readouterr().out
    assert ddcf_cli.main(["verify", "--workdir", str(done)]) == 2  # --completions is required here
    assert "--completions is required" in capsys.readouterr().err


def test_resume_skips_finished_models(done, slice_path, capsys):
    layout = Layout(done)
    before = mtimes(layout)
    assert main(["--completions", str(slice_path), "--workdir", str(done), "--no_progress"]) == 0
    out = capsys.readouterr().out
    assert "verifying 0 model(s), 3 already verified" in out
    assert mtimes(layout) == before


def test_reverify_redoes_them_from_the_cache(done, slice_path, capsys):
    layout = Layout(done)
    before = mtimes(layout)
    old = {m: pd.read_parquet(layout.verdicts(m)) for m in MODELS}
    assert main(["--completions", str(slice_path), "--workdir", str(done), "--no_progress", "--reverify"]) == 0
    out = capsys.readouterr().out
    assert "verifying 3 model(s)" in out and "0 by math-verify" in out and "0 from the cache" not in out
    after = mtimes(layout)
    assert all(after[m] != before[m] for m in MODELS)
    for m in MODELS:  # deterministic: the same verdicts again
        pd.testing.assert_frame_equal(pd.read_parquet(layout.verdicts(m)), old[m])


def test_changed_completions_and_model_subset(done, slice_path, tmp_path, capsys):
    layout = Layout(done)
    df = pd.read_parquet(slice_path)
    changed = df.copy()
    first = changed.index[changed["model"] == MODELS[0]][0]
    changed.loc[first, "completion"] = '{"answer": "123456789"}'
    path = tmp_path / "changed.parquet"
    changed.to_parquet(path)
    before = mtimes(layout)
    assert main(["--completions", str(path), "--workdir", str(done), "--no_progress", "--models", MODELS[0]]) == 0
    out = capsys.readouterr().out
    assert "verifying 1 model(s), 0 already verified" in out
    after = mtimes(layout)
    assert after[MODELS[0]] != before[MODELS[0]] and after[MODELS[1]] == before[MODELS[1]]
    v = pd.read_parquet(layout.verdicts(MODELS[0])).set_index("question_id")
    assert v.loc[changed.loc[first, "question_id"], "prediction"] == "123456789"


def test_csv_and_jsonl_without_dataset_column(slice_path, tmp_path):
    df = pd.read_parquet(slice_path)
    small = df[df["model"] == MODELS[0]].head(20).drop(columns="dataset")
    for name, write in (("c.csv", lambda p: small.to_csv(p, index=False)),
                        ("c.jsonl", lambda p: small.to_json(p, orient="records", lines=True))):
        path = tmp_path / name
        write(path)
        wd = tmp_path / f"w_{name}"
        assert main(["--completions", str(path), "--workdir", str(wd), "--no_progress"]) == 0
        v = pd.read_parquet(Layout(wd).verdicts(MODELS[0]))
        assert set(v["dataset"]) == {"gsm8k"}  # '# N' golds
        assert v["correct"].sum() >= 15


# ------------------------------------------------------------------------------------------ bad input
def run_err(argv, capsys):
    code = run_main(main, argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return " ".join(err.split())  # the message is wrapped at 100 columns


def test_missing_empty_and_malformed_files(tmp_path, capsys):
    wd = ["--workdir", str(tmp_path / "w")]
    err = run_err(["--completions", str(tmp_path / "nope.parquet")] + wd, capsys)
    assert "does not exist" in err
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert "is empty" in run_err(["--completions", str(empty)] + wd, capsys)
    header_only = tmp_path / "header.csv"
    header_only.write_text("model,question_id,question,gold,completion\n")
    assert "has no rows" in run_err(["--completions", str(header_only)] + wd, capsys)
    cols = tmp_path / "cols.csv"
    pd.DataFrame({"model": ["a"], "question_id": ["q"], "answer": ["1"]}).to_csv(cols, index=False)
    err = run_err(["--completions", str(cols)] + wd, capsys)
    assert "lacks the column(s)" in err and "gold" in err and "completion" in err
    garbage = tmp_path / "garbage.parquet"
    garbage.write_text("this is not parquet")
    assert "Could not read" in run_err(["--completions", str(garbage)] + wd, capsys)


def test_unknown_model_and_bad_options(slice_path, tmp_path, capsys):
    base = ["--completions", str(slice_path), "--workdir", str(tmp_path / "w")]
    err = run_err(base + ["--models", f"{MODELS[0]},no-such-model"], capsys)
    assert "no-such-model" in err and MODELS[1] in err  # names the culprit and lists known models
    for bad in ("0", "-1"):
        err = run_err(base + ["--timeout", bad], capsys)
        assert "--timeout is" in err and "> 0" in err
    assert "finite" in run_err(base + ["--timeout", "nan"], capsys)
    assert "--workers is 0; it must be >= 1" in run_err(base + ["--workers", "0"], capsys)
    assert not (tmp_path / "w" / "DDCF_data" / "verdicts").exists()  # nothing written


def test_inconsistent_golds(slice_path, tmp_path, capsys):
    df = pd.read_parquet(slice_path)
    q = df["question_id"].iloc[0]
    df.loc[(df["question_id"] == q).idxmax(), "gold"] = "# 999999"
    path = tmp_path / "clash.parquet"
    df.to_parquet(path)
    err = run_err(["--completions", str(path), "--workdir", str(tmp_path / "w")], capsys)
    assert "different gold answers" in err




def test_models_whose_files_would_clash_are_refused_before_writing(tmp_path, capsys):
    """`org/m` and `org__m` are two files; `Org/M` next to `org/m` would be one on a case-insensitive disk."""
    rows = [dict(model=m, question_id="q1", question="1+1?", gold="2", completion="The answer is 2")
            for m in ("org/m", "org__m")]
    comp = tmp_path / "c.parquet"
    pd.DataFrame(rows).to_parquet(comp)
    work = tmp_path / "w"
    assert run_main(main, ["--workdir", str(work), "--completions", str(comp), "--workers", "1"]) == 0
    layout = Layout(work)
    assert layout.verdicts("org/m") != layout.verdicts("org__m")
    assert {pd.read_parquet(layout.verdicts(m))["model"].iloc[0] for m in ("org/m", "org__m")} == {"org/m", "org__m"}

    pd.DataFrame([{**rows[0], "model": m} for m in ("org/m", "Org/M")]).to_parquet(comp)
    work2 = tmp_path / "w2"
    assert run_main(main, ["--workdir", str(work2), "--completions", str(comp), "--workers", "1"]) == 2
    assert "would be written to the same file" in capsys.readouterr().err
    assert not Layout(work2).verdicts_dir.exists()
