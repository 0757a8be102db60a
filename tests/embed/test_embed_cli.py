"""get_question_embeddings.py / ``ddcf embed``: --help, --config, --model alias, resolved config, bad values."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_embed_speed_report import SPEC, TokenizingEncoder, _write  # sibling test module (rootdir mode)

from ddcf.cli import run_main
from ddcf.embed import stage as embed_stage
from ddcf.embed.cli import command, main
from ddcf.embed.config import EmbedConfig
from ddcf.io import load_embeddings

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = ["--embedding_model", "--model", "--device", "--which", "--batch_size", "--shard_size", "--shard_seconds",
           "--dtype", "--no_normalize", "--overwrite", "--workdir", "--no_progress", "--config"]


@pytest.fixture
def fake_model(monkeypatch):
    """The stage with a tiny stand-in encoder; records which model name the stage resolved."""
    asked = []

    def resolve(name, device):
        asked.append((name, device))
        return SPEC

    monkeypatch.setattr(embed_stage, "resolve_model", resolve)
    monkeypatch.setattr(embed_stage, "load_sentence_transformer", lambda spec: TokenizingEncoder())
    return asked


def test_help_lists_every_option_and_is_fast():
    out = subprocess.run([sys.executable, str(ROOT / "get_question_embeddings.py"), "--help"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    for flag in OPTIONS:
        assert flag in out, flag
    assert "Qwen/Qwen3-Embedding-4B" in out and "(default: 2048)" in out
    code = ("import sys; from ddcf.embed.cli import command; command.build_parser(); "
            "bad = [m for m in ('numpy', 'pandas', 'torch', 'sentence_transformers') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_model_is_an_alias_of_embedding_model():
    assert command.parse(["--model", "minilm"]).embedding_model == "minilm"
    assert command.parse(["--embedding_model", "minilm"]) == command.parse(["--model", "minilm"])
    assert command.parse([]).embedding_model == "auto"


def test_config_file_and_flag_override(tmp_path):
    cfg = tmp_path / "e.yaml"
    cfg.write_text("embedding_model: some/model\nwhich: [corpus]\nbatch_size: 8\ndtype: float16\n")
    c = command.parse(["--config", str(cfg)])
    assert (c.embedding_model, c.which, c.batch_size, c.dtype) == ("some/model", ["corpus"], 8, "float16")
    c = command.parse(["--config", str(cfg), "--model", "other", "--which", "seed,corpus", "--batch_size", "4"])
    assert (c.embedding_model, c.which, c.batch_size, c.dtype) == ("other", ["seed", "corpus"], 4, "float16")
    assert command.parse([]) == EmbedConfig()


def test_stage_writes_resolved_config_and_repeats(layout, fake_model, capsys):
    _write(layout, ["a b", "c d e"], ["a b", "f"])
    argv = ["--workdir", str(layout.root), "--no_progress", "--model", "fake-model", "--shard_size", "2"]
    assert main(argv) == 0
    assert fake_model[-1] == ("fake-model", "auto")
    out = capsys.readouterr().out
    assert "Stage 3 - question embeddings" in out and "duplicates skipped: 1" in out
    resolved = layout.resolved_config(layout.embeddings_dir, "embed")
    assert resolved == layout.embeddings_dir / "embed.config.yaml" and resolved.is_file()
    values = yaml.safe_load(resolved.read_text())
    assert values["embedding_model"] == "fake-model" and values["shard_size"] == 2 and "no_progress" not in values
    first, _, manifest = load_embeddings(layout.corpus_embeddings)
    assert manifest["embedding_model"] == "fake-model"  # the manifest key other stages read
    first = np.asarray(first)
    again = ["--config", str(resolved), "--workdir", str(layout.root), "--no_progress"]
    assert command.parse(again) == command.parse(argv)
    assert main(again) == 0
    assert "cache hits 3" in capsys.readouterr().out
    np.testing.assert_array_equal(np.asarray(load_embeddings(layout.corpus_embeddings)[0]), first)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--which", "seed,questions"], "--which"),
        (["--device", "tpu"], "--device"),
        (["--batch_size", "0"], "--batch_size"),
        (["--shard_size", "-1"], "--shard_size"),
    ],
)
def test_bad_values_are_one_paragraph_errors(tmp_path, capsys, argv, needle):
    code = run_main(main, ["--workdir", str(tmp_path / "w"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err


def test_bad_choice_names_the_option(tmp_path, capsys):
    # on the command line argparse refuses it (exit 2, naming the option) ...
    with pytest.raises(SystemExit) as exc:
        run_main(main, ["--dtype", "int8"])
    assert exc.value.code == 2 and "--dtype" in capsys.readouterr().err
    # ... and from a --config file it is a DDCFError naming the option
    cfg = tmp_path / "e.yaml"
    cfg.write_text("dtype: int8\n")
    assert run_main(main, ["--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "--dtype" in err and "float16" in err


def test_ddcf_embed_subcommand_is_the_same_stage(layout, fake_model):
    from ddcf.cli import main as ddcf_main

    _write(layout, ["x"], ["y z"])
    assert ddcf_main(["embed", "--workdir", str(layout.root), "--no_progress", "--which", "corpus"]) == 0
    assert layout.corpus_embeddings.is_file() and not layout.seed_embeddings.is_file()
