"""``--method ds2``: DS2 (Pang et al., ICLR 2025, "Improving Data Efficiency via Curating LLM-Driven Rating Systems").

A rater's discrete scores are noisy.  As released (UCSC-REAL/DS2, ``score_curation`` + ``subset_generation.py``):

1. ratings: ``--ratings FILE`` (question_id, rating: discrete scores, e.g. an LLM rater's 0..5; higher = better)
   joined by id, or, without it, the mean predicted correctness of ``--ds2_models`` (default the target) binned into
   ``--ds2_bins`` scores of *difficulty* (bin of 1 - mean P(correct): higher = harder);
2. the pool is taken twice (``diagnose.py`` loads the embedded data with ``duplicate=True``, which concatenates it
   with itself, so every question has an exact twin that is often its nearest sampled neighbour; this pulls the
   fitted T towards the identity and makes the long-tail score average the 4 nearest questions, each counted twice,
   and the question itself twice).  ``--ds2_pool single`` takes every question once;
3. HOC: 50 rounds, each a random 90% sample (at most 50,000) of the doubled pool; for every sampled row the ratings
   of itself and its two nearest sampled rows (cosine) give first-, second- and third-order consensus frequencies;
   the transition matrix ``T[i, j] = P(rated j | true i)`` and prior ``p`` are fitted to them by 1,500 Adam steps
   (lr 0.1) from ``T0 = 5 I - 1`` (softmax rows) and ``p0 = 1/K + U(0, 0.1)``; the last step's values are kept;
4. SimiFeat-rank: 51 epochs, each a new random sample; every sampled row's ``--neighbours`` nearest sampled rows
   vote with weight 1 - cosine distance (its own vote re-weighted); rows whose rating gets the lowest share of the
   votes are flagged, per rating class the share ``1 - T[c, c] p_c / q_c`` (clipped to [0.05, 0.95]);
   a question is *noisy* when flagged in more than half the epochs it was sampled in ((flags + 1) / (samples + 2));
5. a noisy question takes the rating most often suggested by its neighbours (other than its own) when that
   suggestion's confidence, (share of suggestions) x (noise level), is at least ``--ds2_confidence`` (0.5);
6. long-tail score = 2 sigmoid(mean cosine distance to the ``--neighbours`` nearest rows of the doubled pool) - 1,
   rounded to 4 decimals; the selection takes curated scores from the highest down and breaks the last score's
   ties by the long-tail score, descending (equal long-tail scores: the later row first).

Randomness: numpy's legacy ``RandomState(--seed)`` draws the samples and ``torch`` (seeded with ``--seed``) the
prior's start, in the released order (the released code does not seed them).  Inputs: the ratings table (or the
predictor) and the corpus embeddings.  The table's ``cost`` column is the curated score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.embeddings import unit_rows
from ddcf.errors import DDCFError
from ddcf.io import read_table
from ddcf.runtime import progress
from ddcf.select.methods.common import Context, Picks, Timer

HOC_ROUNDS, HOC_STEPS, HOC_LR = 50, 1501, 0.1  # released tulu_template.py hoc_cfg
DETECT_EPOCHS = 51  # released detect_cfg.num_epoch
SAMPLE_CAP = 50_000  # released hoc_cfg.sample_size / detect_cfg.sample_size
HOC_ORDER = 3  # a row and its two nearest sampled rows
MAX_CLASSES = 20  # more distinct ratings than this are continuous scores (and HOC fits K^4 terms)
BLOCK = 2048
BLOCK_BYTES = 256 * 2**20  # per block of the neighbour search: its float32 products + argpartition's int64 indices


def sample_size(n2: int) -> int:
    return int(min(SAMPLE_CAP, int(n2 * 0.9)))


def neighbour_lists(u: np.ndarray, width: int, show: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``width`` nearest rows, itself first, and their cosine distances (float64), nearest first.

    The search keeps only ``width`` candidates per block of rows (float32 products), then recomputes the distances of
    the kept ones in float64 and sorts them (equal distances: lower row first)."""
    return sorted_lists(u, nearest(u.astype(np.float32), width, show))


