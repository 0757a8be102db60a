"""Stage 6 end to end on a tiny synthetic layout, and every bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers_select import write_layout

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata, save_embeddings, write_parquet
from ddcf.select import kgreedy_reference
from ddcf.select.cli import main
from ddcf.select.sft_dataset import render_chatml

MODEL = "org/Target-7B"


def run(layout, *extra):
    return main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", *extra])


def test_end_to_end_outputs(layout, capsys):
    from datasets import load_from_disk

    corpus, x, pc = write_layout(layout, n=80)
    assert run(layout, "--num_select", "12", "--lamda", "0.3") == 0
    out = layout.selection_dir(MODEL, 0.3, 12)
    sel = pd.read_parquet(layout.selection_table(out))
    assert list(sel.columns) == ["rank", "question_id", "cost", "predicted_correctness", "max_similarity", "dataset"]
    assert sel["rank"].tolist() == list(range(1, 13)) and sel.question_id.is_unique
    # the same picks as the reference on the same pool (embedding-file order)
    ref = kgreedy_reference(x, pc, 12, 0.3)
    assert sel.question_id.tolist() == [f"q{i:04d}" for i in ref.indices]
    assert np.array_equal(sel.cost.to_numpy(), ref.cost)
    assert sel.dataset.tolist() == corpus.set_index("question_id").loc[sel.question_id, "dataset"].tolist()
    meta = read_parquet_metadata(layout.selection_table(out))
    assert meta["model"] == MODEL and meta["lamda"] == 0.3 and meta["k"] == 12 and meta["pool_size"] == 80
    assert meta["corpus_embeddings_ids_sha256"] and meta["pool_ids_sha256"] and meta["difficulty_ids_sha256"]

    ds = load_from_disk(str(layout.selection_dataset(out)))
    assert len(ds) == 12 and {"text", "messages", "question_id", "question", "response"} <= set(ds.column_names)
    first = corpus.set_index("question_id").loc[sel.question_id.iloc[0]]
    assert ds[0]["question_id"] == sel.question_id.iloc[0]
    # the released code's format by default: system turn, question, open assistant turn, response, no end marker
    assert ds[0]["text"] == ("<|im_start|>system\nPlease reason step by step, and put your final answer within "
                             f"\\boxed{{}}.<|im_end|>\n<|im_start|>user\n{first.question}<|im_end|>\n"
                             f"<|im_start|>assistant\n{first.response}")
    assert ds[0]["messages"] == [{"role": "user", "content": first.question},
                                 {"role": "assistant", "content": first.response}]

    rep = json.loads(layout.selection_report(out).read_text())
    for block in ("selection", "random", "pool"):
        assert {"mean_predicted_correctness", "mean_pairwise_similarity", "composition"} <= set(rep[block])
    # harder than random
    assert rep["selection"]["mean_predicted_correctness"] < rep["random"]["mean_predicted_correctness"]
    assert sum(rep["random"]["composition"].values()) == 12
    assert layout.selection_plot(out).stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "DDCF selection" in printed and "random k" in printed and "mean pred. correctness" in printed

    # a rerun replaces the outputs atomically (no leftovers), with another seed for the baseline
    assert run(layout, "--num_select", "12", "--lamda", "0.3", "--seed", "5") == 0
    assert sorted(p.name for p in out.iterdir()) == ["dataset", "report.json", "report.png", "select.config.yaml",
                                                     "selection.parquet"]


def test_max_score_filters_the_pool_and_output_dir(layout, tmp_path):
    corpus, x, pc = write_layout(layout, n=50)
    cut = float(np.sort(pc)[30])
    target = tmp_path / "custom"
    assert run(layout, "--num_select", "10", "--max_score", str(cut), "--output_dir", str(target)) == 0
    sel = pd.read_parquet(target / "selection.parquet")
    pool = np.flatnonzero(pc <= np.float32(cut))
    ref = kgreedy_reference(x[pool], pc[pool], 10, 0.2)
    assert sel.question_id.tolist() == [f"q{pool[i]:04d}" for i in ref.indices]
    assert (sel.predicted_correctness <= cut).all()
    assert (target / "select.config.yaml").is_file()  # the resolved config lands beside --output_dir's outputs


def test_jinja_template_and_local_tokenizer(layout, tmp_path):
    from datasets import load_from_disk

    corpus, _, _ = write_layout(layout, n=20)
    tpl = tmp_path / "t.jinja"
    tpl.write_text("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}")
    out = tmp_path / "o1"
    assert run(layout, "--num_select", "3", "--chat_template", str(tpl), "--output_dir", str(out)) == 0
    row = load_from_disk(str(out / "dataset"))[0]
    assert row["text"] == f"[user] {row['question']}\n[assistant] {row['response']}\n"

    out3 = tmp_path / "o3"
    assert run(layout, "--num_select", "3", "--chat_template", "chatml", "--output_dir", str(out3)) == 0
    row = load_from_disk(str(out3 / "dataset"))[0]
    assert row["text"] == (f"<|im_start|>user\n{row['question']}<|im_end|>\n"
                           f"<|im_start|>assistant\n{row['response']}<|im_end|>\n")

    tok_dir = _tiny_tokenizer(tmp_path / "tok")
    out2 = tmp_path / "o2"
    assert run(layout, "--num_select", "3", "--tokenizer", str(tok_dir), "--output_dir", str(out2)) == 0
    row = load_from_disk(str(out2 / "dataset"))[0]
    assert row["text"] == f"<<user>>{row['question']}<<assistant>>{row['response']}"


def _tiny_tokenizer(path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]")),
                                  unk_token="[UNK]")
    tok.chat_template = "{% for m in messages %}<<{{ m['role'] }}>>{{ m['content'] }}{% endfor %}"
    tok.save_pretrained(str(path))
    return path


def test_chatml_renderer():
    msgs = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    assert render_chatml(msgs) == "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nA.<|im_end|>\n"


# --------------------------------------------------------------------------- bad inputs
def test_missing_difficulty_file_suggests_stage5(layout, capsys):
    write_layout(layout, n=20)
    with pytest.raises(DDCFError, match=r"fullcorpus_difficulty_estimation\.py --model_name other/Model"):
        main(["--workdir", str(layout.root), "--model_name", "other/Model"])
    # through the script wrapper: one paragraph, exit status 2, no traceback
    code = run_main(main, ["--workdir", str(layout.root), "--model_name", "other/Model"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "fullcorpus_difficulty_estimation.py" in err


@pytest.mark.parametrize("lamda", ["-0.1", "1.5", "nan"])
def test_lamda_out_of_range(layout, lamda):
    write_layout(layout, n=20)
    with pytest.raises(DDCFError, match="--lamda"):
        run(layout, "--lamda", lamda)


def test_num_select_too_big_or_too_small(layout):
    write_layout(layout, n=20)
    with pytest.raises(DDCFError, match=r"--num_select 21 is larger than the candidate pool of 20"):
        run(layout, "--num_select", "21")
    with pytest.raises(DDCFError, match=r"--num_select is 0; it must be >= 1"):
        run(layout, "--num_select", "0")
    pc = np.linspace(0.05, 0.95, 20)
    write_layout(layout, n=20, predicted_correctness=pc.astype(np.float32))
    with pytest.raises(DDCFError, match=r"larger than the candidate pool of 10 questions"):
        run(layout, "--num_select", "11", "--max_score", "0.5")


def test_max_score_leaving_empty_pool(layout):
    write_layout(layout, n=20, predicted_correctness=np.full(20, 0.4, np.float32))
    with pytest.raises(DDCFError, match=r"--max_score 0.1 leaves no candidate.*0\.4000"):
        run(layout, "--max_score", "0.1")


def test_embeddings_missing_ids(layout):
    _, x, _ = write_layout(layout, n=20)
    ids = [f"q{i:04d}" for i in range(20)]
    save_embeddings(x[:15], ids[:15], layout.corpus_embeddings, {"embedding_model": "test-model"})
    with pytest.raises(DDCFError, match=r"no vector for 5 of the 20 questions"):
        run(layout, "--num_select", "3")


def test_embeddings_with_nan(layout):
    _, x, _ = write_layout(layout, n=20)
    x = x.copy()
    x[4, 2] = np.nan
    save_embeddings(x, [f"q{i:04d}" for i in range(20)], layout.corpus_embeddings, {"embedding_model": "test-model"})
    with pytest.raises(DDCFError, match="non-finite"):
        run(layout, "--num_select", "3")


def test_missing_embeddings_and_corpus(layout):
    write_layout(layout, n=20)
    layout.corpus_embeddings.unlink()
    with pytest.raises(DDCFError, match="get_question_embeddings.py"):
        run(layout, "--num_select", "3")
    write_layout(layout, n=20)
    layout.corpus_questions.unlink()
    with pytest.raises(DDCFError, match="corpus question"):
        run(layout, "--num_select", "3")


def test_bad_difficulty_tables(layout):
    write_layout(layout, n=20)
    ids = [f"q{i:04d}" for i in range(20)]
    p = np.full(20, 0.5)
    p[3] = np.nan
    write_parquet(pd.DataFrame({"question_id": ids, "predicted_correctness": p}), layout.difficulty(MODEL),
                  metadata={"model": MODEL})
    with pytest.raises(DDCFError, match="NaN or outside"):
        run(layout, "--num_select", "3")
    write_parquet(pd.DataFrame({"question_id": ids, "predicted_correctness": np.full(20, 0.5)}),
                  layout.difficulty(MODEL), metadata={"model": "someone/else"})
    with pytest.raises(DDCFError, match="computed for the model 'someone/else'"):
        run(layout, "--num_select", "3")
    write_parquet(pd.DataFrame({"question_id": ids, "score": np.full(20, 0.5)}), layout.difficulty(MODEL))
    with pytest.raises(DDCFError, match="predicted_correctness"):
        run(layout, "--num_select", "3")


def test_bad_template_options(layout, tmp_path):
    write_layout(layout, n=20)
    with pytest.raises(DDCFError, match="neither 'reference', 'chatml' nor an existing"):
        run(layout, "--num_select", "3", "--chat_template", str(tmp_path / "nope.jinja"))
    with pytest.raises(DDCFError, match="tokenizer folder"):
        run(layout, "--num_select", "3", "--tokenizer", str(tmp_path / "nope"))


def test_device_cuda_without_gpu(layout):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    write_layout(layout, n=20)
    with pytest.raises(DDCFError, match="no CUDA GPU"):
        run(layout, "--num_select", "3", "--device", "cuda")


def test_a_signed_selection_does_not_replace_the_floor_run(tmp_path):
    """--redundancy signed writes lamda<l>_k<k>_signed/: both runs of one lamda and k are kept side by side."""
    from ddcf.layout import Layout

    layout = Layout(tmp_path)
    floor = layout.selection_dir("m", 0.2, 10)
    signed = layout.selection_dir("m", 0.2, 10, "signed")
    assert floor.name == "lamda0.2_k10" and signed.name == "lamda0.2_k10_signed"
    from ddcf.select.config import SelectConfig
    from ddcf.select.output import selection_folder as output_dir

    assert output_dir(layout, SelectConfig(model_name="m", lamda=0.2, num_select=10, redundancy="signed")) == signed
    assert output_dir(layout, SelectConfig(model_name="m", lamda=0.2, num_select=10)) == floor
