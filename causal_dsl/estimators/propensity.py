"""The propensity score: a logistic regression fitted to its maximum likelihood, with a report.

In: a design matrix `x` (n x p, no intercept column; `common.design_matrix` gives one), a 0/1
treatment `d` and the column names. Out: a `Score` — coefficients on the original scale
(intercept first), the linear predictor (logit), the probability, the log-likelihood, the number
of Newton iterations, whether it converged, whether the data look separated, and the columns left
out (constant, or linearly dependent on earlier ones). Raises `EstimationError` E512 when no
model can be fitted at all (a non-finite design).

Also here, as the score's companions: `design_moments` (one pass over the covariates split by
arm: column moments and per-arm centred cross-products, from which the score's collinearity
check and `arm_regressions`, the bias adjustment's per-arm least squares, are read),
`score_checks` (the fit's report as `Check`s) and the balance table matching prints
(`balance_table`: weighted means and SMDs by arm before and after matching, in one streamed
pass; with row weights, cobalt's ``s.weights`` convention).

Why our own Newton–Raphson rather than scikit-learn: matching results are sensitive to the score
(1-NN matching picks a different neighbour when a logit moves by 0.01), and the published numbers
we reproduce come from the maximum-likelihood fit (R's ``glm``, Stata's ``logit``). A library's
default tolerance stops short of it; Newton's method on this concave likelihood reaches it in a
handful of steps, each one weighted least-squares solve (IRLS), and says when it did. It also
avoids importing scikit-learn (about a second). Row weights give the weighted MLE (each
Newton step a weighted IRLS solve).

Convention: no penalty; iterate until the largest Newton step on the standardised coefficients
is below 1e-10 (statsmodels and R's ``glm`` stop on the deviance at 1e-8; ours is tighter), at most
100 iterations, halving a step that lowers the likelihood. Separation: when some fitted
probabilities reach 0 or 1 (below 1e-10 from either end) the MLE does not exist — the coefficients
run off to infinity — and `separated` is set so that the estimator can warn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import Diagnostic, EstimationError
from ..results import Check, Table

TOL = 1e-10  # largest Newton step (standardised coefficients) at convergence
WARM_ROWS = 50_000  # from 2x this many rows, Newton starts from a fit on a regular subsample
MAX_ITER = 100
SEPARATION_EPS = 1e-10


@dataclass(frozen=True)
class Score:
    """A fitted propensity model (see the module docstring)."""

    coef: np.ndarray  # intercept first, then the kept columns, on the original scale
    names: tuple[str, ...]  # "(intercept)" and the kept columns
    logit: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    separated: bool
    dropped_constant: tuple[str, ...] = ()
    dropped_collinear: tuple[str, ...] = ()

    @property
    def probability(self) -> np.ndarray:
        return expit(self.logit)

    def describe(self) -> str:
        """``logistic regression MLE: converged in 6 Newton iterations, log-likelihood -404.16``."""
        state = (f"converged in {self.iterations} Newton iteration(s)" if self.converged else
                 f"NOT converged after {self.iterations} iteration(s)")
        return f"propensity model (logistic regression, MLE): {state}, log-likelihood " \
               f"{self.loglik:.6g}"


def _loglik(eta: np.ndarray, d: np.ndarray, w: np.ndarray | None = None
            ) -> tuple[float, np.ndarray]:
    """log L = Σ w·(d·η − log(1 + e^η)), with log(1 + e^η) = max(η, 0) + log1p(e^−|η|)
    (stable for any η, and a third of the cost of ``logaddexp``); also returns e^−|η|, from
    which `_probability` gives the fitted probabilities without another exponential."""
    e = np.abs(eta)
    np.negative(e, out=e)
    np.exp(e, out=e)
    soft = np.log1p(e)
    soft += np.maximum(eta, 0.0)
    if w is None:
        return float(d @ eta) - float(soft.sum()), e
    soft -= d * eta
    return -float(w @ soft), e


def expit(eta: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−η), exact to an ulp for any η (numpy alone: scipy.special's import costs
    0.2 s, more than a small study's whole estimate)."""
    eta = np.asarray(eta, dtype=float)
    return _probability(eta, np.exp(-np.abs(eta)))


def _probability(eta: np.ndarray, e: np.ndarray) -> np.ndarray:
    """expit(η) from e = e^−|η|: 1/(1 + e) for η ≥ 0, e/(1 + e) below (both exact to an ulp)."""
    q = 1.0 + e
    np.divide(1.0, q, out=q)
    return np.where(eta >= 0, q, e * q)


