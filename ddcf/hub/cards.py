"""README cards for what ``ddcf push`` publishes: a YAML header the Hub reads, then the facts in prose and tables.

Every card says what the artifact is, for which target model, lambda and k, the embedding model, the
predictor and its held-out metrics, the selection statistics, the source data and its license, and how to
reproduce it with this project (the exact options each stage ran with).  Facts that do not apply to an
artifact (lambda for a matrix) are stated as such rather than left out, so cards of the three kinds read alike.
"""

from __future__ import annotations

import html
import math
import re
import shlex

import yaml

from ddcf import __version__

PROJECT = "ddcf (Difficulty-Diversity Collaborative Filtering)"
NA = "not applicable"
_LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")
WHAT = {
    "matrix": "the binary correctness matrix: one row per (model, seed question) saying whether the model answered "
              "correctly, with the by-question train/validation split and the model numbering (model_order.csv)",
    "predictor": "a trained correctness predictor: from a question embedding it predicts, for each known model, the "
                 "probability that the model answers the question correctly (safetensors weights, JSON config, "
                 "held-out metrics)",
    "selection": "a difficulty/diversity selection: k corpus questions that are hard for the target model and "
                 "diverse (k-greedy, paper eq. 5), as an SFT-ready dataset (column 'text') plus the selection table",
}


