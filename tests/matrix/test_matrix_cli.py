"""create_training_data.py / ``ddcf matrix``: --help, --config, the resolved config, bad values."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ddcf.cli import run_main
from ddcf.matrix.cli import command, main
from ddcf.matrix.config import MatrixConfig

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = ["--correctness_table", "--models", "--val_ratio", "--test_ratio", "--folds", "--fold", "--seed",
           "--pass_threshold", "--from_pass_rates", "--workdir", "--no_progress", "--config"]


def _table(tmp_path, n_q=30):
    rows = [dict(model=f"m{m}", question_id=f"q{q}", question=f"question {q}", correct=int((q + m) % 3 == 0))
            for m in range(3) for q in range(n_q)]
    p = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_help_lists_every_option_and_is_fast():
    out = subprocess.run([sys.executable, str(ROOT / "create_training_data.py"), "--help"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    for flag in OPTIONS:
        assert flag in out, flag
    assert "(default: 0.1)" in out and "(default: 42)" in out
    # building the parser imports no pandas/numpy (--help stays instant)
    code = ("import sys; from ddcf.matrix.cli import command; command.build_parser(); "
            "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_config_file_and_flag_override(tmp_path):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("val_ratio: 0.3\nseed: 7\nmodels: m0,m2\n")
    c = command.parse(["--config", str(cfg)])
    assert (c.val_ratio, c.seed, c.models) == (0.3, 7, ["m0", "m2"])
    c = command.parse(["--config", str(cfg), "--seed", "9", "--models", "m1"])
    assert (c.val_ratio, c.seed, c.models) == (0.3, 9, ["m1"])
    assert command.parse([]) == MatrixConfig()


def test_resolved_config_is_written_and_repeats_the_run(tmp_path, layout):
    p = _table(tmp_path)
    argv = ["--workdir", str(layout.root), "--correctness_table", str(p), "--val_ratio", "0.2", "--seed", "5"]
    assert main(argv) == 0
    resolved = layout.resolved_config(layout.correctness_dir, "matrix")
    assert resolved == layout.correctness_dir / "matrix.config.yaml" and resolved.is_file()
    first = pd.read_parquet(layout.matrix)
    values = yaml.safe_load(resolved.read_text())
    assert values["val_ratio"] == 0.2 and values["seed"] == 5 and "workdir" not in values
    again = command.parse(["--config", str(resolved), "--workdir", str(layout.root)])
    assert again == command.parse(argv)
    assert main(["--config", str(resolved), "--workdir", str(layout.root)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(layout.matrix), first)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--val_ratio", "1.5"], "--val_ratio"),
        (["--val_ratio", "0"], "--val_ratio"),
        (["--pass_threshold", "-0.1"], "--pass_threshold"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_bad_values_are_one_paragraph_errors(tmp_path, capsys, argv, needle):
    assert run_main(main, ["--workdir", str(tmp_path / "w"), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_bad_config_key(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("val_ration: 0.2\n")
    assert run_main(main, ["--config", str(cfg)]) == 2
    assert "val_ration" in capsys.readouterr().err


def test_ddcf_matrix_subcommand_is_the_same_stage(tmp_path, layout):
    from ddcf.cli import main as ddcf_main

    assert ddcf_main(["matrix", "--workdir", str(layout.root), "--correctness_table", str(_table(tmp_path))]) == 0
    assert layout.matrix.is_file() and layout.resolved_config(layout.correctness_dir, "matrix").is_file()


def test_split_options_roundtrip_through_yaml(tmp_path, layout):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("val_ratio: 0.15\ntest_ratio: 0.2\nfolds: 5\nfold: 3\nseed: 8\n")
    c = command.parse(["--config", str(cfg)])
    assert (c.val_ratio, c.test_ratio, c.folds, c.fold, c.seed) == (0.15, 0.2, 5, 3, 8)
    assert command.parse(["--config", str(cfg), "--fold", "1", "--test_ratio", "0"]).fold == 1
    assert (MatrixConfig().test_ratio, MatrixConfig().folds, MatrixConfig().fold) == (0.1, 0, 0)
    argv = ["--workdir", str(layout.root), "--correctness_table", str(_table(tmp_path, n_q=40)), "--config", str(cfg)]
    assert main(argv) == 0
    first = pd.read_parquet(layout.matrix)
    resolved = layout.resolved_config(layout.correctness_dir, "matrix")
    values = yaml.safe_load(resolved.read_text())
    assert {k: values[k] for k in ("val_ratio", "test_ratio", "folds", "fold", "seed")} == dict(
        val_ratio=0.15, test_ratio=0.2, folds=5, fold=3, seed=8)
    assert main(["--config", str(resolved), "--workdir", str(layout.root)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(layout.matrix), first)
    assert set(first.split) == {"train", "val", "test"}