CHUNK = 65_536  # rows per block of `column_moments`: no n x p temporary
MOMENT_CHUNK = 8_192  # rows per block of `design_moments` and `standardised_cross` (a block
# that stays in the processor's cache is half as costly)


def _solve(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(hess, grad)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(hess, grad, rcond=None)[0]


def column_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard deviation (ddof 0) and largest absolute value of each column, in row
    blocks (no n x p temporary)."""
    n, p = x.shape
    mu = np.add.reduce(x, axis=0) / n
    ss = np.zeros(p)
    for start in range(0, n, CHUNK):
        b = x[start:start + CHUNK] - mu
        ss += np.einsum("ij,ij->j", b, b)
    big = np.maximum(np.abs(x.max(axis=0)), np.abs(x.min(axis=0)))
    return mu, np.sqrt(ss / n), big


@dataclass(frozen=True)
class Moments:
    """One pass over a design `x` split by a 0/1 treatment: the column means and standard
    deviations (ddof 0) and largest absolute values over all rows, and per arm its row count,
    the sums of the centred columns and their cross-products Σ (x − x̄)(x − x̄)'. The score's
    collinearity check and the bias adjustment's per-arm regressions are all read from it,
    so the covariates are not passed over again for them."""

    mean: np.ndarray
    sd: np.ndarray
    big: np.ndarray
    rows: dict[int, float]
    sums: dict[int, np.ndarray]
    cross: dict[int, np.ndarray]

    def arm_cross(self, arm: int, sc: np.ndarray) -> np.ndarray:
        """``Z1' diag(d == arm) Z1`` for ``Z1 = [1, (x − mean)/sc]`` (as `standardised_cross`)."""
        p = len(sc)
        h = np.empty((p + 1, p + 1))
        h[0, 0] = self.rows[arm]
        h[0, 1:] = h[1:, 0] = self.sums[arm] / sc
        h[1:, 1:] = self.cross[arm] / np.outer(sc, sc)
        return h


def design_moments(x: np.ndarray, d: np.ndarray) -> Moments:
    """`Moments` of `x` by the arms of `d`, in row blocks: each block is centred in one buffer
    that stays in cache; its cross-product over all rows and over the treated rows (the block
    times the 0/1 treatment, a second buffer) are symmetric rank-k updates, and the controls'
    is their difference. A third faster than splitting each block by arm, whose gathers cost
    more than the products; no n x p copy either way."""
    n, p = x.shape
    mu = np.add.reduce(x, axis=0) / max(n, 1)
    big = np.maximum(np.abs(x.max(axis=0)), np.abs(x.min(axis=0))) if n else np.zeros(p)
    total, treated_cross = np.zeros((p, p)), np.zeros((p, p))
    total_sum, treated_sum = np.zeros(p), np.zeros(p)
    step = MOMENT_CHUNK
    buf, masked = np.empty((min(step, n), p)), np.empty((min(step, n), p))
    treated = d == 1
    t = treated.astype(np.float64)
    for start in range(0, n, step):
        b = buf[:min(step, n - start)]
        np.subtract(x[start:start + step], mu, out=b)
        tb = t[start:start + step]
        bt = masked[:len(b)]
        np.multiply(b, tb[:, None], out=bt)
        total += b.T @ b
        treated_cross += bt.T @ bt
        total_sum += np.add.reduce(b, axis=0)
        treated_sum += tb @ b
    sd = np.sqrt(np.maximum(np.diag(total), 0.0) / max(n, 1))
    n_t = float(treated.sum())
    return Moments(mu, sd, big, {0: n - n_t, 1: n_t},
                   {0: total_sum - treated_sum, 1: treated_sum},
                   {0: total - treated_cross, 1: treated_cross})


def standardised_cross(x: np.ndarray, mu: np.ndarray, sc: np.ndarray, w: np.ndarray | None,
                       r: np.ndarray | None, *, hessian: bool = True
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``Z1' diag(w) Z1`` and ``Z1' r`` for ``Z1 = [1, (x − mu)/sc]`` (w = 1 when None), one
    block of rows at a time: the standardised design (which keeps Newton's steps and the
    normal equations well conditioned) is never stored. Each block is centred and weighted in
    one contiguous buffer that stays in cache, whose cross-product is a symmetric rank-k update
    (BLAS syrk); the intercept's row is that buffer summed against √w (a third faster than a
    buffer with the intercept as its first column, whose strided writes cost more than the
    product)."""
    n, p = x.shape
    h = np.zeros((p + 1, p + 1))
    if hessian:
        step = MOMENT_CHUNK
        buf = np.empty((min(step, n), p))
        h11 = np.zeros((p, p))
        h01 = np.zeros(p)
        for start in range(0, n, step):
            b = buf[:min(step, n - start)]
            np.subtract(x[start:start + step], mu, out=b)
            if w is None:
                h01 += np.add.reduce(b, axis=0)
            else:
                sw = np.sqrt(w[start:start + step])
                b *= sw[:, None]
                h01 += sw @ b
            h11 += b.T @ b
        h[0, 0] = n if w is None else float(w.sum())
        h[0, 1:] = h[1:, 0] = h01
        h[1:, 1:] = h11
        scale = np.concatenate([[1.0], sc])
        h /= np.outer(scale, scale)
    g = np.zeros(p + 1)
    if r is not None:
        g[0] = r.sum()
        g[1:] = (x.T @ r - mu * g[0]) / sc
    return h, g


def linear_predictor(x: np.ndarray, mu: np.ndarray, sc: np.ndarray, b: np.ndarray
                     ) -> np.ndarray:
    """η = b0 + Σ bj (x_j − μ_j)/s_j, computed on x itself (one matrix-vector product)."""
    slope = b[1:] / sc
    eta = x @ slope if len(slope) else np.zeros(len(x))
    eta += b[0] - float(slope @ mu)
    return eta


def _independent(corr: np.ndarray, n: int) -> np.ndarray:
    """Which columns (in order) are not linear combinations of the kept ones before them:
    the diagonal of a QR without pivoting, from the correlation matrix by an incremental
    Cholesky factor. A column is dropped when its share of variance left unexplained by the
    earlier kept ones, 1 − R², is below max(1e-16·n, 1e-11)."""
    p = len(corr)
    tol = max(1e-16 * n, 1e-11)
    kept: list[int] = []
    chol = np.zeros((p, p))
    for j in range(p):
        if kept:
            m = len(kept)
            v = np.linalg.solve(chol[:m, :m], corr[kept, j])
            res = corr[j, j] - float(v @ v)
        else:
            v, res = np.zeros(0), corr[j, j]
        if res > tol * corr[j, j]:
            i = len(kept)
            chol[i, :i] = v
            chol[i, i] = np.sqrt(res)
            kept.append(j)
    ok = np.zeros(p, dtype=bool)
    ok[kept] = True
    return ok


EVAL_ROWS = 16_384  # rows per block of `_Point.evaluate` (the block is read twice from cache)


@dataclass
class _Point:
    """η and the probabilities at one coefficient vector, for every row: Newton's current
    point, or the candidate it is tested against (two buffers, swapped on a step)."""

    eta: np.ndarray
    p: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Point:
        return cls(np.empty(n), np.empty(n))

    def evaluate(self, x: np.ndarray, d: np.ndarray, w: np.ndarray | None, mu: np.ndarray,
                 sc: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
        """Fill this point for the standardised coefficients `b`; return the log-likelihood
        (`_loglik`) and the score ``Z1' w (d − p)`` (as `standardised_cross`'s second
        answer). One pass over `x` in blocks that stay in cache: each block's η and its share
        of the score are computed while it is there, so a Newton step reads the covariates
        once, not twice (they are the memory traffic at 10⁶ rows)."""
        n, p = x.shape
        slope = b[1:] / sc
        shift = b[0] - float(slope @ mu)
        ll = 0.0
        g0 = 0.0
        g1 = np.zeros(p)
        for start in range(0, n, EVAL_ROWS):
            stop = min(start + EVAL_ROWS, n)
            xb, db = x[start:stop], d[start:stop]
            eta = self.eta[start:stop]
            if p:
                np.matmul(xb, slope, out=eta)
                eta += shift
            else:
                eta.fill(shift)
            wb = None if w is None else w[start:stop]
            ll_b, e = _loglik(eta, db, wb)
            ll += ll_b
            self.p[start:stop] = pb = _probability(eta, e)
            r = db - pb
            if wb is not None:
                r *= wb
            g0 += float(r.sum())
            if p:
                g1 += xb.T @ r
        g = np.empty(p + 1)
        g[0] = g0
        g[1:] = (g1 - mu * g0) / sc
        return ll, g


def fit_logit(x: np.ndarray, d: np.ndarray, names: list[str] | tuple[str, ...],
              weights: np.ndarray | None = None, moments: Moments | None = None) -> Score:
    """Maximum-likelihood logistic regression of `d` on an intercept and `x`.

    With `weights` it maximises the weighted likelihood Σ wᵢ log f(dᵢ | xᵢ) (R's
    ``glm(weights=)``, statsmodels' GLM ``freq_weights``/``var_weights``: the same point estimate
    for every kind of weight; frequency weights make it the fit on rows repeated w times).

    Memory: a few vectors of length n and one block of rows; `x` is neither copied nor
    standardised as a whole (Newton works on the standardised scale block by block).
    `moments` (`design_moments` of this `x` and `d`) saves the pass for the column moments and
    the collinearity check.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 1))
    >>> d = (rng.uniform(size=200) < expit(0.5 + x[:, 0])).astype(float)
    >>> s = fit_logit(x, d, ["x"])
    >>> s.converged, s.iterations < 10, s.names
    (True, True, ('(intercept)', 'x'))
    """
    n = len(d)
    if x.size and not np.isfinite(np.add.reduce(x, axis=0)).all() \
            and not np.all(np.isfinite(x)):
        raise EstimationError(Diagnostic(
            "E512", "the propensity score model could not be fitted: non-finite covariate values",
            help="check the adjustment set's columns for infinite values"))
    if moments is not None:
        mu_all, sd, big = moments.mean, moments.sd, moments.big
    elif x.size:
        mu_all, sd, big = column_moments(x)
    else:
        mu_all, sd, big = np.zeros(0), np.zeros(0), np.zeros(0)
    const = sd <= 1e-12 * np.maximum(1.0, big)
    dropped_constant = tuple(nm for nm, c in zip(names, const, strict=True) if c)
    keep = np.flatnonzero(~const)
    xk = x[:, keep] if len(keep) < x.shape[1] else x  # a copy only when a column is dropped
    mu, sc = mu_all[keep], sd[keep]
    # drop columns linearly dependent on earlier ones (by order): a singular Hessian
    # otherwise, and the dependent column carries no information about the score
    dropped_collinear: list[str] = []
    if len(keep):
        if moments is not None:
            centred = (moments.cross[0] + moments.cross[1])[np.ix_(keep, keep)]
            ok = _independent(centred / np.outer(sc, sc) / n, n)
        else:
            gram, _ = standardised_cross(xk, mu, sc, None, None)
            ok = _independent(gram[1:, 1:] / n, n)
        if not ok.all():
            dropped_collinear = [names[keep[j]] for j in np.flatnonzero(~ok)]
            keep, mu, sc = keep[ok], mu[ok], sc[ok]
            xk = x[:, keep]
    pbar = float(np.clip(np.average(d, weights=weights), 1e-12, 1 - 1e-12))
    beta = np.zeros(len(keep) + 1)
    beta[0] = np.log(pbar / (1 - pbar))
    warm_hessian = None
    if n >= 2 * WARM_ROWS and len(keep):
        # start Newton from the fit on every k-th row: near the maximum already, so the
        # passes over all rows (each O(n p²)) drop from ~7 to ~3; the end point is the same
        # (the likelihood is concave, the tolerance unchanged)
        stride = n // WARM_ROWS
        ws = None if weights is None else weights[::stride]
        xw = np.ascontiguousarray(xk[::stride])  # one small copy: strided blocks are slow
        warm = fit_logit(xw, d[::stride], [names[j] for j in keep], ws)
        if warm.converged and not warm.separated and len(warm.coef) == len(beta):
            slopes = warm.coef[1:]
            beta = np.concatenate([[warm.coef[0] + float(slopes @ mu)], slopes * sc])
            pw = expit(warm.logit)
            hw = pw * (1 - pw) if ws is None else ws * pw * (1 - pw)
            scale_up = n / len(pw) if ws is None or weights is None else \
                float(weights.sum()) / float(ws.sum())
            warm_hessian = standardised_cross(xw, mu, sc, hw, None)[0] * scale_up

    cur, nxt = _Point.empty(n), _Point.empty(n)
    ll, grad = cur.evaluate(xk, d, weights, mu, sc, beta)
    converged = False
    iterations = 0
    approx = hess = None
    if warm_hessian is not None:
        approx = warm_hessian
    previous = np.inf
    for it in range(1, MAX_ITER + 1):
        iterations = it
        if approx is not None:
            # chord step: the Hessian of the subsample fit (scaled to n rows), which is within
            # O(1/√m) of the true one, so the steps still shrink geometrically; the gradient
            # came with the likelihood, so a step costs one pass over the rows, not an
            # O(n p²) one
            hess = approx
            step = _solve(hess, grad)
            if float(np.max(np.abs(step))) > previous / 4:  # not contracting: exact Newton
                approx = None
        if approx is None:
            pp = cur.p * (1 - cur.p)
            hess = standardised_cross(xk, mu, sc, pp if weights is None else weights * pp,
                                      None)[0]
            step = _solve(hess, grad)
        t = 1.0
        for _ in range(30):  # step halving: the likelihood must not fall
            cand = beta + t * step
            ll_c, grad_c = nxt.evaluate(xk, d, weights, mu, sc, cand)
            if ll_c >= ll - 1e-12 * abs(ll):
                break
            t /= 2
        beta, ll, grad = cand, ll_c, grad_c
        cur, nxt = nxt, cur
        previous = float(np.max(np.abs(t * step)))
        if previous < TOL:
            converged = True
            break
    eta, p = cur.eta, cur.p
    separated = bool(((p < SEPARATION_EPS) | (p > 1 - SEPARATION_EPS)).any())
    if not np.all(np.isfinite(beta)):
        raise EstimationError(Diagnostic(
            "E512", "the propensity score model could not be fitted: the coefficients diverged",
            help="some covariate predicts the treatment perfectly; drop or coarsen it"))
    # back to the original scale: η = b0 + Σ bj (x_j − μ_j)/s_j
    slopes = beta[1:] / sc
    coef = np.concatenate([[beta[0] - float(slopes @ mu)], slopes])
    kept = ("(intercept)", *(names[j] for j in keep))
    return Score(coef, kept, eta, ll, iterations, converged, separated, dropped_constant,
                 tuple(dropped_collinear))


def arm_regressions(y: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray | None = None,
              arms: tuple[int, ...] = (0, 1), moments: Moments | None = None
              ) -> dict[int, np.ndarray]:
    """Predictions of a linear regression of y on x fitted within each of `arms` (for the bias
    adjustment): μ̂₀(X) and μ̂₁(X) for every row. The normal equations on the standardised
    scale, formed block by block from `x` itself (no copy of the covariates per arm), or read
    from `moments` (`design_moments` of this `x`; unweighted only); a rank-deficient arm gets
    the minimum-norm least-squares fit (its predictions are unique)."""
    if w is not None:
        moments = None
    mu, sd, _ = column_moments(x) if moments is None else (moments.mean, moments.sd, None)
    sc = np.where(sd > 0, sd, 1.0)
    out = {}
    for arm in arms:
        sel = (d == arm).astype(np.float64)
        if w is not None:  # weighted least squares within the arm
            sel = sel * w
        if moments is None:
            h, g = standardised_cross(x, mu, sc, sel, y * sel)
        else:
            h = moments.arm_cross(arm, sc)
            g = standardised_cross(x, mu, sc, None, y * sel, hessian=False)[1]
        if np.linalg.cond(h) < 1e10:
            beta = np.linalg.solve(h, g)
        else:
            beta = np.linalg.lstsq(h, g, rcond=1e-10)[0]
        out[arm] = linear_predictor(x, mu, sc, beta)
    return out


def score_checks(score: Score) -> list[Check]:
    out = [Check("note" if score.converged else "warning", score.describe())]
    if not score.converged:
        out.append(Check("warning", "the propensity model did not reach its maximum: the scores "
                         "(and so the matches) are not those of the maximum-likelihood fit"))
    if score.separated:
        out.append(Check("warning", "the propensity model separates the data: some fitted "
                         "scores are 0 or 1 to ten digits, so a covariate (nearly) predicts the "
                         "treatment perfectly and the maximum-likelihood estimate does not exist;"
                         " those units have no comparable counterpart"))
    if score.dropped_constant:
        out.append(Check("note", "constant in the sample, not used in the score: "
                         + ", ".join(score.dropped_constant)))
    if score.dropped_collinear:
        out.append(Check("note", "linearly dependent on other covariates, not used in the score: "
                         + ", ".join(score.dropped_collinear)))
    return out


def frequency_sd(v: np.ndarray, w: np.ndarray | None) -> float:
    """The standard deviation of the data expanded by frequency weights (n − 1 = Σw − 1);
    without weights, the sample SD."""
    if w is None:
        return float(v.std(ddof=1))
    total = float(w.sum())
    m = float(w @ v) / total
    return float(np.sqrt(float(w @ (v - m) ** 2) / (total - 1)))


# --------------------------------------------------------------------------------------------
# the balance table (the covariates' moments by arm, before and after matching)
# --------------------------------------------------------------------------------------------
BALANCE_CHUNK = 8_192  # rows per block of the balance table's one pass (a block in cache)


def _weighted_moments(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """For each weight vector (a column of `weights`, n x m): the total weight, the weighted
    means (m x p) and the weighted mean squared deviations (m x p) of the columns of `x`.

    One pass over `x` in row blocks, with no copy of it: each block is shifted by the first row
    (so that sums of squares do not cancel when a column sits far from zero) and multiplied by
    the weights (two m x p products per block). Memory: one block, whatever n is."""
    n, p = x.shape
    total = weights.sum(axis=0)
    s1 = np.zeros((weights.shape[1], p))
    s2 = np.zeros((weights.shape[1], p))
    shift = x[0].astype(np.float64) if n else np.zeros(p)
    for start in range(0, n, BALANCE_CHUNK):
        block = np.subtract(x[start:start + BALANCE_CHUNK], shift, dtype=np.float64)
        w = weights[start:start + BALANCE_CHUNK]
        s1 += w.T @ block
        np.square(block, out=block)
        s2 += w.T @ block
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / total[:, None]
        var = np.maximum(s2 / total[:, None] - mean**2, 0.0)
    return total, mean + shift, var


def balance_table(
    x: np.ndarray, names: list[str], d: np.ndarray, w_t: np.ndarray, w_c: np.ndarray,
    estimand: str, s_weights: np.ndarray | None = None, frequency: bool = False,
) -> tuple[Table, list[tuple[str, float, float]]]:
    """Standardized mean differences before/after matching (denominator fixed before).

    With row weights `s_weights` (cobalt's and MatchIt's ``s.weights``) the "before" means and
    the SMD's denominator come from the weighted, unmatched sample — the variance
    Σw(x − x̄)²/(Σw − Σw²/Σw), which is s² with unit weights, or /(Σw − 1) for frequency
    weights (the expanded data's s²) — and `w_t`, `w_c` must already include them.

    Linear in the rows and without copies of the covariates: the four sets of weights
    (treated, controls, matched treated, matched controls) go through `_weighted_moments`
    together."""
    t = (d == 1).astype(np.float64)
    sw = np.ones(len(t)) if s_weights is None else s_weights
    weights = np.column_stack([t * sw, (1.0 - t) * sw, w_t * t, w_c * (1.0 - t)])
    total, mean, var = _weighted_moments(x, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_t, n_c = total[0], total[1]
        if s_weights is None or frequency:  # s² (of the expanded data): Σw − 1
            eff_t, eff_c = n_t - 1, n_c - 1
        else:  # Σw − Σw²/Σw per arm
            eff_t = n_t - float((t * sw) @ sw) / n_t
            eff_c = n_c - float(((1.0 - t) * sw) @ sw) / n_c
        vt = var[0] * n_t / eff_t if eff_t > 0 else np.full(x.shape[1], np.nan)
        vc = var[1] * n_c / eff_c if eff_c > 0 else np.full(x.shape[1], np.nan)
        mt, mc, at, ac = mean
        denom = {"att": np.sqrt(vt), "atc": np.sqrt(vc)}.get(estimand, np.sqrt((vt + vc) / 2))
        denom = np.where(denom > 0, denom, np.nan)
        smd_before = (mt - mc) / denom
        smd_after = (at - ac) / denom
        vc_after = var[3]
        vr = var[2] / np.where(vc_after > 0, vc_after, np.nan)
    rows = tuple(
        (names[i], float(mt[i]), float(mc[i]), float(smd_before[i]), float(at[i]),
         float(ac[i]), float(smd_after[i]), float(vr[i]))
        for i in range(len(names))
    )
    title = f"Balance (standardized mean differences, {_denom_text(estimand)}"
    if s_weights is not None:
        title += (" of the weighted unmatched sample; means weighted by the row weights, "
                  "after matching by matching weight × row weight (cobalt's s.weights)")
    table = Table(
        title + ")",
        ("covariate", "mean T", "mean C", "SMD before", "mean T matched", "mean C matched",
         "SMD after", "var ratio after"),
        rows,
    )
    smds = [(names[i], float(smd_before[i]), float(smd_after[i])) for i in range(len(names))]
    return table, smds


def _denom_text(estimand: str) -> str:
    return {"att": "SD of the treated", "atc": "SD of the controls"}.get(
        estimand, "pooled SD sqrt((s²T + s²C)/2)")