def _t(v) -> str:
    """User-provided text (a model name, a path, a metric name) for Markdown prose or a table cell: one line, no
    HTML, no table-cell break, no emphasis or link syntax, so a name like ``a|b``, ``<img ...>`` or one holding a
    newline shows as itself and cannot change the card's structure."""
    text = html.escape(" ".join(str(v).split()), quote=False)
    text = re.sub(r"([\\`*\[\]|#!~])", r"\\\1", text)
    # an underscore inside a word never starts emphasis (CommonMark), so openr1_math stays readable as it is
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _fence(lines: list[str], lang: str = "") -> list[str]:
    """A fenced code block around ``lines``, its fence longer than any run of backticks in them."""
    longest = max((len(m) for ln in lines for m in re.findall(r"`+", ln)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, *lines, fence]


def _fmt(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return _t(v)


def card_license(requested: str | None, sources: list[dict]) -> str:
    """The header's license id: the one asked for, else the sources' when they agree on a Hub id, else 'other'."""
    if requested:
        return requested
    # one unknown source license makes the whole unknown: never claim a license the data may not have
    ids = {str(s.get("license") or "").strip().lower() for s in sources}
    if len(ids) == 1 and _LICENSE_ID.match(next(iter(ids))):
        return next(iter(ids))
    return "other"


def _header(kind: str, repo_type: str, license_id: str, facts: dict) -> str:
    head = {"license": license_id, "tags": ["ddcf", "data-selection", f"ddcf-{kind}"], "library_name": None}
    if repo_type == "dataset":
        head.pop("library_name")
        files = {"matrix": "matrix.parquet", "selection": "data/train-*.parquet"}.get(kind)
        if files:
            head["configs"] = [{"config_name": "default", "data_files": [{"split": "train", "path": files}]}]
            if kind == "selection":
                head["configs"].append({"config_name": "selection_table",
                                        "data_files": [{"split": "train", "path": "selection.parquet"}]})
    else:
        head["library_name"] = "ddcf"
    return "---\n" + yaml.safe_dump(head, sort_keys=False) + "---\n"


def _metrics_table(metrics: dict) -> list[str]:
    if not metrics:
        return ["No held-out metrics were recorded (metrics.json is absent)."]
    cols = ["accuracy", "auc", "log_loss", "ece", "mean_model_auc"]
    out = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in metrics.items():
        out.append(f"| {_t(name)} | " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    return out


def _predictor_lines(p: dict | None) -> list[str]:
    if not p:
        return ["- predictor: not described (the predictor in this work directory is not the one that scored "
                "this selection, or there is none)"]
    a = p.get("architecture") or {}
    split = p.get("split") or {}
    if a.get("arch") == "factor":
        shape = (f"arch factor ({a.get('members')} members, rank {a.get('rank')}, hidden {a.get('hidden')}), "
                 f"embedding dim {a.get('dim')}")
    else:
        shape = (f"arch paper, embedding dim {a.get('dim')}, hidden dim {a.get('hidden_dim')}, dropout "
                 f"{a.get('dropout')}, alpha {a.get('alpha')}")
    on_test = p.get("metrics_split") == "test"
    return [f"- predictor: {a.get('num_models', len(p.get('models', [])))} models, {shape}; best epoch "
            f"{p.get('best_epoch')}; calibration temperature {_fmt(p.get('temperature'))}; trained on "
            f"{_fmt(split.get('n_train'))} pairs, validated on {_fmt(split.get('n_val'))} pairs of "
            f"{_fmt(split.get('n_val_questions'))} questions, tested on {_fmt(split.get('n_test'))} pairs of "
            f"{_fmt(split.get('n_test_questions'))} questions (weights SHA-256 "
            f"{_t(str(p.get('weights_sha256'))[:16])}...)",
            "", ("Test metrics (held-out questions, not used for any choice):" if on_test else
                 "Validation metrics (these questions also chose the epoch and calibration):"), "",
            *_metrics_table(p.get("metrics") or {})]


def _embedding(kind: str, facts: dict, p: dict | None) -> str:
    if kind == "matrix":
        return NA
    text = _t(facts.get("embedding_model") or (p or {}).get("embedding_model") or "not recorded")
    if p and p.get("dim"):
        text += f" (dim {p['dim']}, {'L2-normalised' if p.get('normalized') else 'raw'} vectors)"
    return text


def _sources(facts: dict) -> list[str]:
    out = []
    for key, label in (("seed", "seed questions (predictor training)"), ("corpus", "source corpus")):
        s = facts.get(key)
        if s:
            out.append(f"- {label}: {_t(s['source'])}; license: "
                       f"{_t(s.get('license') or 'not recorded (check the source)')}")
    return out


def _reproduce(kind: str, repo_id: str, facts: dict, configs: dict[str, str]) -> list[str]:
    # commands hold user-provided names shell-quoted, so they run as shown whatever the name holds
    q = {k: shlex.quote(str(facts.get(k))) for k in ("model", "lamda", "k")}
    steps = {
        "matrix": ["python create_training_data.py --config matrix.config.yaml"],
        "predictor": ["python create_training_data.py", "python get_question_embeddings.py --embedding_model "
                      f"{shlex.quote(str(facts.get('embedding_model') or 'auto'))}",
                      "python train_correctness_predictor.py --config predictor.config.yaml"],
        "selection": [f"python fullcorpus_difficulty_estimation.py --model_name {q['model']}",
                      f"python k_greedy_selection.py --model_name {q['model']} --lamda {q['lamda']} "
                      f"--num_select {q['k']}"],
    }[kind]
    use = {"matrix": f"datasets.load_dataset({repo_id!r}, split='train')",
           "predictor": f"ddcf pull predictor {shlex.quote(repo_id)}  # then: python "
                        "fullcorpus_difficulty_estimation.py --model_name MODEL",
           "selection": f"datasets.load_dataset({repo_id!r}, split='train')  # column 'text', ready for TRL SFT"}[kind]
    out = ["## Use it", "", *_fence([use]), "", "## Reproduce it with this project", "",
           f"Made with {PROJECT} {__version__}. After the earlier stages (download or infer.py, "
           "create_training_data.py, get_question_embeddings.py, ...):", "", *_fence(steps)]
    for stage, text in configs.items():
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        out += ["", f"Options of the {_t(stage)} stage (`{_t(stage)}.config.yaml`; `--config` that file repeats "
                "the run):", "", *_fence([body.strip()], "yaml")]
    return out


def render_card(kind: str, repo_id: str, repo_type: str, facts: dict, configs: dict[str, str],
                license_id: str | None) -> str:
    """The README.md of a pushed ``kind`` (matrix, predictor or selection)."""
    lic = card_license(license_id, [s for s in (facts.get("seed"), facts.get("corpus")) if s])
    p = facts if kind == "predictor" else facts.get("predictor")
    target = {"matrix": f"none: the matrix covers {facts.get('n_models')} models",
              "predictor": f"any of its {len(facts.get('models', []))} models (listed below)",
              "selection": _t(facts.get("model"))}[kind]
    lines = [_header(kind, repo_type, lic, facts), f"# {_t(repo_id)}", "",
             f"This {repo_type} repo holds {WHAT[kind]}. It was made with {PROJECT}.", "", "## Facts", "",
             f"- target model: {target}",
             f"- lamda (difficulty vs diversity weight): {_fmt(facts.get('lamda')) if kind == 'selection' else NA}",
             f"- k (questions selected): {_fmt(facts.get('k')) if kind == 'selection' else NA}",
             f"- embedding model: {_embedding(kind, facts, p)}",
             *(_predictor_lines(p) if kind != "matrix" else ["- predictor: " + NA]), ""]
    if kind == "matrix":
        lines += [f"- {facts['n_models']} models x {facts['n_questions']:,} questions: {facts['n_pairs']:,} observed "
                  f"pairs, overall accuracy {_fmt(facts['accuracy'], 3)}",
                  f"- split by question: {_fmt(facts.get('val_ratio'))} validation, "
                  + (f"test = fold {facts.get('fold')} of {facts.get('folds')}" if facts.get("folds")
                     else f"{_fmt(facts.get('test_ratio'))} test")
                  + f" (seed {facts.get('split_seed')}; questions: "
                  + (", ".join(f"{k} {v}" for k, v in (facts.get("split_questions") or {}).items()) or NA) + "); "
                  f"pass threshold {facts.get('pass_threshold')}",
                  f"- verdicts from: {_t(facts.get('verdict_source'))}",
                  "- questions by dataset: " + ", ".join(f"{_t(k)} {v:,}"
                                                         for k, v in facts.get("by_dataset", {}).items()),
                  "", "| model_id | model | answered | accuracy |", "|---|---|---|---|"]
        lines += [f"| {i} | {_t(m)} | {n:,} | {_fmt(a, 3)} |" for i, (m, n, a) in enumerate(facts["models"])]
    elif kind == "predictor":
        lines += ["Models (model_id order):", "", ", ".join(_t(m) for m in facts.get("models", []))]
    else:
        lines += [f"- {facts['n_rows']:,} selected questions; pool limited to predicted correctness <= "
                  f"{_fmt(facts.get('max_score'))}; selector {_t(facts.get('method'))}; text template "
                  f"{_t(facts.get('chat_template'))}", "", "Selection statistics (next to a random subset of the same "
                  "size from the same pool, and the whole pool):", "",
                  "| set | n | mean predicted correctness | median | mean pairwise cosine | mean nearest-neighbour "
                  "cosine | composition |", "|---|---|---|---|---|---|---|"]
        for name, s in facts["stats"].items():
            comp = ", ".join(f"{_t(k)} {v:,}" for k, v in (s.get("composition") or {}).items())
            lines.append(f"| {_t(name)} | {_fmt(s.get('n'))} | {_fmt(s.get('mean_predicted_correctness'))} | "
                         f"{_fmt(s.get('median_predicted_correctness'))} | {_fmt(s.get('mean_pairwise_similarity'))} "
                         f"| {_fmt(s.get('mean_nearest_neighbour_similarity'))} | {comp} |")
    lines += ["", "## Source data and license", "", *_sources(facts), f"- license of this repo: {_t(lic)}", "",
              *_reproduce(kind, repo_id, facts, configs), ""]
    return "\n".join(lines)
