"""Nearest neighbours on a 1-D score, with ties kept (Abadie & Imbens 2006), for matching.

In: a score per row (the propensity score or its logit), the 0/1 treatment, the arm to match,
k, an optional caliper (absolute, on the score's scale), optional integer strata (exact-match
cells) and the tie rule. Out: `Matches` — for each target row its match set, with the per-target
means, the donor weights K̃ and Q of the Abadie–Imbens variance, and the number of times each donor
serves; `weighted_pass` turns one arm's match sets into a weighted difference in means (row
weights: MatchIt's ``s.weights``, or frequency weights as the expanded data). Raises nothing on
valid arrays.

Ties. Abadie & Imbens define the match set of unit i as every unit of the other arm at most as
far as the k-th nearest, so with ties it holds more than k units (Stata's ``teffects nnmatch`` and
``psmatch`` do the same). With ``ties = "all"`` (the default) the set is a contiguous window of
the donors sorted by score — [score − d_k, score + d_k] — so means and weights come from cumulative
sums: O(n log n), never a list of pairs (with discrete covariates a window can hold thousands).
``"first"`` keeps exactly k, the lower score first among equals; ``"random"`` keeps exactly k, the
donors at the same score put in a random order first (equidistant donors on both sides of a
target still go to the lower score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIES = ("all", "first", "random")
J_VAR = 2  # neighbours used to estimate the conditional variance (Stata's nn(2))
CHUNK = 65_536  # rows per block of the candidate matrices: memory bounded whatever n is


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, a third faster when no two values are equal (the
    usual case for a continuous score): numpy's SIMD introsort first, and when the sorted values
    have no tie (and no NaN, which sorts last) its order is the only sorted order, so it is
    the stable one; otherwise the stable sort itself."""
    order = np.argsort(values)
    if len(order) > 1:
        s = values[order]
        if s[-1] != s[-1] or bool((s[1:] == s[:-1]).any()):
            return np.argsort(values, kind="stable")
    return order


