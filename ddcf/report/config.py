"""Options of ``ddcf report``: the only place they are written (imports nothing heavy)."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.runtime import check_device

PROJECTIONS = ("umap", "tsne")


@dataclass
class ReportConfig(StageConfig):
    """Write PNG figures, one static index.html and report.md for one or several selections made on the same
    corpus: a 2-D map of the corpus with each selection, subject composition, a lambda sweep of k-greedy,
    the Jaccard overlap between target models and a table comparing the methods."""

    selections: list[str] = option(
        [], "Selection folders (DDCF_data/selection/<model>/<run>/ written by `ddcf select`), all made on the "
        "corpus of --workdir.", positional=True, metavar="SELECTION_DIR", required=True,
    )
    output_dir: str | None = option(
        None, "Where to write the report (default: DDCF_data/report/<model>__<run> for one selection, "
        "DDCF_data/report/compare-<hash of the folders> for several).", metavar="DIR",
    )
    projection: str = option(
        "umap", "2-D map of the corpus: umap (umap-learn) or tsne (scikit-learn); computed once per corpus "
        "embeddings and cached under DDCF_data/cache/projection/.", choices=PROJECTIONS,
    )
    fit_points: int = option(
        20000, "The map is fitted on at most this many corpus questions (a seeded sample); the others are "
        "placed at the mean position of their 10 most similar fitted questions.", min=100, max=1 << 31,
    )
    map_points: int = option(
        20000, "Background corpus points drawn on the map (a seeded sample above this; every selected point is "
        "always drawn).", min=100, max=1 << 31,
    )
    sweep_points: int = option(
        11, "Lambda values of the sweep, evenly spaced in [0, 1] (11: 0, 0.1, ..., 1); 0 skips the sweep.",
        min=0, max=101,
    )
    family_map: str | None = option(
        None, "CSV (columns model,family) or YAML (model: family) overriding the model family derived from the "
        "name (the letters before the first '-', '_', '.' or digit after the org, lower-cased).", metavar="FILE",
    )
    duplicate_cosine: float = option(
        0.98, "Two questions of one selection whose embeddings have at least this cosine count as "
        "near-duplicates: the report counts and flags them.", min=0.0, max=1.0,
    )
    device: str = option("auto", "Device of the lambda sweep's k-greedy: auto, cpu, cuda or cuda:N.")
    seed: int = option(0, "Seed of the map's sampling and the projection.", min=0, max=2**32 - 1)

    def check(self) -> None:
        check_device(self.device)
        if not self.selections:
            raise DDCFError("No selection folder was given.",
                            "pass one or more folders written by `ddcf select`, e.g. `ddcf report "
                            "DDCF_data/selection/<model>/lamda0.2_k1000`.")
        if self.output_dir:
            check_output_dir(self.output_dir)


def is_report_file(name: str) -> bool:
    """What a report folder holds (it is replaced as a whole, so anything else in it would be lost)."""
    return name.endswith(".png") or name in ("index.html", "report.md", "report.json", "report.config.yaml")


def check_output_dir(path: str) -> None:
    from pathlib import Path

    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise DDCFError(f"--output_dir {folder} is an existing file, not a folder.",
                        "pass a folder path for --output_dir (it is created if missing).")
    if folder.is_dir():
        foreign = sorted(p.name for p in folder.iterdir() if not is_report_file(p.name))
        if foreign:
            raise DDCFError(
                f"--output_dir {folder} holds files that are not part of a report ({', '.join(foreign[:5])}); "
                "a report replaces its folder as a whole, so they would be deleted.",
                "pass an empty or new folder for --output_dir (or the folder of an earlier report).")
