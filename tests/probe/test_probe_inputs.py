"""ddcf probe (issue 25): a verdict table of another model is refused; printed next steps run as printed."""

import shlex

import pandas as pd
import pytest
from test_probe import NEW, probe, trained, write_verdicts

from ddcf.errors import InputMismatchError
from ddcf.io import write_parquet


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    layout, synth = trained(tmp_path_factory.mktemp("probe_inputs"))
    rep = probe(layout, "plan", num=30)
    return layout, synth, rep


def test_fit_refuses_a_verdict_table_of_another_model(planned):
    layout, _, rep = planned
    write_verdicts(layout, rep.details["questions"], [1, 0] * 15, model="org/someone-else")
    layout.verdicts("org/someone-else").replace(layout.verdicts(NEW))  # copied over NEW's file name
    with pytest.raises(InputMismatchError, match="holds the verdicts of 'org/someone-else', not of 'org/new-model'"):
        probe(layout, "fit")


def test_fit_refuses_a_table_whose_recorded_model_is_another(planned):
    layout, _, rep = planned
    ids = rep.details["questions"]
    write_parquet(pd.DataFrame(dict(question_id=ids, correct=[1, 0] * 15)), layout.verdicts(NEW),
                  metadata={"model": "org/someone-else"})
    with pytest.raises(InputMismatchError, match="someone-else"):
        probe(layout, "fit")


def _commands(text: str, marker: str) -> list[list[str]]:
    return [shlex.split(line.split(marker, 1)[1]) for line in text.splitlines() if marker in line]


def test_printed_next_steps_carry_the_workdir(tmp_path, monkeypatch):
    layout, synth = trained(tmp_path / "my work")
    monkeypatch.chdir(tmp_path)  # not the work directory: a command without --workdir would miss it
    rep = probe(layout, "plan", num=20)
    steps = _commands(rep.summary, "next:") + _commands(rep.summary, "then:")
    header = (layout.probe_questions(NEW)).read_text().splitlines()[2]
    steps += [shlex.split(part.replace("then ", "", 1)) for part in header.split("next:", 1)[1].split(";")]
    assert len(steps) == 4
    for argv in steps:
        assert argv[argv.index("--workdir") + 1] == str(layout.root)
        assert argv[argv.index("--model_name") + 1] == NEW
    truth = synth.train[synth.train.model_id == 0].set_index("question_id")["correct"]
    write_verdicts(layout, rep.details["questions"], truth.loc[rep.details["questions"]].to_numpy())
    rep = probe(layout, "fit")
    (argv,) = _commands(rep.summary, "next:")
    assert argv[:2] == ["python", "fullcorpus_difficulty_estimation.py"]
    assert argv[argv.index("--workdir") + 1] == str(layout.root)
