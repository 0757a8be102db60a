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

from ddcf.artifacts.corpus import read_corpus
from ddcf.io import atomic_dir, hash_ids, load_embeddings, write_json, write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.report import figures
from ddcf.report.config import ReportConfig, check_output_dir
from ddcf.report.flags import duplicate_flags, predictor_flags
from ddcf.report.html import Section, render_html, render_markdown
from ddcf.report.metrics import comparison_table
from ddcf.report.overlap import family_averages, family_text, jaccard_matrix, read_family_map
from ddcf.report.palette import selection_colours
from ddcf.report.present import comparison_view
from ddcf.report.projection import corpus_map
from ddcf.report.selections import (
    attach_rows,
    label_selections,
    method_caption,
    method_label,
    predicted_for,
    read_selection,
    registry_field,
)
from ddcf.report.stability import stability_section
from ddcf.report.steps import Steps
from ddcf.report.sweep import lamda_grid, lamda_sweep
from ddcf.report.verdict import verdict_lines

PROJECTION_NAMES = {"umap": "UMAP", "tsne": "t-SNE"}


def default_output(layout: Layout, selections) -> Path:
    if len(selections) == 1:
        s = selections[0]
        return layout.report_dir(f"{s.model}__{s.folder.name}")
    return layout.report_dir("compare-" + hash_ids(sorted(str(s.folder.resolve()) for s in selections))[:10])


def corpus_table(layout: Layout, emb_ids: list[str], text_rows=None) -> tuple[pd.DataFrame, str, list[str]]:
    """Corpus questions aligned with the embedding rows: question_id, dataset (+ subject when present) of every
    row; question and response texts only for ``text_rows`` (the selected rows: the report measures the lengths
    of picked questions only), "" elsewhere; ``None``: every row's texts.

    One read of the id/label columns, then a filtered read of the selected rows' texts (issue 25: the paper's
    corpus text is GBs, the report needs a few thousand rows of it)."""
    cq = read_corpus(layout, columns=("question_id", "dataset"), optional=("subject",))
    subject = "subject" if "subject" in cq.columns else "dataset"
    if subject == "subject":
        cq["subject"] = cq["subject"].fillna("unknown").astype(str)
    aligned = cq.set_index("question_id").reindex(emb_ids)
    present = pd.Index(emb_ids).isin(cq["question_id"])
    warnings = []
    absent = int((~present).sum())
    if absent:
        warnings.append(f"{absent:,} embedded corpus questions are not in {layout.corpus_questions}: their text "
                        "counts as empty and their dataset as 'unknown'.")
    rows = np.flatnonzero(present) if text_rows is None else np.unique(np.asarray(text_rows, np.int64))
    rows = rows[present[rows]]
    texts = read_corpus(layout, columns=("question", "response"), ids=[emb_ids[r] for r in rows])
    for column in ("question", "response"):
        values = np.full(len(emb_ids), "", dtype=object)
        values[rows] = texts[column].to_numpy(dtype=object)
        aligned[column] = values
    aligned = aligned.fillna({"question": "", "response": "", "dataset": "unknown", "subject": "unknown"})
    return aligned.reset_index(), subject, warnings