def nearest(u32: np.ndarray, width: int, show: bool = True) -> np.ndarray:
    """The search of :func:`neighbour_lists` on float32 unit rows: each row's ``width`` candidates, unordered."""
    n = len(u32)
    width = min(width, n)
    idx = np.empty((n, width), dtype=np.int64)
    # rows per block: a block holds n float32 products and argpartition's n int64 indices per row; at 189k rows a
    # fixed 2,048-row block was ~6 GB, so the block shrinks with n (the products per row do not change)
    block = int(max(16, min(BLOCK, BLOCK_BYTES // (12 * n))))
    bar = progress(total=n, desc="ds2 neighbours", unit="rows", enabled=show and n > 20_000)
    for s in range(0, n, block):
        g = u32[s:s + block] @ u32.T
        rows = np.arange(len(g))
        g[rows, s + rows] = np.inf  # itself first, whatever rounding says
        np.negative(g, out=g)  # in place: argpartition below takes the smallest, i.e. the most similar
        part = np.argpartition(g, width - 1, axis=1)[:, :width] if width < n else np.tile(np.arange(n), (len(g), 1))
        del g  # before the next block's products are allocated
        idx[s:s + len(part)] = part
        bar.update(len(part))
    bar.close()
    return idx


def sorted_lists(u: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidates ``idx`` with their float64 distances, ordered: self, then distance, then row."""
    dist = _dist_blocks(u, idx)
    self_col = idx == np.arange(len(idx))[:, None]
    order = np.lexsort((idx, dist, ~self_col), axis=1)
    return np.take_along_axis(idx, order, 1), np.take_along_axis(dist, order, 1)


def _dist_blocks(u: np.ndarray, idx: np.ndarray, rows: int = 256) -> np.ndarray:
    """float64 cosine distances of each row to its listed rows, ``rows`` at a time (a rows x width x d gather)."""
    out = np.empty(idx.shape)
    for s in range(0, len(idx), rows):
        out[s:s + rows] = 1.0 - np.einsum("id,ikd->ik", u[s:s + rows], u[idx[s:s + rows]])
    return out


class DoubledPool:
    """k nearest *sampled* rows of the pool taken twice (row r and its twin r + n; once with ``twins=False``), from
    each row's own list."""

    def __init__(self, u, labels: np.ndarray, need: int, show: bool = True, twins: bool = True):
        """``u``: float64 unit rows, or ``dtype -> unit rows`` (a builder: the float32 rows of the search are
        built, searched and freed before the float64 rows exist, so the two copies never coexist: issue 25)."""
        self.labels, self.n = labels, len(labels)
        self.copies = 2 if twins else 1
        self.size = self.copies * self.n  # rows of the (doubled) pool
        frac = sample_size(self.size) / self.size
        width = int(np.ceil(2 * need / (self.copies * frac))) + 16  # originals whose copies cover `need` rows
        idx = nearest(u(np.float32) if callable(u) else u.astype(np.float32), width, show)  # float32 freed here
        self.u = u(np.float64) if callable(u) else u
        self.nb, self.dist = sorted_lists(self.u, idx)

    def knn(self, sample: np.ndarray, k: int, queries: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Labels and distances of the k nearest sampled rows of every sampled row (or of ``queries``), itself
        included."""
        n = self.n
        inside = np.zeros(self.size, dtype=np.int8)
        inside[sample] = 1
        copies = inside.reshape(self.copies, n).sum(axis=0)
        orig = (sample if queries is None else queries) % n
        nb, dist = self.nb[orig], self.dist[orig]
        cum = np.cumsum(copies[nb], axis=1)
        short = np.flatnonzero(cum[:, -1] < k)
        labels, values = np.empty((len(orig), k), dtype=np.int64), np.empty((len(orig), k))
        for t in range(k):
            col = np.argmax(cum > t, axis=1)
            labels[:, t] = self.labels[np.take_along_axis(nb, col[:, None], 1)[:, 0]]
            values[:, t] = np.take_along_axis(dist, col[:, None], 1)[:, 0]
        for r in short:  # the list ran out of sampled rows: this row's full list
            i = orig[r]
            d = 1.0 - self.u @ self.u[i]
            order = np.lexsort((np.arange(n), d, np.arange(n) != i))
            ids = np.repeat(order, copies[order])[:k]
            labels[r], values[r] = self.labels[ids], d[ids]
        return labels, values


def hoc_counts(pool: DoubledPool, rng: np.random.RandomState, classes: int) -> list:
    """First-, second- and third-order consensus frequencies, averaged over the rounds in float32 as released."""
    import torch

    n2 = pool.size
    size = sample_size(n2)
    est = [torch.zeros((classes,) * (o + 1)) for o in range(HOC_ORDER)]
    for _ in range(HOC_ROUNDS):
        s = rng.choice(n2, size, replace=False)
        lab, _ = pool.knn(s, HOC_ORDER)
        c = [np.zeros((classes,) * (o + 1), dtype=np.float32) for o in range(HOC_ORDER)]
        np.add.at(c[0], lab[:, 0], 1.0)
        np.add.at(c[1], (lab[:, 0], lab[:, 1]), 1.0)
        np.add.at(c[2], (lab[:, 0], lab[:, 1], lab[:, 2]), 1.0)
        for o in range(HOC_ORDER):
            est[o] = est[o] + torch.from_numpy(c[o]) / size
    return [e / HOC_ROUNDS for e in est]


def fit_transition(est: list, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """T (rows: true score) and prior p fitted to the consensus frequencies by Adam, as released.

    The loss has flat directions, so Adam's path amplifies last-bit differences of the gradient: an implementation
    that sums in another order (this one, or the released code on another BLAS) ends up to ~1e-2 away in T."""
    import torch

    k = est[0].shape[0]
    t = (5 * torch.eye(k) - torch.ones((k, k))).requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    p = (torch.ones((k, 1)) / k + torch.rand((k, 1), generator=gen) * 0.1).requires_grad_(True)
    opt = torch.optim.Adam([t, p], lr=HOC_LR)

    def loss_of():
        tt, pp = torch.softmax(t, dim=1), torch.softmax(p, dim=0)  # (true, rated), (true, 1)
        w2 = (pp * tt)[:, :, None] * tt[:, None, :]  # P_i T_ia T_ib
        c3 = (w2[:, :, :, None] * tt[:, None, None, :]).sum(0)
        return torch.norm(est[0] - (pp * tt).sum(0)) + torch.norm(est[1] - w2.sum(0)) + torch.norm(est[2] - c3)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 6x6 tensors: threads only add overhead
    try:
        loss = loss_of()
        for _ in range(1, HOC_STEPS):
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss = loss_of()
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        return torch.softmax(t, dim=1).numpy(), torch.softmax(p.reshape(-1), dim=0).numpy()


def detect(pool: DoubledPool, rng: np.random.RandomState, labels: np.ndarray, classes: int, k: int,
           t_given_noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise level per question and counts of suggested scores (SimiFeat-rank, as released)."""
    import torch

    n, n2 = pool.n, pool.size
    size = sample_size(n2)
    flagged_epochs = np.zeros(n)
    sampled = np.zeros(n)
    suggest = np.zeros((n, classes))
    lab2 = np.tile(labels, pool.copies)
    for _ in range(DETECT_EPOCHS):
        s = rng.choice(n2, size, replace=False)
        nl, vals = pool.knn(s, k)
        vals[:, 0] = 2.0 * vals[:, 1] - vals[:, 2]  # the row's own (zero) distance would dominate its vote
        cnt = np.stack([((1.0 - vals) * (nl == c)).sum(axis=1) for c in range(classes)], axis=1).astype(np.float32)
        prob = torch.nn.functional.normalize(torch.from_numpy(cnt), p=2.0, dim=1)
        own = torch.from_numpy(lab2[s])
        score = torch.nn.functional.nll_loss(torch.log(prob + 1e-8), own, reduction="none").numpy()
        pred = np.argmax(cnt, axis=1)
        noisy = np.zeros(len(s), dtype=bool)
        for c in range(classes):
            rate = 1.0 - min(1.0 * t_given_noisy[c][c], 1.0)
            rate = 0.95 if rate >= 1.0 else 0.05 if rate <= 0.0 else rate
            mine = lab2[s] == c
            if mine.any():
                noisy |= (score >= np.percentile(score[mine], 100 * (1 - rate))) & mine
        raw = s % n
        hit = np.zeros(n, dtype=bool)
        hit[raw[noisy]] = True
        flagged_epochs += hit
        seen = np.zeros(n, dtype=bool)
        seen[raw] = True
        sampled += seen
        pairs = np.zeros((n, classes), dtype=bool)  # a (question, score) suggestion counts once per epoch
        pairs[raw[noisy], pred[noisy]] = True
        suggest += pairs
    return (flagged_epochs + 1) / (sampled + 2), suggest


def curate(labels: np.ndarray, noise: np.ndarray, suggest: np.ndarray, confidence: float) -> np.ndarray:
    classes = suggest.shape[1]
    share = (suggest + 1) / (suggest.sum(axis=1, keepdims=True) + classes)
    share[np.arange(len(labels)), labels] = -1  # a suggestion is another score
    new = np.argmax(share, axis=1)
    conf = share[np.arange(len(labels)), new] * noise
    change = (np.round(noise) >= 1) & (conf >= confidence)
    return np.where(change, new, labels)


def long_tail(pool: DoubledPool, k: int) -> np.ndarray:
    """2 sigmoid(mean distance to the k nearest rows of the doubled pool, itself and its twin included) - 1."""
    _, values = pool.knn(np.arange(pool.size), k, queries=np.arange(pool.n))  # a row and its twin agree
    mean = np.mean(values, axis=1)
    return np.round(2.0 / (1 + np.exp(-mean)) - 1.0, 4)


def order_picks(curated: np.ndarray, lt: np.ndarray, k: int) -> np.ndarray:
    """Highest curated score first; long-tail score, descending; then the later row first."""
    rows = np.arange(len(curated))
    return np.lexsort((-rows, -lt, -curated))[:k]


def curate_scores(u, labels: np.ndarray, classes: int, k: int, seed: int, confidence: float,
                  show: bool = True, fitted: tuple | None = None, twins: bool = True) -> dict:
    """The released DS2 pipeline on unit rows ``u`` and class indices ``labels``: curated scores and the rest.

    ``fitted`` = (T, p) replaces the Adam fit (tests: the fit is the one step that cannot agree bit for bit with
    another implementation, see fit_transition); the random draws stay the same."""
    pool = DoubledPool(u, labels, max(k, HOC_ORDER), show, twins)
    rng = np.random.RandomState(seed)
    counts = hoc_counts(pool, rng, classes)
    if fitted is None:
        t, p_clean = fit_transition(counts, seed)
    else:
        t, p_clean = (np.asarray(v, dtype=np.float32) for v in fitted)
    p_org = np.bincount(labels, minlength=classes) / len(labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_given_noisy = t * p_clean / p_org
    noise, suggest = detect(pool, rng, labels, classes, k, t_given_noisy)
    curated = curate(labels, noise, suggest, confidence)
    return {"curated": curated, "long_tail": long_tail(pool, k), "T": t, "p_clean": p_clean, "noise": noise}


def ratings_of(ctx: Context) -> tuple[np.ndarray, np.ndarray, list, list[str]]:
    """(rated pool rows, class index per rated row, the class values, warnings)."""
    cfg = ctx.config
    if cfg.ratings:
        path = Path(cfg.ratings)
        fix = "pass --ratings a .parquet/.csv table with the columns question_id, rating (one row per question)."
        if not path.is_file():
            raise DDCFError(f"The ratings table --ratings {path} does not exist.", fix)
        df = read_table(path, "ratings", ["question_id", "rating"], fix)
        df = df.assign(question_id=df["question_id"].astype(str)).dropna(subset=["rating"])
        dup = df["question_id"][df["question_id"].duplicated()]
        if len(dup):
            raise DDCFError(f"The ratings table {path} rates {dup.iloc[0]!r} twice.", fix)
        rated = pd.to_numeric(df["rating"], errors="coerce")
        if rated.isna().any():
            raise DDCFError(f"The ratings table {path} has a rating that is not a number "
                            f"({df['rating'][rated.isna()].iloc[0]!r}).", fix)
        df = df.assign(rating=rated)
        rating = dict(zip(df["question_id"], df["rating"]))
        rows = np.array([i for i, q in enumerate(ctx.pool.ids) if q in rating], dtype=np.int64)
        if len(rows) == 0:
            raise DDCFError(f"No candidate question has a rating in {path} (e.g. pool ids {ctx.pool.ids[:3]}).", fix)
        values = np.array([rating[ctx.pool.ids[r]] for r in rows], dtype=np.float64)
        classes, labels = score_classes(values, path)
        warn = [] if len(rows) == len(ctx.pool.ids) else [
            f"{len(ctx.pool.ids) - len(rows):,} candidate questions have no rating in {path} and are not candidates."]
        return rows, labels, classes, warn
    from ddcf.select.methods.predicted import predicted_matrix

    p, models, warn = predicted_matrix(ctx, cfg.ds2_models or [ctx.model])
    bins = cfg.ds2_bins
    labels = np.minimum((bins * (1.0 - p.mean(axis=0))).astype(np.int64), bins - 1)
    return np.arange(len(ctx.pool.ids)), labels, list(range(bins)), warn


def score_classes(values: np.ndarray, path) -> tuple[list, np.ndarray]:
    """Score categories: 0..max for integer ratings >= 0 (the released 0..5 scale, unused scores kept), else the
    distinct values; continuous ratings are refused (their transition matrix would be pool-sized)."""
    if np.all(values == np.round(values)) and values.min() >= 0 and values.max() < MAX_CLASSES:
        top = int(values.max())
        return list(range(top + 1)), values.astype(np.int64)
    classes, labels = np.unique(values, return_inverse=True)
    if len(classes) > MAX_CLASSES:
        raise DDCFError(
            f"The ratings in {path} take {len(classes):,} distinct values: ds2 curates a rater's discrete scores "
            f"(categories such as 0..5; at most {MAX_CLASSES}), not continuous ratings.",
            "round or bin the ratings into a few categories (e.g. 0..5) before passing them to --ratings, or "
            "drop --ratings to bin the predicted correctness into --ds2_bins scores.")
    return classes.tolist(), labels.astype(np.int64)


def _unit_rows_blocked(x, rows: np.ndarray, block: int = 8192, dtype=np.float64) -> np.ndarray:
    """``unit_rows(x, rows)`` (float64, then cast to ``dtype``) built block by block: the same values, row by row,
    without its three N x d temporaries (the float32 gather, the float64 copy, the quotient) - 10 GB at 189k x
    2,560."""
    u = np.empty((len(rows), x.shape[1]), dtype=dtype)
    for s in range(0, len(rows), block):
        u[s:s + block] = unit_rows(x, rows[s:s + block])
    return u


def select(ctx: Context) -> Picks:
    cfg = ctx.config
    with Timer() as t:
        rows, labels, classes, warnings = ratings_of(ctx)
        if len(rows) < ctx.k:
            raise DDCFError(f"--num_select {ctx.k:,} is larger than the {len(rows):,} rated candidate questions.",
                            "rate more questions or lower --num_select.")
        if len(rows) < 4:
            raise DDCFError("ds2 needs at least four rated questions (it compares every one with its neighbours).",
                            "rate more questions.")
        twins = cfg.ds2_pool == "doubled"
        k = min(cfg.neighbours, sample_size((1 + twins) * len(rows)) - 1)

        def unit(dtype):  # built when DoubledPool needs it: float32 for the search first, then float64
            return _unit_rows_blocked(ctx.pool.x, rows, dtype=dtype)

        out = curate_scores(unit, labels, len(classes), k, ctx.seed, cfg.ds2_confidence,
                            show=cfg.progress, twins=twins)
        curated = out["curated"]
        order = order_picks(curated, out["long_tail"], ctx.k)
    values = np.asarray(classes, dtype=np.float64)
    return Picks(indices=rows[order], score=values[curated[order]],
                 engine=f"ds2 (HOC + SimiFeat, {k} neighbours)", seconds=t.seconds, warnings=warnings,
                 stats={"score_values": classes, "transition_matrix": np.round(out["T"], 6).tolist(),
                        "curated_changed": int((curated != labels).sum()),
                        "noisy": int((np.round(out["noise"]) >= 1).sum()), "rated": int(len(rows))})
