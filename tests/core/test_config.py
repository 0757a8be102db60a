"""The one config system: flags derived from a dataclass, --config YAML, validation, resolved config."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml

from ddcf.config import (
    StageConfig,
    build_parser,
    load_yaml_config,
    make_config,
    option,
    parse_config,
    resolved_yaml,
    write_resolved_config,
)
from ddcf.errors import DDCFError


@dataclass
class DemoConfig(StageConfig):
    """Demo stage: the description shown by --help."""

    lamda: float = option(0.2, "Weight of difficulty.", min=0.0, max=1.0)
    k: int = option(1000, "How many to pick.", min=1)
    model_name: str | None = option(None, "Target model.", required=True)
    models: list[str] | None = option(None, "Subset of models.")
    which: list[str] = option(["seed", "corpus"], "Tables.", choices=("seed", "corpus"))
    device: str = option("auto", "Device.", choices=("auto", "cpu", "cuda"))
    plot: bool = option(True, "Write the plot.")
    reverify: bool = option(False, "Verify again.")
    limit: int | None = option(None, "Only the first N.")
    embedding_model: str = option("auto", "Embedder.", aliases=("--model",))

    def check(self) -> None:
        if self.limit is not None and self.limit > self.k:
            raise DDCFError("--limit is larger than --k.", "pass a smaller --limit.")


def parse(argv):
    return parse_config(DemoConfig, argv, prog="demo")[0]


def test_flags_cover_every_type():
    c = parse(["--model_name", "m", "--models", "a,b", "c", "--which", "seed", "--no_plot", "--reverify",
               "--limit", "3", "--lamda", "0.5", "--model", "mini"])
    assert (c.model_name, c.models, c.which, c.plot, c.reverify, c.limit, c.lamda) == \
        ("m", ["a", "b", "c"], ["seed"], False, True, 3, 0.5)
    assert c.embedding_model == "mini"  # the old flag spelling is an alias
    assert parse(["--model_name", "m", "--which", "seed,corpus"]).which == ["seed", "corpus"]
    with pytest.raises(DDCFError, match="--which names 'x'"):
        parse(["--model_name", "m", "--which", "seed,x"])
    d = parse(["--model_name", "m"])
    assert (d.models, d.which, d.plot, d.limit, d.k) == (None, ["seed", "corpus"], True, None, 1000)


def test_help_lists_every_option_with_its_default():
    text = build_parser(DemoConfig, "demo").format_help()
    for name in ("--config", "--workdir", "--no_progress", "--lamda", "--k", "--model_name", "--models", "--which",
                 "--device", "--plot", "--no_plot", "--reverify", "--limit", "--embedding_model"):
        assert name in text
    assert "Demo stage" in text and "(default: 0.2)" in text and "(required)" in text


def test_yaml_config_and_flags_override_it(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lamda: 0.5\nmodel_name: y\nmodels: [p, q]\nplot: false\nk: 7\n")
    c = parse(["--config", str(cfg), "--lamda", "0.7"])
    assert (c.lamda, c.model_name, c.models, c.plot, c.k) == (0.7, "y", ["p", "q"], False, 7)


def test_yaml_config_accepts_an_options_earlier_name(tmp_path):
    """A resolved config written before an option was renamed (its old flag is an alias) still repeats the run."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: mini\nmodel_name: y\n")
    assert parse(["--config", str(cfg)]).embedding_model == "mini"
    cfg.write_text("model: mini\nembedding_model: other\nmodel_name: y\n")
    with pytest.raises(DDCFError, match="embedding_model twice"):
        parse(["--config", str(cfg)])


@pytest.mark.parametrize("text,needle", [
    ("lamdaa: 1\n", "lamdaa"),
    ("k: many\n", "k"),
    ("k: 1.5\n", "k"),
    ("- a\n- b\n", "mapping"),
    ("k: [\n", "not valid YAML"),
])
def test_bad_yaml_is_one_clear_error(tmp_path, text, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(DDCFError) as e:
        load_yaml_config(cfg, [DemoConfig])
    assert needle in str(e.value) and str(cfg) in str(e.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(DDCFError, match="does not exist"):
        parse(["--config", str(tmp_path / "nope.yaml")])


@pytest.mark.parametrize("argv,needle", [
    (["--model_name", "m", "--lamda", "2"], "--lamda is 2.0; it must be <= 1.0"),
    (["--model_name", "m", "--k", "0"], "--k is 0; it must be >= 1"),
    (["--model_name", "m", "--lamda", "nan"], "--lamda is nan"),
    (["--model_name", "m", "--limit", "5000"], "--limit is larger"),
])
def test_out_of_range_values_name_the_option(argv, needle):
    with pytest.raises(DDCFError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        parse(argv)


def test_required_option_may_come_from_the_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model_name: from-file\n")
    assert parse(["--config", str(cfg)]).model_name == "from-file"
    with pytest.raises(SystemExit):  # argparse: the required flag is missing
        parse([])
    with pytest.raises(DDCFError, match="--model_name is required"):
        make_config(DemoConfig, {})


def test_choices_are_checked_for_values_from_the_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model_name: m\ndevice: tpu\n")
    with pytest.raises(DDCFError, match="--device is 'tpu'"):
        parse(["--config", str(cfg)])
    cfg.write_text("model_name: m\nwhich: seed,other\n")
    with pytest.raises(DDCFError, match="--which names 'other'"):
        parse(["--config", str(cfg)])


def test_resolved_config_repeats_the_run(tmp_path):
    c = parse(["--model_name", "m", "--models", "a,b", "--no_plot", "--workdir", str(tmp_path), "--limit", "2"])
    path = write_resolved_config(c, tmp_path / "demo.config.yaml", "demo", "demo.py")
    data = yaml.safe_load(path.read_text())
    assert "workdir" not in data and "no_progress" not in data  # where/how loudly, not what
    assert data["models"] == ["a", "b"] and data["plot"] is False
    again = parse(["--config", str(path), "--workdir", str(tmp_path)])
    assert again == c
    assert resolved_yaml(c, "demo", "demo.py").startswith("# Options of `demo.py`")


def test_option_needs_help():
    with pytest.raises(ValueError):
        option(1)


@dataclass
class PushLike(StageConfig):
    """A command with a positional word."""

    what: str | None = option(None, "What to push.", positional=True, required=True,
                              choices=("matrix", "predictor"))
    repo_id: str = option("me/x", "Repo.")


def test_positional_option_from_the_line_or_the_file(tmp_path):
    assert parse_config(PushLike, ["matrix", "--repo_id", "a/b"])[0].what == "matrix"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("what: predictor\n")
    assert parse_config(PushLike, ["--config", str(cfg)])[0].what == "predictor"
    with pytest.raises(DDCFError, match="the argument what is required"):
        parse_config(PushLike, [])
    with pytest.raises(SystemExit):
        parse_config(PushLike, ["nonsense"])


@dataclass
class ManyDirs(StageConfig):
    """A command taking any number of folders."""

    dirs: list[str] = option([], "Folders.", positional=True, metavar="DIR")
    title: str = option("t", "Title.")


def test_positional_list(tmp_path):
    assert parse_config(ManyDirs, ["a", "b,c", "--title", "x"])[0].dirs == ["a", "b", "c"]
    assert parse_config(ManyDirs, [])[0].dirs == []
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dirs: [p, q]\n")
    assert parse_config(ManyDirs, ["--config", str(cfg)])[0].dirs == ["p", "q"]