def run(layout: Layout, config: ReportConfig) -> Report:
    t0 = time.perf_counter()
    folders = list(dict.fromkeys(config.selections))
    steps = Steps(total=None, enabled=config.progress)  # counted once the selections are read
    with steps.step(f"reading {len(folders)} selection(s), the corpus and its embeddings"):
        selections = [read_selection(p) for p in folders]
        label_selections(selections)
        x, emb_ids, manifest = load_embeddings(layout.corpus_embeddings, "corpus embeddings")
        attach_rows(selections, emb_ids, manifest, layout.corpus_embeddings)
        corpus, subject, warnings = corpus_table(layout, emb_ids, np.concatenate([s.rows for s in selections]))
        mapping = read_family_map(config.family_map) if config.family_map else None
        out = Path(config.output_dir) if config.output_dir else default_output(layout, selections)
        check_output_dir(str(out))
        predicted = {}
        for model in dict.fromkeys(s.model for s in selections):
            predicted[model] = predicted_for(layout, model, emb_ids)
            if predicted[model] is None:
                warnings.append(f"no predicted correctness table {layout.difficulty(model)}: the map shows "
                                f"{model}'s corpus in grey.")
    colours = selection_colours([s.label for s in selections])
    sweep_target = next((s for s in selections if registry_field(s.method, "lamda_sweep", False)), None)
    sweeping = bool(config.sweep_points and sweep_target is not None)
    n_sweep = len(lamda_grid(config.sweep_points, sweep_target.lamda)) if sweeping else 0
    n_figures = 2 + (subject == "subject") + sweeping + (len(selections) > 1)
    steps.set_total(1 + 1 + 1 + n_sweep + n_figures + 1)  # read, map, table, sweep, figures, pages
    n = len(emb_ids)
    with steps.step(f"corpus map ({config.projection}, {n:,} questions; cached after the first report)"):
        coords, proj, cached = corpus_map(layout, x, emb_ids, config.projection, config.fit_points, config.seed,
                                          config.progress)
    background = np.arange(n)
    if n > config.map_points:
        background = np.sort(np.random.default_rng(config.seed).choice(n, config.map_points, replace=False))
    with steps.step(f"comparison table (all pairs of each selection, coverage of {n:,} questions)"):
        table = comparison_table(selections, x, corpus, layout, subject, config.duplicate_cosine)
    table["method_label"] = [method_label(s) for s in selections]

    sections, files = [], {}
    sample_note = (f"{len(background):,} of the {n:,} corpus questions are drawn as background (a seeded sample); "
                   if len(background) < n else f"All {n:,} corpus questions are drawn; ")
    fit_note = (f"fitted on {proj['fit_points']:,} of them, the others placed by their {proj['place_neighbours']} "
                "most similar fitted questions" if proj["fit_points"] < n else "fitted on every corpus question")
    pending = [("map.png", lambda p: figures.map_figure(p, coords, background, selections, predicted, colours))]
    map_section = Section(
        "Corpus map", image="map.png",
        caption=f"2-D {PROJECTION_NAMES[proj['method']]} map of the corpus embeddings (cosine; {fit_note}; "
                f"{'read from the cache' if cached else 'computed and cached'}). {sample_note}every selected "
                "question is drawn, with a black edge. Colour of the points: predicted correctness of the "
                "selection's target model (red = hard); the panel's frame and title: the selection's colour, the "
                "same on every figure.")
    comp_sections = []
    comp_columns = ["dataset"] + (["subject"] if subject == "subject" else [])
    for column in comp_columns:
        name = f"composition_{column}.png"
        pending.append((name, lambda p, c=column: figures.composition_figure(p, corpus[c], selections, c, colours)))
        comp_sections.append(Section(
            f"Composition by {column}", image=name,
            caption=f"Share of each {column} in the whole corpus (grey) and in every selection (its colour; the "
                    f"{figures.TOP_CATEGORIES} largest of the corpus, plus each selection's 3 largest; the rest "
                    "as '(other)')."))

    sweep = None
    if sweeping:
        sweep = lamda_sweep(layout, sweep_target, config.sweep_points, config.device, config.progress,
                            step=steps.step)
        warnings += sweep["warnings"]
        others = table[(table["model"] == sweep_target.model) & (table["selection"] != sweep_target.label)]
        pending.append(("lamda_sweep.png", lambda p: figures.sweep_figure(p, sweep, others, colours)))
        own = next((pt for pt in sweep["points"] if pt.get("is_selection")), None)
        grid = ", ".join(f"{p['lamda']:g}" for p in sweep["points"])
        repro = ("" if own is None else " At the selection's own lambda the sweep picks "
                 + ("exactly the selection's questions." if own["reproduces_selection"] else
                    "other questions than the selection (the inputs changed since it was made)."))
        sweep_section = Section(
            "Difficulty / diversity trade-off (lambda sweep)", image="lamda_sweep.png",
            caption=f"{sweep_target.label} ({method_caption(sweep_target)}) redone for {sweep_target.model} "
                    f"(k={sweep['k']:,}) on the same pool for lambda in {grid}, computed for this report (not "
                    "trained); the star marks the selection's own lambda, squares the other selections of the "
                    f"same target, each in its colour.{repro}")
    else:
        sweep_section = Section("Difficulty / diversity trade-off (lambda sweep)",
                                text="Skipped: " + ("--sweep_points 0." if not config.sweep_points else
                                                    "no selection among the folders given was made by a method "
                                                    "with a lambda trade-off."))

    jac, jac_section = None, None
    if len(selections) > 1:
        matrix = jaccard_matrix([set(s.ids) for s in selections])
        fam = family_averages(selections, matrix, mapping)
        jac = {"labels": [s.label for s in selections], "matrix": matrix.tolist(), **fam}
        averages = family_text(fam)
        title = averages or "Jaccard overlap of the selected questions"
        pending.append(("jaccard.png",
                        lambda p, t=title: figures.jaccard_figure(p, matrix, jac["labels"], t, colours)))
        fams = pd.DataFrame({"model": list(fam["families"]), "family": list(fam["families"].values())})
        jac_section = Section(
            "Overlap between selections (Jaccard)", image="jaccard.png",
            caption=f"|A ∩ B| / |A ∪ B| of the selected question ids. Family averages over pairs of the same "
                    f"method for different target models: {averages or 'none here (no such pairs)'}. Family = the "
                    "model name after its org, up to the first '-', '_', '.' or digit, lower-cased"
                    + (", or --family_map" if mapping else "") + ".",
            tables=[fams])
    stable = stability_section(selections)  # retrainings of the predictor among the selections (issue 23)

    # The answer first: the verdict, the flags, the table; then the figures that explain it.
    references = {s.label: s.report.get("random") for s in selections if isinstance(s.report.get("random"), dict)}
    sections.append(Section("Verdict", items=verdict_lines(table, references), css_class="verdict"))
    flags = duplicate_flags(table, config.duplicate_cosine) + predictor_flags(selections, layout)
    if flags:
        sections.append(Section("Flags", items=flags, css_class="flags"))
    methods_text = "; ".join(f"{s.label}: {method_caption(s)}" for s in selections)
    sections.append(Section(
        "Methods compared", tables=[comparison_view(table, subject, config.duplicate_cosine)],
        text=f"What each selection is: {methods_text}. Mean predicted correctness of the target model (lower = "
             "harder); mean and max cosine over all pairs of selected questions; coverage = mean over every corpus "
             f"question of its best cosine to the selection; {subject} entropy in bits; lengths in "
             "whitespace-separated words; annotation cost = model answers the method needed beyond the seed-set "
             "correctness matrix (as each selection recorded it)."))
    sections += [map_section, *comp_sections, sweep_section]
    if jac_section is not None:
        sections.append(jac_section)
    if stable is not None:
        sections.append(Section("Stable picks across predictor retrainings", text=stable[0], tables=stable[1]))

    title = f"Selection report: {len(selections)} selection(s), {selections[0].model}" + (
        " and others" if len({s.model for s in selections}) > 1 else "")
    intro = (f"{len(selections)} selection(s) on the corpus of {layout.corpus_embeddings} ({n:,} questions): "
             + "; ".join(f"{s.label} = {s.folder}" for s in selections))
    stored = table.drop(columns=["near_duplicate_ids"])
    result = dict(selections=[{"label": s.label, "folder": str(s.folder), "model": s.model, "method": s.method,
                               "k": s.k, "lamda": s.lamda, "colour": colours[s.label]} for s in selections],
                  table=stored.to_dict(orient="records"), projection={**proj, "cached": cached},
                  map_background_points=int(len(background)), subject_column=subject, sweep=sweep, jaccard=jac,
                  stability=None if stable is None else stable[2], verdict=sections[0].items, flags=flags,
                  near_duplicates={r["selection"]: r["near_duplicate_ids"] for _, r in table.iterrows()},
                  warnings=warnings)
    with atomic_dir(out) as tmp:
        for name, draw in pending:
            with steps.step(f"figure {name}"):
                files[name] = draw(tmp / name)
        with steps.step("pages"):
            write_text(render_html(title, intro, sections), tmp / "index.html")
            write_text(render_markdown(title, intro, sections), tmp / "report.md")
            result["seconds"] = round(time.perf_counter() - t0, 3)
            write_json(result, tmp / "report.json")
    steps.close()
    written = [out / "index.html", out / "report.md", out / "report.json"] + [out / name for name in files]
    cols = ["selection", "mean_predicted_correctness", "mean_pairwise_similarity", "coverage", "annotation_cost_text"]
    lines = [f"Selection report: {len(selections)} selection(s), {n:,} corpus questions",
             *("  " + v for v in sections[0].items),
             "  " + table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}").replace("\n", "\n  "),
             f"  open {out / 'index.html'}"]
    return Report(stage="report", summary="\n".join(lines), files=written, warnings=warnings + flags,
                  config_dir=out, details=dict(output_dir=out, result=result, table=table), seconds=result["seconds"])
