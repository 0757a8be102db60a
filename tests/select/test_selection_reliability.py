"""Stage 6: no empty SFT turn, a selection folder that changes as one unit, clear errors for bad paths."""

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_select import write_layout

from ddcf import io as swap_mod
from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.io import hash_ids, read_parquet_metadata, write_parquet
from ddcf.select import stage as stage_mod
from ddcf.select.cli import main
from ddcf.select.sft_dataset import build_records, render_chatml
from ddcf.summary import render

MODEL = "org/Target-7B"


def run(layout, *extra):
    return main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select", "6", *extra])


# ---------------------------------------------------------------------------- empty texts
@pytest.mark.parametrize("column", ["question", "response"])
@pytest.mark.parametrize("text", ["", "  \n", None])
def test_candidates_with_an_empty_text_are_refused(layout, column, text):
    corpus, _, _ = write_layout(layout, n=30)
    corpus.loc[[4, 9], column] = text
    write_parquet(corpus, layout.corpus_questions)
    with pytest.raises(DDCFError, match=f"2 candidate questions have an empty {column} .*'q0004', 'q0009'"):
        run(layout)
    assert not layout.selection_dir(MODEL, 0.2, 6).exists()


@pytest.mark.parametrize("column", ["question", "response"])
def test_sft_records_never_have_an_empty_turn(column):
    rows = pd.DataFrame({"question_id": ["a", "b", "c"], "question": ["q1", "q2", "q3"], "response": ["r1", "r2", "r3"],
                         "dataset": "d", "rank": [1, 2, 3]})
    rows.loc[1, column] = None  # e.g. a left join that found no corpus row: would become the text "nan"
    rows.loc[2, column] = " "
    with pytest.raises(DDCFError, match=r"2 of the 3 selected examples would have an empty .*'b', 'c'"):
        build_records(rows, render_chatml)


# ---------------------------------------------------------------------------- one unit
class Kill(BaseException):
    """A SIGKILL: no except/finally clean-up of ours runs (BaseException passes `except Exception`)."""


def _state(out):
    """(selection ids, report's ids hash, dataset ids) of a folder; None where a file is missing."""
    from datasets import load_from_disk

    sel = pd.read_parquet(out / "selection.parquet")["question_id"].tolist() if (out / "selection.parquet").exists() \
        else None
    rep = json.loads((out / "report.json").read_text()).get("selection_ids_sha256") \
        if (out / "report.json").exists() else None
    ds = load_from_disk(str(out / "dataset"))["question_id"] if (out / "dataset").exists() else None
    return sel, rep, ds


def selection_block(layout):
    text = render(layout, MODEL, 0.2, 6)
    return text[text.index("6 selection"):]


STEPS = [("save_dataset_atomic", 1), ("write_parquet", 1), ("plot_report", 1), ("write_json", 1),
         ("replace", 1), ("replace", 2), ("rmtree", 1)]


@pytest.mark.parametrize("name, nth", STEPS)
def test_a_kill_at_any_step_leaves_the_old_or_the_new_selection(layout, monkeypatch, name, nth):
    write_layout(layout, n=40, seed=0)
    assert run(layout) == 0
    out = layout.selection_dir(MODEL, 0.2, 6)
    old = _state(out)
    old_summary = selection_block(layout)
    # changed inputs: another predicted correctness, so other picks
    write_layout(layout, n=40, seed=5)

    module = swap_mod if name in ("replace", "rmtree") else stage_mod
    target = getattr(swap_mod.os if name == "replace" else swap_mod.shutil, name) if module is swap_mod \
        else getattr(stage_mod, name)
    calls = {"n": 0}

    swap_paths = {out, swap_mod.set_aside_dir(out)}

    def killed(*args, **kwargs):
        # os.replace and shutil.rmtree are used by every atomic write too: count only the swap's own calls
        if module is stage_mod or any(Path(a) in swap_paths for a in args):
            calls["n"] += 1
            if calls["n"] == nth:
                raise Kill(name)
        return target(*args, **kwargs)

    if name == "replace":
        monkeypatch.setattr(swap_mod.os, "replace", killed)
    elif name == "rmtree":
        monkeypatch.setattr(swap_mod.shutil, "rmtree", killed)
    else:
        monkeypatch.setattr(stage_mod, name, killed)
    with pytest.raises(Kill):
        run(layout)
    monkeypatch.undo()

    seen = _state(swap_mod.current_dir(out))
    summary = selection_block(layout).replace(f"/.{out.name}.old", f"/{out.name}")  # (set aside: shown as such)
    assert seen[0] is not None and seen[1] == hash_ids(seen[0]) and seen[2] == seen[0]  # one selection, whole
    if (name, nth) != ("rmtree", 1):
        assert seen == old and summary == old_summary
    else:  # only a kill after both renames leaves the new one: complete, and the summary shows it
        assert seen != old and "6 questions" in summary and "warning" not in summary
    # a rerun completes and leaves no hidden leftovers
    assert run(layout) == 0
    new = _state(out)
    assert new[0] != old[0] and new[1] == hash_ids(new[0]) and new[2] == new[0]
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert selection_block(layout) != old_summary


def test_summary_flags_a_folder_half_written_by_an_older_version(layout):
    write_layout(layout, n=40)
    assert run(layout) == 0
    out = layout.selection_dir(MODEL, 0.2, 6)
    sel = pd.read_parquet(out / "selection.parquet")
    write_parquet(sel.iloc[::-1].assign(question_id=sel["question_id"].iloc[::-1].tolist()).head(5),
                  out / "selection.parquet")
    assert "describes another selection than" in render(layout, MODEL, 0.2, 6)


# ---------------------------------------------------------------------------- paths and numbers
def test_output_dir_that_is_a_file_or_holds_other_files(layout, tmp_path, capsys):
    write_layout(layout, n=30)
    f = tmp_path / "a_file"
    f.write_text("x")
    argv = ["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select", "6"]
    assert run_main(main, [*argv, "--output_dir", str(f)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is an existing file, not a folder" in err and "Traceback" not in err
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    assert run_main(main, [*argv, "--output_dir", str(keep)]) == 2
    assert "notes.txt" in capsys.readouterr().err and (keep / "notes.txt").read_text() == "precious"
    assert run_main(main, [*argv, "--seed", "-1"]) == 2
    assert "--seed is -1; it must be >= 0" in " ".join(capsys.readouterr().err.split())


def test_a_table_of_a_model_without_training_rows_is_refused(layout):
    write_layout(layout, n=30)
    path = layout.difficulty(MODEL)
    df = pd.read_parquet(path)
    write_parquet(df, path, metadata={**read_parquet_metadata(path), "model_train_rows": 0})
    with pytest.raises(DDCFError, match="never saw an answer of that model"):
        run(layout)
