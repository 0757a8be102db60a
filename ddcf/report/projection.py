"""The corpus's 2-D map (UMAP or t-SNE), computed once per corpus embeddings and cached.

The map is fitted on at most ``fit_points`` corpus rows (a seeded sample; all rows when fewer); every other row
is placed at the mean position of its ``PLACE_NEIGHBOURS`` most cosine-similar fitted rows (chunked matrix
products, so 189k rows never need an N x N matrix).  t-SNE has no out-of-sample transform, and placing by
neighbours keeps UMAP and t-SNE maps alike and the cost bounded.

Cache: ``Layout.projection_cache(key)`` with key = SHA-256 of (the corpus embeddings manifest file, method,
parameters), written with :func:`ddcf.io.save_embeddings` (coordinates + question ids + manifest), so a changed
corpus, method or parameter makes a new file and an unchanged one is read back.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.errors import DDCFError
from ddcf.io import file_sha256, load_embeddings, manifest_path, save_embeddings
from ddcf.layout import Layout
from ddcf.runtime import progress, require, usable_cores

PLACE_NEIGHBOURS = 10
UMAP_NEIGHBOURS = 15
CHUNK = 2048


def params(method: str, n: int, fit_points: int, seed: int) -> dict:
    p = {"method": method, "fit_points": int(min(n, fit_points)), "seed": int(seed),
         "place_neighbours": PLACE_NEIGHBOURS, "metric": "cosine"}
    if method == "umap":
        p.update(n_neighbors=UMAP_NEIGHBOURS, min_dist=0.1)
    else:
        p.update(perplexity=30.0, init="pca")
    return p


def cache_key(layout: Layout, p: dict) -> str:
    h = hashlib.sha256(file_sha256(manifest_path(layout.corpus_embeddings)).encode())
    h.update(json.dumps(p, sort_keys=True).encode())
    return f"{p['method']}-{h.hexdigest()[:16]}"


def _fit(v: np.ndarray, p: dict) -> np.ndarray:
    n = len(v)
    if p["method"] == "umap":
        require("umap", "pip install umap-learn", "the UMAP map of `ddcf report --projection umap`")
        with warnings.catch_warnings():  # umap warns that a fixed random_state disables its parallelism: intended
            warnings.simplefilter("ignore")
            import umap

            return umap.UMAP(n_components=2, n_neighbors=min(p["n_neighbors"], n - 1), min_dist=p["min_dist"],
                             metric="cosine", random_state=p["seed"]).fit_transform(v).astype(np.float32)
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=min(p["perplexity"], (n - 1) / 3.0), init="pca", metric="cosine",
                random_state=p["seed"], n_jobs=usable_cores()).fit_transform(v).astype(np.float32)


def project(x, p: dict, show_progress: bool = False) -> np.ndarray:
    """(n, 2) float32 coordinates of every row of ``x`` (an array or memory map)."""
    n = x.shape[0]
    if p["fit_points"] < n:
        fit = np.sort(np.random.default_rng(p["seed"]).choice(n, p["fit_points"], replace=False))
    else:
        fit = np.arange(n)
    fit_v = unit_rows(x, fit, dtype=np.float32)
    coords = np.empty((n, 2), dtype=np.float32)
    coords[fit] = _fit(fit_v, p)
    rest = np.setdiff1d(np.arange(n), fit)
    m = min(PLACE_NEIGHBOURS, len(fit))
    bar = progress(total=len(rest), desc="placing on the map", unit="q", enabled=show_progress and len(rest) > 0)
    for start in range(0, len(rest), CHUNK):
        rows = rest[start:start + CHUNK]
        sims = unit_rows(x, rows, dtype=np.float32) @ fit_v.T
        near = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        coords[rows] = coords[fit][near].mean(axis=1)
        bar.update(len(rows))
    bar.close()
    return coords


def corpus_map(layout: Layout, x, emb_ids: list[str], method: str, fit_points: int, seed: int,
               show_progress: bool = False) -> tuple[np.ndarray, dict, bool]:
    """The cached map of the corpus (computed and cached when absent): coordinates, parameters, whether cached."""
    p = params(method, x.shape[0], fit_points, seed)
    path = layout.projection_cache(cache_key(layout, p))
    if path.is_file():
        try:
            coords, ids, _ = load_embeddings(path, "cached corpus map")
        except DDCFError:
            # A cache, not an input: one half-written by a killed run (vectors there, manifest or ids not yet) is
            # rebuilt below, as the embedding cache does with a damaged chunk; refusing would block every rerun.
            coords, ids = None, None
        if ids == emb_ids:
            return np.asarray(coords, dtype=np.float32), p, True
    coords = project(x, p, show_progress)
    save_embeddings(coords, emb_ids, path, {"kind": "corpus map", **p,
                                            "corpus_embeddings": str(layout.corpus_embeddings)})
    return coords, p, False