def nearest_sorted(
    target: np.ndarray, donors_sorted: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each target value, positions of its k nearest values in `donors_sorted` and the
    distances. The k nearest in 1-D lie among the k values either side of the insertion point,
    so a window of 2k candidates is exact. Ties go to the lower position."""
    n_d = len(donors_sorted)
    out_pos = np.empty((len(target), k), dtype=np.int64)
    out_dist = np.empty((len(target), k))
    offsets = np.arange(-k, k)[None, :]
    for start in range(0, len(target), CHUNK):  # the n x 2k candidates a block at a time
        tb = target[start:start + CHUNK]
        cand = np.searchsorted(donors_sorted, tb)[:, None] + offsets
        valid = (cand >= 0) & (cand < n_d)
        np.clip(cand, 0, max(n_d - 1, 0), out=cand)
        dist = np.abs(donors_sorted[cand] - tb[:, None])
        dist[~valid] = np.inf
        sel = np.argsort(dist, axis=1, kind="stable")[:, :k]
        out_pos[start:start + CHUNK] = np.take_along_axis(cand, sel, 1)
        out_dist[start:start + CHUNK] = np.take_along_axis(dist, sel, 1)
    return out_pos, out_dist


def _greedy_without_replacement(
    target: np.ndarray, donors_sorted: np.ndarray, k: int, limit: float,
    target_stratum: np.ndarray, donor_stratum: np.ndarray,
) -> np.ndarray:
    """Greedy matching without replacement: targets in descending score order take the nearest
    donor still free (k rounds). Free donors are found with 'next free to the left/right'
    pointers and path compression, so each lookup is nearly O(1)."""
    n_t, n_d = len(target), len(donors_sorted)
    out = np.full((n_t, k), -1, dtype=np.int64)

    def find(ptr: list[int], i: int) -> int:
        root = i
        while ptr[root] != root:
            root = ptr[root]
        while ptr[i] != root:  # path compression
            ptr[i], i = root, ptr[i]
        return root

    # Free positions are fixed points. left_p[p + 1] stands for position p and index 0 for "none
    # to the left"; right_p[p] stands for position p and index n_d for "none to the right".
    left_p = list(range(n_d + 1))
    right_p = list(range(n_d + 1))
    order = np.argsort(-target, kind="stable")
    ins = np.searchsorted(donors_sorted, target)
    vals = donors_sorted.tolist()
    tstr = target_stratum.tolist()
    dstr = donor_stratum.tolist()
    tv = target.tolist()
    for r in range(k):
        for i in order.tolist():
            if r > 0 and out[i, r - 1] < 0:
                continue
            p = int(ins[i])
            lp = find(left_p, p) - 1  # nearest free position < p
            rp = find(right_p, p)  # nearest free position >= p
            best, bd = -1, limit
            if lp >= 0 and dstr[lp] == tstr[i]:
                dl = tv[i] - vals[lp]
                if dl <= bd:
                    best, bd = lp, dl
            if rp < n_d and dstr[rp] == tstr[i]:
                dr = vals[rp] - tv[i]
                if dr < bd or (best < 0 and dr <= bd):
                    best, bd = rp, dr
            if best >= 0:
                out[i, r] = best
                left_p[best + 1] = best  # position best is taken: skip to the left of it
                right_p[best] = best + 1
    return out




# --------------------------------------------------------------------------------------------
# match sets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Matches:
    """Who was matched to whom. Donor rows sorted by key are `sorted_rows`; each target's match
    set is either the window ``sorted_rows[lo:hi]`` (ties = "all") or the positions in a row of
    `pos` (k columns, -1 = none)."""

    targets: np.ndarray  # row indices of target units
    sorted_rows: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    pos: np.ndarray | None = None

    @property
    def counts(self) -> np.ndarray:
        """M_i: the size of each target's match set (0 = unmatched)."""
        if self.lo is not None and self.hi is not None:
            return self.hi - self.lo
        assert self.pos is not None
        return (self.pos >= 0).sum(axis=1)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of `values` (one per row) over each target's match set; 0 where unmatched."""
        m = self.counts
        if self.lo is not None and self.hi is not None:
            cs = np.concatenate([[0.0], np.cumsum(values[self.sorted_rows])])
            tot = cs[self.hi] - cs[self.lo]
        else:
            assert self.pos is not None
            has = self.pos >= 0
            tot = np.where(has, values[self.sorted_rows[np.clip(self.pos, 0, None)]], 0.0).sum(1)
        return np.divide(tot, m, out=np.zeros(len(m)), where=m > 0)

    def _per_donor(self, per_target: np.ndarray, n: int) -> np.ndarray:
        """Σ over the targets a donor serves of `per_target`, for every row (0 for non-donors)."""
        out = np.zeros(n)
        out[self.sorted_rows] = self._by_position(per_target)
        return out

    def _by_position(self, per_target: np.ndarray) -> np.ndarray:
        """`_per_donor` by position in `sorted_rows`."""
        nd = len(self.sorted_rows)
        if self.lo is not None and self.hi is not None:
            diff = (np.bincount(self.lo, weights=per_target, minlength=nd + 1)
                    - np.bincount(self.hi, weights=per_target, minlength=nd + 1))
            by_pos = np.cumsum(diff)[:nd]
        else:
            assert self.pos is not None
            has = self.pos >= 0
            w = np.broadcast_to(per_target[:, None], self.pos.shape)[has]
            by_pos = np.bincount(self.pos[has], weights=w, minlength=nd)
        return by_pos

    def donor_sums(self, per_target: np.ndarray, n: int) -> np.ndarray:
        """Σ over the targets each row serves of `per_target` (one value per target; 0 for rows
        that serve none): with 1/M_i the matching weight K̃, with wᵢ/Σ_{S_i} w the weight of a
        donor in data expanded by frequency weights (before its own w)."""
        return self._per_donor(per_target, n)

    def add_weights(self, kt: np.ndarray, q: np.ndarray, uses: np.ndarray) -> None:
        """Add `weights` to the row arrays `kt`, `q` and `uses` in place (a donor serves the
        targets of one arm only: no row-length temporaries when matching 10⁷ rows)."""
        m = self.counts.astype(np.float64)
        inv = np.divide(1.0, m, out=np.zeros(len(m)), where=m > 0)
        rows = self.sorted_rows
        kt[rows] += self._by_position(inv)
        q[rows] += self._by_position(inv**2)
        uses[rows] += np.round(self._by_position(np.ones(len(m))))

    def weights(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K̃, Q, uses) per row: Σ 1/M_i, Σ 1/M_i² and the count over the targets served."""
        m = self.counts.astype(np.float64)
        inv = np.divide(1.0, m, out=np.zeros(len(m)), where=m > 0)
        uses = self._per_donor(np.ones(len(m)), n)
        return self._per_donor(inv, n), self._per_donor(inv**2, n), np.round(uses)

    @property
    def donors(self) -> np.ndarray:
        """The match sets as a padded matrix of rows (-1 = none), for inspection and tests."""
        m = self.counts
        width = max(int(m.max()) if len(m) else 0, 1)
        out = np.full((len(m), width), -1, dtype=np.int64)
        for i in range(len(m)):
            if self.lo is not None and self.hi is not None:
                rows = self.sorted_rows[self.lo[i]:self.hi[i]]
            else:
                assert self.pos is not None
                p = self.pos[i]
                rows = self.sorted_rows[p[p >= 0]]
            out[i, :len(rows)] = rows
        return out


def match(
    score: np.ndarray,
    d: np.ndarray,
    target_arm: int,
    *,
    k: int = 1,
    caliper: float | None = None,
    replace: bool = True,
    strata: np.ndarray | None = None,
    ties: str = "all",
    rng: np.random.Generator | None = None,
    arm_order: dict[int, np.ndarray] | None = None,
) -> Matches:
    """Match every unit with ``d == target_arm`` to the units of the other arm nearest on
    `score`: k of them, plus every unit tied with the k-th when ``ties = "all"``.

    `caliper` is an absolute distance on the score's scale; `strata` (integer codes) restricts
    matches to the same stratum. Without replacement matching is greedy and ties go first.
    `arm_order` (`sorted_arms`: each arm's rows sorted by `score`) saves the two sorts when
    one caller matches and estimates variances on the same score (used with ties = "all"
    and no strata, where the order among equal scores does not change the match sets).

    >>> s = np.array([0.0, 1.0, 0.5, 1.5, 2.0]); d = np.array([1, 1, 0, 0, 0])
    >>> match(s, d, 1).donors.tolist()  # unit 1 is 0.5 from both 2 and 3: both kept
    [[2, -1], [2, 3]]
    """
    n = len(score)
    stratified = strata is not None
    strata = np.zeros(n, dtype=np.int64) if strata is None else strata.astype(np.int64)
    targets = np.flatnonzero(d == target_arm)
    donor_rows = np.flatnonzero(d != target_arm)
    # Composite key: strata laid side by side with a gap wider than any score difference.
    lo_s = float(score.min()) if n else 0.0
    span = float(score.max() - lo_s) if n else 0.0
    gap = span * 2 + 1.0
    key = (score - lo_s) + strata * gap if stratified else score - lo_s
    shared = arm_order is not None and not stratified and ties == "all" and replace
    if shared:
        assert arm_order is not None
        sorted_rows = arm_order[1 - target_arm]  # score − min is sorted when score is
    elif ties == "random":
        gen = rng if rng is not None else np.random.default_rng(0)
        sorted_rows = donor_rows[np.lexsort((gen.random(len(donor_rows)), key[donor_rows]))]
    else:
        sorted_rows = donor_rows[stable_argsort(key[donor_rows])]
    donor_key = key[sorted_rows]
    limit = np.inf if caliper is None else float(caliper)
    if len(donor_rows) == 0:
        return Matches(targets, sorted_rows, pos=np.full((len(targets), k), -1, dtype=np.int64))
    tkey = key[targets]
    if not replace:
        pos = _greedy_without_replacement(tkey, donor_key, k, limit, strata[targets],
                                          strata[sorted_rows])
        return Matches(targets, sorted_rows, pos=pos)
    kk = min(k, len(donor_rows))
    if ties != "all":
        pos, dist = nearest_sorted(tkey, donor_key, kk)
        same = strata[sorted_rows[pos]] == strata[targets][:, None]
        dist = np.where(same, dist, np.inf)
        ok = np.isfinite(dist) & (dist <= limit)
        return Matches(targets, sorted_rows, pos=np.where(ok, pos, -1))
    # the targets in sorted order too: every binary search below then walks the donors once
    # (a search for keys in random order costs a cache miss per step, eight times slower)
    if shared:
        assert arm_order is not None
        t_order = arm_position(d == target_arm)[arm_order[target_arm]]
    else:
        t_order = stable_argsort(tkey)
    tk = tkey[t_order]
    dk = kth_distance(tk, donor_key, kk, *((strata[sorted_rows], strata[targets][t_order])
                                           if stratified else ()))
    has = np.isfinite(dk)  # a same-stratum donor among the k nearest
    reach = np.minimum(np.where(has, dk, 0.0), limit)
    # exact ties are exact in floating point; the tolerance only absorbs rounding in |a − b|
    tol = 1e-10 * max(span, 1e-300) + 8 * np.finfo(float).eps * float(np.abs(key).max())
    has &= reach >= 0
    ins = np.searchsorted(donor_key, tk)
    lo_p, hi_p = window(donor_key, ins, tk - reach - tol, tk + reach + tol, kk + 1)
    lo = np.zeros(len(tk), dtype=np.int64)
    hi = np.zeros(len(tk), dtype=np.int64)
    lo[t_order] = np.where(has, lo_p, 0)
    hi[t_order] = np.where(has, np.maximum(hi_p, lo_p), 0)
    return Matches(targets, sorted_rows, lo=lo, hi=hi)


def sorted_arms(score: np.ndarray, d: np.ndarray) -> dict[int, np.ndarray]:
    """Each arm's rows sorted by `score` (stable: equal scores in row order), for `match`'s
    and `within_arm_variance`'s ``order``."""
    out = {}
    for arm in (0, 1):
        rows = np.flatnonzero(d == arm)
        out[arm] = rows[stable_argsort(score[rows])]
    return out


def arm_position(in_arm: np.ndarray) -> np.ndarray:
    """For every row, its position among the rows of its arm (the index into
    ``np.flatnonzero(in_arm)`` for rows in the arm)."""
    return np.cumsum(in_arm) - 1


def kth_distance(target: np.ndarray, donors_sorted: np.ndarray, k: int,
                 donor_stratum: np.ndarray | None = None,
                 target_stratum: np.ndarray | None = None) -> np.ndarray:
    """Distance from each target to its k-th nearest donor (the farthest same-stratum one
    among its k nearest when fewer share its stratum; inf when none does), without forming
    candidate lists: in 1-D the i-th nearest on the left, Lᵢ, and on the right, Rᵢ, are
    sorted, so the j-th nearest of all is min over i of max(Lᵢ, R_{j−i}) (L₀ = R₀ = −∞).
    Strata lie side by side in the sorted key, so a donor of another stratum on one side
    means none further on that side: its distance becomes inf. Same numbers as
    `nearest_sorted`'s largest same-stratum distance, in O(k²) vector operations."""
    n_d = len(donors_sorted)
    ins = np.searchsorted(donors_sorted, target)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for i in range(1, k + 1):
        for side, at in ((left, ins - i), (right, ins + i - 1)):
            ok = (at >= 0) & (at < n_d)
            safe = np.clip(at, 0, max(n_d - 1, 0))
            dist = np.abs(donors_sorted[safe] - target)
            if donor_stratum is not None and target_stratum is not None:
                ok &= donor_stratum[safe] == target_stratum
            side.append(np.where(ok, dist, np.inf))
    best = np.full(len(target), -np.inf)
    for j in range(1, k + 1):  # the j-th nearest; the last finite one is the answer
        jth = np.minimum(left[j - 1], right[j - 1])
        for i in range(1, j):
            jth = np.minimum(jth, np.maximum(left[i - 1], right[j - i - 1]))
        best = np.where(np.isfinite(jth), jth, best)
    return np.where(best > -np.inf, best, np.inf)


def window(values: np.ndarray, base: np.ndarray, low: np.ndarray, high: np.ndarray,
           width: int, base_high: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``searchsorted(values, low, "left")`` and ``searchsorted(values, high, "right")`` for
    queries whose answers lie near `base`: every value from position `base` on is ≥ `low`, and
    every value before `base_high` (default `base`) is ≤ `high`. The answers are counted from
    the `width` + 1 values on either side (comparisons, no binary search: a search of keys
    costs a cache miss per step); only where a window runs past them (long runs of ties)
    does a binary search finish the job."""
    n = len(values)
    top = max(n - 1, 0)
    base_high = base if base_high is None else base_high
    lo = base.copy()
    hi = base_high.copy()
    for i in range(1, width + 2):
        at = base - i
        lo -= (at >= 0) & (values[np.clip(at, 0, top)] >= low)
        at = base_high + i - 1
        hi += (at < n) & (values[np.clip(at, 0, top)] <= high)
    far = (base - lo > width) | (hi - base_high > width)
    if far.any():
        lo[far] = np.searchsorted(values, low[far], side="left")
        hi[far] = np.searchsorted(values, high[far], side="right")
    return lo, hi


def within_arm_variance(y: np.ndarray, key: np.ndarray, j: int = J_VAR,
                        order: np.ndarray | None = None, *, presorted: bool = False
                        ) -> np.ndarray:
    """σ̂²ᵢ = M/(M+1)·(Yᵢ − mean of its M nearest units of the same arm)² on a 1-D key, where
    the M units are the J nearest others plus any tied with the J-th (Abadie & Imbens 2006,
    with J = 2 as Stata's ``nn(2)``; M = J without ties). `order` is ``argsort(key)`` when
    the caller has it; `presorted`: `key` is sorted already (ties in row order), and the
    answer is in that order (no copies of the arm: memory at 10⁷ rows)."""
    n = len(y)
    if n < 2:
        return np.zeros(n)
    j = min(j, n - 1)
    if presorted:
        ks, ys = key, y
    else:
        if order is None:
            order = stable_argsort(key)
        ks, ys = key[order], y[order]
    # the j-th nearest other unit: min over i of max(Lᵢ, R_{j−i}) with Lᵢ, Rᵢ the distances to
    # the i-th neighbour on the left and on the right in sorted order (see `kth_distance`)
    # one padded array of gaps per i: left[p] = pad[p] and right[p] = pad[p + i] (views)
    left, right = [], []
    for i in range(1, j + 1):
        pad = np.full(n + i, np.inf)
        pad[i:n] = ks[i:] - ks[:-i]  # = |ks[p] − ks[p − i]|, exactly
        left.append(pad[:n])
        right.append(pad[i:])
    dj = np.minimum(left[j - 1], right[j - 1])
    for i in range(1, j):
        dj = np.minimum(dj, np.maximum(left[i - 1], right[j - i - 1]))
    del left, right, pad
    tol = 1e-10 * max(float(np.ptp(ks)), 1e-300) + 8 * np.finfo(float).eps * float(
        np.abs(ks).max())
    low, high = ks - dj - tol, ks + dj + tol
    del dj
    pos = np.arange(n)
    lo, hi = window(ks, pos, low, high, j, pos + 1)
    del low, high, pos
    cs = np.concatenate([[0.0], np.cumsum(ys)])
    m = (hi - lo - 1).astype(np.float64)
    mean = (cs[hi] - cs[lo] - ys) / m
    del cs, lo, hi
    if presorted:
        return m / (m + 1) * (ys - mean) ** 2
    out = np.zeros(n)
    out[order] = m / (m + 1) * (ys - mean) ** 2
    return out


def weighted_pass(m: Matches, r: np.ndarray, w: np.ndarray, arm: int, n: int,
                   frequency: bool, bal: np.ndarray) -> tuple[float, float]:
    """One target arm's weighted effect and its targets' total weight; adds each row's
    weight (matching weight × row weight) to `bal`.

    MatchIt's ``s.weights``: the matching weights ignore the sampling weights (a donor's is
    K̃ⱼ = Σ 1/Mᵢ over the targets it serves) and the effect is the difference in means weighted
    by matching weight × sampling weight (``match_data()``'s ``weights`` × ``s.weights``).
    Frequency weights instead give the matching of the data with each row repeated w times
    (k = 1, ties kept): a target's copies all match every copy of its tied donors, so a donor's
    weight is wⱼ Σ wᵢ / Σ_{l ∈ Sᵢ} w_l. `r` is the outcome, less the donors' arm regression
    when bias-adjusted (then the same difference is that of Abadie & Imbens 2011)."""
    mi = m.counts.astype(np.float64)
    keep = mi > 0
    tg = m.targets[keep]
    if frequency:
        per_target = np.divide(w[m.targets], m.mean(w) * mi, out=np.zeros(len(mi)),
                               where=keep)
    else:
        per_target = np.divide(1.0, mi, out=np.zeros(len(mi)), where=keep)
    donor = m.donor_sums(per_target, n) * w
    wt = w[tg]
    target_mean = float(wt @ r[tg]) / float(wt.sum())
    donor_mean = float(donor @ r) / float(donor.sum())
    bal[tg] += wt
    bal += donor
    tau = target_mean - donor_mean if arm == 1 else donor_mean - target_mean
    return tau, float(wt.sum())
