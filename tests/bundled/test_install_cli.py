"""scripts/install_bundled_data.py / ``ddcf install-bundled``: --help, --config, the resolved config, bad values."""

import subprocess
import sys
from pathlib import Path

import yaml

from ddcf.bundled.cli import command, main
from ddcf.bundled.config import InstallConfig
from ddcf.cli import run_main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_option():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "install_bundled_data.py"), "--help"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    for flag in ("--no_embedding_cache", "--workdir", "--no_progress", "--config"):
        assert flag in out, flag


def test_install_writes_tables_and_resolved_config(layout, capsys):
    assert main(["--workdir", str(layout.root), "--no_embedding_cache"]) == 0
    out = capsys.readouterr().out
    assert "2040 seed" in out and "15657 corpus" in out and "shipped corpus vectors" not in out
    assert "289 duplicate question text(s) dropped" in out
    assert layout.seed_questions.is_file() and layout.corpus_questions.is_file()
    assert not layout.embedding_shards.exists()
    resolved = layout.resolved_config(layout.data, "install_bundled")
    assert yaml.safe_load(resolved.read_text()) == {"keep_duplicates": False, "no_embedding_cache": True}
    assert command.parse(["--config", str(resolved)]) == InstallConfig(no_embedding_cache=True)
    # a flag wins over the file
    cfg = resolved.parent / "off.yaml"
    cfg.write_text("no_embedding_cache: false\n")
    assert command.parse(["--config", str(cfg), "--no_embedding_cache"]).no_embedding_cache is True


def test_ddcf_install_bundled_fills_the_embedding_cache(layout, capsys):
    from ddcf.cli import main as ddcf_main

    assert ddcf_main(["install-bundled", "--workdir", str(layout.root)]) == 0
    assert "shipped corpus vectors" in capsys.readouterr().out
    assert any(layout.embedding_shards.rglob("chunk-900000.npy"))


def test_bad_config_value(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("no_embedding_cache: maybe\n")
    assert run_main(main, ["--config", str(cfg)]) == 2
    assert "no_embedding_cache" in capsys.readouterr().err


def test_install_keeps_duplicate_texts_when_asked(layout, capsys):
    from ddcf.artifacts import corpus

    assert main(["--workdir", str(layout.root), "--no_embedding_cache", "--keep_duplicates"]) == 0
    assert "15946 corpus" in capsys.readouterr().out
    assert corpus.count(layout) == 15946
    assert corpus.provenance(layout)["duplicate_texts"] == 289
    assert corpus.provenance(layout)["duplicates_dropped"] == 0
