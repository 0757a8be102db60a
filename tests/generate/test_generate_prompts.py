import pandas as pd
import pytest

from ddcf.bundled.files import CORPUS, SEED_COMPLETIONS
from ddcf.errors import DDCFError
from ddcf.generate import prompts as P
from ddcf.runs.backends.dummy import ByteTokenizer


def test_exemplars_are_training_rows_not_seed_questions():
    corpus = pd.read_parquet(CORPUS).set_index("question_id")
    seed_questions = set(pd.read_parquet(SEED_COMPLETIONS, columns=["question"])["question"])
    assert len(P.GSM8K_EXEMPLARS) == 8 and len(P.MATH_EXEMPLARS) == 4
    for e in P.GSM8K_EXEMPLARS + P.MATH_EXEMPLARS:
        assert e.source_id.startswith(("gsm8k_train/", "math_train/"))
        assert corpus.loc[e.source_id, "question"] == e.problem
        assert e.problem not in seed_questions
        assert e.solution.rstrip().endswith(f"The final answer is $\\boxed{{{e.answer}}}$.")


def test_exemplar_answers_agree_with_the_corpus():
    corpus = pd.read_parquet(CORPUS).set_index("question_id")
    for e in P.GSM8K_EXEMPLARS + P.MATH_EXEMPLARS:
        gold = corpus.loc[e.source_id, "answer"].replace(" ", "")
        mine = e.answer.replace(" ", "")
        # MATH writes -\frac{17}7; ours is the same value spelled with braces.
        assert mine == gold or mine.replace("{7}", "7") == gold


def test_fewshot_format_and_dataset_choice():
    text = P.prompt_text("What is 1+1?", "gsm8k", 8)
    assert text.startswith("Problem:\n" + P.GSM8K_EXEMPLARS[0].problem)
    assert text.endswith("Problem:\nWhat is 1+1?\n\nSolution:\n")
    assert text.count("Problem:\n") == 9
    assert P.prompt_text("q", "math", 4).count("Problem:\n") == 5
    assert P.prompt_kind("gsm8k_test") == "gsm8k"
    assert P.prompt_kind("unknown") == "math"
    # fewer shots drop the *oldest* exemplars
    two = P.prompt_text("q", "gsm8k", 2)
    assert P.GSM8K_EXEMPLARS[0].problem not in two and P.GSM8K_EXEMPLARS[-1].problem in two


def test_truncation_drops_oldest_exemplars_and_keeps_question():
    tok = ByteTokenizer()
    q = "How many eggs are left? QUESTION-END"
    full = P.build_prompts(tok, [q], ["gsm8k"], 100_000)[0]
    assert full.n_shots == 8 and not full.truncated
    limit = len(full.ids) - 10
    cut = P.build_prompts(tok, [q], ["gsm8k"], limit)[0]
    assert cut.n_shots == 7 and not cut.truncated and len(cut.ids) <= limit
    text = tok.decode(cut.ids)
    assert text.endswith(f"Problem:\n{q}\n\nSolution:\n")
    assert P.GSM8K_EXEMPLARS[0].problem not in text and P.GSM8K_EXEMPLARS[1].problem in text


def test_question_longer_than_limit_is_cut_from_the_left():
    tok = ByteTokenizer()
    q = "x" * 500 + " the end"
    b = P.build_prompts(tok, [q], ["math"], 64)[0]
    assert b.truncated and b.n_shots == 0 and len(b.ids) == 64
    assert tok.decode(b.ids).endswith("the end\n\nSolution:\n")


def test_left_truncation_keeps_bos():
    assert P.left_truncate([1, 5, 6, 7, 8], 3, bos=1) == [1, 7, 8]
    assert P.left_truncate([5, 6, 7, 8], 2, bos=1) == [7, 8]
    assert P.left_truncate([1, 2], 5, bos=1) == [1, 2]


def test_chat_template_prompts():
    tok = ByteTokenizer()
    b = P.build_prompts(tok, ["Q?"], ["math"], 100_000, chat=True)[0]
    text = tok.decode(b.ids)
    assert text.count("<user>") == 5 and text.count("<assistant>") == 5
    assert text.endswith("<user>\nProblem:\nQ?\n<assistant>\nSolution:\n")


def test_chat_template_missing_is_a_clear_error():
    class NoTemplate(ByteTokenizer):
        has_chat_template = False

    with pytest.raises(DDCFError, match="no chat template"):
        P.build_prompts(NoTemplate(), ["Q"], ["math"], 1024, chat=True)


def test_fingerprint_tracks_prompt_content(monkeypatch):
    a = P.prompts_fingerprint(False)
    assert a == P.prompts_fingerprint(False) and a != P.prompts_fingerprint(True)
    changed = (P.Exemplar("x", "p", "s", "1"),) + P.MATH_EXEMPLARS[1:]
    monkeypatch.setattr(P, "MATH_EXEMPLARS", changed)
    assert P.prompts_fingerprint(False) != a


def test_fingerprint_of_math_runs_is_stable_and_choice_runs_differ():
    """Runs started before answer types existed must still resume: the hash of a math run is unchanged."""
    # the value the code before answer types recorded in run_config.json for a plain math run
    assert P.prompts_fingerprint(False) == "3d5d743b2be2cd0620b92eee591b788cd7e1a20f491633e07ad78415203bbacf"
    assert P.prompts_fingerprint(False, with_choice=True) != P.prompts_fingerprint(False)
