"""``ddcf report``: read selection folders made on one corpus, compute the comparison, write figures + pages.

Reads  the selection folders given (selection.parquet, report.json), DDCF_data/embeddings/corpus.npy (+ids,
       manifest), DDCF_data/corpus/questions.parquet, factorized_data/<model>.parquet of each target model
Writes DDCF_data/report/<name>/ (or --output_dir), replaced as a whole: index.html, report.md, report.json,
       map.png, composition_dataset.png (+ composition_subject.png), lamda_sweep.png, jaccard.png,
       report.config.yaml; and the cached corpus map under DDCF_data/cache/projection/.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.io import atomic_dir, hash_ids, load_embeddings, write_json, write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.report import figures
from ddcf.report.config import ReportConfig, check_output_dir
from ddcf.report.html import Section, render_html, render_markdown
from ddcf.report.metrics import comparison_table
from ddcf.report.overlap import family_averages, jaccard_matrix, read_family_map
from ddcf.report.projection import corpus_map
from ddcf.report.selections import attach_rows, label_selections, predicted_for, read_selection
from ddcf.report.stability import stability_section
from ddcf.report.sweep import lamda_sweep
from ddcf.select.stage import read_corpus

PROJECTION_NAMES = {"umap": "UMAP", "tsne": "t-SNE"}


def default_output(layout: Layout, selections) -> Path:
    if len(selections) == 1:
        s = selections[0]
        return layout.report_dir(f"{s.model}__{s.folder.name}")
    return layout.report_dir("compare-" + hash_ids(sorted(str(s.folder.resolve()) for s in selections))[:10])


def corpus_table(layout: Layout, emb_ids: list[str]) -> tuple[pd.DataFrame, str, list[str]]:
    """Corpus questions aligned with the embedding rows (question, response, dataset, subject when present)."""
    cq = read_corpus(layout)
    import pyarrow.parquet as pq

    names = pq.read_schema(layout.corpus_questions).names
    subject = "subject" if "subject" in names else "dataset"
    if subject == "subject":
        sub = pd.read_parquet(layout.corpus_questions, columns=["question_id", "subject"])
        cq = cq.merge(sub.assign(question_id=sub["question_id"].astype(str)), on="question_id", how="left")
        cq["subject"] = cq["subject"].fillna("unknown").astype(str)
    aligned = cq.set_index("question_id").reindex(emb_ids)
    warnings = []
    absent = int(aligned["question"].isna().sum())
    if absent:
        warnings.append(f"{absent:,} embedded corpus questions are not in {layout.corpus_questions}: their text "
                        "counts as empty and their dataset as 'unknown'.")
    aligned = aligned.fillna({"question": "", "response": "", "dataset": "unknown", "subject": "unknown"})
    return aligned.reset_index(), subject, warnings


def run(layout: Layout, config: ReportConfig) -> Report:
    t0 = time.perf_counter()
    selections = [read_selection(p) for p in dict.fromkeys(config.selections)]
    label_selections(selections)
    x, emb_ids, manifest = load_embeddings(layout.corpus_embeddings, "corpus embeddings")
    attach_rows(selections, emb_ids, manifest, layout.corpus_embeddings)
    corpus, subject, warnings = corpus_table(layout, emb_ids)
    mapping = read_family_map(config.family_map) if config.family_map else None
    out = Path(config.output_dir) if config.output_dir else default_output(layout, selections)
    check_output_dir(str(out))

    predicted = {}
    for model in dict.fromkeys(s.model for s in selections):
        predicted[model] = predicted_for(layout, model, emb_ids)
        if predicted[model] is None:
            warnings.append(f"no predicted correctness table {layout.difficulty(model)}: the map shows {model}'s "
                            "corpus in grey.")
    n = len(emb_ids)
    coords, proj, cached = corpus_map(layout, x, emb_ids, config.projection, config.fit_points, config.seed,
                                      config.progress)
    background = np.arange(n)
    if n > config.map_points:
        background = np.sort(np.random.default_rng(config.seed).choice(n, config.map_points, replace=False))
    table = comparison_table(selections, x, corpus, layout, subject)

    sections, files = [], {}
    sample_note = (f"{len(background):,} of the {n:,} corpus questions are drawn as background (a seeded sample); "
                   if len(background) < n else f"All {n:,} corpus questions are drawn; ")
    fit_note = (f"fitted on {proj['fit_points']:,} of them, the others placed by their {proj['place_neighbours']} "
                "most similar fitted questions" if proj["fit_points"] < n else "fitted on every corpus question")
    pending = [("map.png", lambda p: figures.map_figure(p, coords, background, selections, predicted))]
    sections.append(Section(
        "Corpus map", image="map.png",
        caption=f"2-D {PROJECTION_NAMES[proj['method']]} map of the corpus embeddings (cosine; {fit_note}; "
                f"{'read from the cache' if cached else 'computed and cached'}). {sample_note}every selected "
                "question is drawn, with a black edge. Colour: predicted correctness of the selection's target "
                "model (red = hard)."))
    comp_columns = ["dataset"] + (["subject"] if subject == "subject" else [])
    for column in comp_columns:
        name = f"composition_{column}.png"
        pending.append((name, lambda p, c=column: figures.composition_figure(p, corpus[c], selections, c)))
        sections.append(Section(f"Composition by {column}", image=name,
                                caption=f"Share of each {column} in the whole corpus (grey) and in every selection "
                                        f"(the {figures.TOP_CATEGORIES} largest of the corpus, plus each "
                                        "selection's 3 largest; the rest as '(other)')."))

    sweep = None
    first_ddcf = next((s for s in selections if s.method == "ddcf"), None)
    if config.sweep_points and first_ddcf is not None:
        sweep = lamda_sweep(layout, first_ddcf, config.sweep_points, config.device, config.progress)
        warnings += sweep["warnings"]
        others = table[(table["model"] == first_ddcf.model) & (table["selection"] != first_ddcf.label)]
        pending.append(("lamda_sweep.png", lambda p: figures.sweep_figure(p, sweep, others)))
        own = next((pt for pt in sweep["points"] if pt.get("is_selection")), None)
        grid = ", ".join(f"{p['lamda']:g}" for p in sweep["points"])
        repro = ("" if own is None else " At the selection's own lambda the sweep picks "
                 + ("exactly the selection's questions." if own["reproduces_selection"] else
                    "other questions than the selection (the inputs changed since it was made)."))
        sections.append(Section(
            "Difficulty / diversity trade-off (lambda sweep)", image="lamda_sweep.png",
            caption=f"Exact k-greedy for {first_ddcf.model} (k={sweep['k']:,}) on the same pool for lambda in "
                    f"{grid}, computed for this report (not "
                    "trained); the star marks the selection's own lambda, squares the other selections of the "
                    f"same target.{repro}"))
    else:
        sections.append(Section("Difficulty / diversity trade-off (lambda sweep)",
                                text="Skipped: " + ("--sweep_points 0." if not config.sweep_points else
                                                    "no ddcf selection among the folders given.")))

    jac = None
    if len(selections) > 1:
        matrix = jaccard_matrix([set(s.ids) for s in selections])
        fam = family_averages(selections, matrix, mapping)
        jac = {"labels": [s.label for s in selections], "matrix": matrix.tolist(), **fam}
        fmt = (lambda v, c: f"{v:.3f} over {c} pair(s)" if v is not None else "no pairs")
        title = (f"intra-family mean {fmt(fam['intra_family_mean'], fam['intra_family_pairs'])}; "
                 f"inter-family mean {fmt(fam['inter_family_mean'], fam['inter_family_pairs'])}")
        pending.append(("jaccard.png", lambda p, t=title: figures.jaccard_figure(p, matrix, jac["labels"], t)))
        fams = pd.DataFrame({"model": list(fam["families"]), "family": list(fam["families"].values())})
        sections.append(Section(
            "Overlap between selections (Jaccard)", image="jaccard.png",
            caption=f"|A ∩ B| / |A ∪ B| of the selected question ids. Family averages over pairs of the same "
                    f"method for different target models: {title}. Family = the model name after its org, up to "
                    "the first '-', '_', '.' or digit, lower-cased" + (", or --family_map" if mapping else "") + ".",
            tables=[fams]))
    stable = stability_section(selections)  # retrainings of the predictor among the selections (issue 23)
    if stable is not None:
        sections.append(Section("Stable picks across predictor retrainings", text=stable[0], tables=stable[1]))
    shown = table.drop(columns=["model", "annotation_cost"]).rename(columns={"annotation_cost_text":
                                                                             "annotation_cost"})
    sections.append(Section(
        "Methods compared", tables=[shown],
        text="Mean predicted correctness of the target model (lower = harder); mean and max cosine over all "
             "pairs of selected questions; coverage = mean over every corpus question of its best cosine to the "
             f"selection; {subject} entropy in bits; lengths in whitespace-separated words; annotation cost = "
             "model answers the method needed beyond the seed-set correctness matrix (0 for ddcf, random, longest, "
             "disf, crowd, ds2 and passrate_band on predicted inputs; one scoring pass of the corpus for "
             "perplexity / least_confidence; the target's seed answers for binary_hard)."))

    title = f"Selection report: {len(selections)} selection(s), {selections[0].model}" + (
        " and others" if len({s.model for s in selections}) > 1 else "")
    intro = (f"{len(selections)} selection(s) on the corpus of {layout.corpus_embeddings} ({n:,} questions): "
             + "; ".join(f"{s.label} = {s.folder}" for s in selections))
    result = dict(selections=[{"label": s.label, "folder": str(s.folder), "model": s.model, "method": s.method,
                               "k": s.k, "lamda": s.lamda} for s in selections],
                  table=table.to_dict(orient="records"), projection={**proj, "cached": cached},
                  map_background_points=int(len(background)), subject_column=subject, sweep=sweep, jaccard=jac,
                  stability=None if stable is None else stable[2],
                  warnings=warnings)
    with atomic_dir(out) as tmp:
        for name, draw in pending:
            files[name] = draw(tmp / name)
        write_text(render_html(title, intro, sections), tmp / "index.html")
        write_text(render_markdown(title, intro, sections), tmp / "report.md")
        result["seconds"] = round(time.perf_counter() - t0, 3)
        write_json(result, tmp / "report.json")
    written = [out / "index.html", out / "report.md", out / "report.json"] + [out / name for name in files]
    cols = ["selection", "mean_predicted_correctness", "mean_pairwise_similarity", "coverage", "annotation_cost_text"]
    lines = [f"Selection report: {len(selections)} selection(s), {n:,} corpus questions",
             "  " + table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}").replace("\n", "\n  "),
             f"  open {out / 'index.html'}"]
    return Report(stage="report", summary="\n".join(lines), files=written, warnings=warnings, config_dir=out,
                  details=dict(output_dir=out, result=result, table=table), seconds=result["seconds"])
