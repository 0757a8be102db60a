"""Every numeric option of the matrix, predictor, difficulty and select stages is checked once, in its config
dataclass: non-finite and out-of-range values are one error naming the option, never a traceback."""

import dataclasses
import typing

import pytest

from ddcf.cli import run_main
from ddcf.difficulty.cli import command as difficulty_command
from ddcf.matrix.cli import command as matrix_command
from ddcf.predictor.cli import command as predictor_command
from ddcf.select.cli import command as select_command

COMMANDS = {"matrix": matrix_command, "predictor": predictor_command, "difficulty": difficulty_command,
            "select": select_command}
REQUIRED = {"difficulty": ["--model_name", "m"], "select": ["--model_name", "m"]}


def numeric_options(kind):
    for stage, command in COMMANDS.items():
        hints = typing.get_type_hints(command.config)
        for f in dataclasses.fields(command.config):
            if hints[f.name] in (kind, kind | None):
                yield stage, f.name


FLOATS = list(numeric_options(float))
INTS = list(numeric_options(int))


def _error(capsys, stage, argv):
    assert run_main(COMMANDS[stage].main, [*REQUIRED.get(stage, []), *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_every_numeric_option_has_a_range():
    assert len(FLOATS) >= 10 and len(INTS) >= 10
    for stage, name in FLOATS + INTS:
        meta = next(f for f in dataclasses.fields(COMMANDS[stage].config) if f.name == name).metadata
        assert {"min", "min_excl"} & set(meta) and {"max", "max_excl"} & set(meta), (stage, name)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
@pytest.mark.parametrize("stage, name", FLOATS)
def test_non_finite_floats_are_refused(capsys, stage, name, value):
    err = _error(capsys, stage, [f"--{name}={value}"])  # "=": argparse reads "-inf" as a flag
    assert f"--{name} is" in err and "Fix:" in err


@pytest.mark.parametrize("stage, argv, needle", [
    ("predictor", ["--weight_decay", "inf"], "--weight_decay is inf"),
    ("predictor", ["--lr", "nan"], "--lr is nan"),
    ("predictor", ["--alpha", "nan"], "--alpha is nan"),
    ("predictor", ["--dropout", "nan"], "--dropout is nan"),
    ("predictor", ["--hidden_ratio", "nan"], "--hidden_ratio is nan"),
    ("predictor", ["--warmup_ratio", "nan"], "--warmup_ratio is nan"),
    ("predictor", ["--lr", "1e6"], "--lr is 1000000.0; it must be <= 10.0"),
    ("predictor", ["--seed", "-1"], "--seed is -1; it must be >= 0"),
    ("predictor", ["--seed", str(2**64)], "--seed is 18446744073709551616; it must be <= 4294967295"),
    ("predictor", ["--batch_size", str(10**12)], "--batch_size is 1000000000000; it must be <="),
    ("matrix", ["--seed", "-1"], "--seed is -1; it must be >= 0"),
    ("select", ["--seed", "-1"], "--seed is -1; it must be >= 0"),
    ("select", ["--max_score", "-0.5"], "--max_score is -0.5; it must be >= 0.0"),
    ("difficulty", ["--chunk_size", str(10**12)], "--chunk_size is 1000000000000; it must be <="),
])
def test_out_of_range_values_name_the_option(capsys, stage, argv, needle):
    assert needle in _error(capsys, stage, argv)
