"""The DAG against the data: test each testable implication ``x ⊥ y | S`` on the bound data.

In: a `Model`, the raw bound `DataFrame` and the model's implications (an iterable of
`Implication(x, y, given)`, e.g. ``study.implications()``). Out: `LocalTests`, one
`LocalTest` per implication with an estimate, an interval, a p-value and its Holm adjustment,
the contradicted ones first, and a verdict sentence. Raises `DataError` (E4xx) when a column
does not fit its declared type; an implication whose sample is too small or degenerate is kept
in the result, marked untested with the reason (never dropped).

Which test for which types (as DAGitty's ``localTests``, extended to discrete variables):

* both continuous/count, or one continuous/count and one binary: **partial correlation** of the
  least-squares residuals of x and y on S (categorical members of S as dummies), with Fisher's
  z: ``z = atanh(r)·√(n − |S| − 3)``, the interval ``tanh(atanh(r) ± z_{1−α/2}/√(n − |S| − 3))``
  (DAGitty's ``type = "cis"``; |S| counts the columns of S's design).
* anything else (binary–binary, or a categorical/ordinal variable): a **likelihood-ratio test**
  of nested regressions. The response is the variable with the simplest model (continuous:
  Gaussian linear model; binary: logit; categorical: multinomial logit, the one with fewer
  levels), S and the other variable (dummies when categorical) are the predictors; LR =
  2(ℓ₁ − ℓ₀) ~ χ²(df). With df = 1 the estimate is the coefficient (a log odds ratio for a
  logit, a difference in means otherwise) with a Wald interval; with df > 1 it is the RMSEA
  √(max(LR − df, 0)/(df(n − 1))) with the interval from inverting the noncentral χ², as
  DAGitty reports for its χ² tests.

Each test uses the rows complete in x, y and S; the cost is O(n·k²) per implication. On
engine-bound data (a glob, `duckdb(...)`, a big file) `causal_dsl.engines.citests.local_tests`
gives the same result without loading the frame: the partial correlations from moments in the
engine, the likelihood-ratio tests on only their own columns (`check_one`, `adjusted`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..model import Model
from ._design import Sample, fmt, fmt_p, kind, residualize, rss, sample

MIN_ROWS = 10  # fewer complete rows than this: the implication is reported untested


@dataclass(frozen=True, slots=True)
class LocalTest:
    """One implication on the data. `estimate`/`low`/`high` are on the scale `measure`
    ("r", "log odds ratio", "mean difference", "RMSEA"); `p_holm` is Holm-adjusted over the
    tested implications; `tested` is False (with `note`) when the data could not test it."""

    x: str
    y: str
    given: tuple[str, ...]
    test: str
    measure: str
    estimate: float | None
    low: float | None
    high: float | None
    statistic: float | None
    df: int | None
    p_value: float | None
    p_holm: float | None
    rejected: bool
    n: int
    tested: bool = True
    note: str = ""

    @property
    def text(self) -> str:
        base = f"{self.x} ⊥ {self.y}"
        return base if not self.given else f"{base} | {', '.join(self.given)}"

    def short(self) -> str:
        """``r = 0.31, p < 0.001`` (the Holm-adjusted p)."""
        if not self.tested:
            return f"not tested: {self.note}"
        sym = "r" if self.measure == "r" else self.measure
        return f"{sym} = {fmt(self.estimate)}, {fmt_p(self.p_holm)}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["given"] = list(self.given)
        d["implication"] = self.text
        return d


@dataclass(frozen=True, slots=True)
class LocalTests:
    """Every implication tested, contradicted ones first (then by adjusted p)."""

    items: tuple[LocalTest, ...]
    alpha: float
    level: float
    complete: bool = True  # False when the implication list itself was cut
    pairs: int | None = None

    @property
    def rejected(self) -> tuple[LocalTest, ...]:
        return tuple(t for t in self.items if t.rejected)

    @property
    def tested(self) -> tuple[LocalTest, ...]:
        return tuple(t for t in self.items if t.tested)

    @property
    def verdict(self) -> str:
        """One sentence a reviewer can read without knowing the tests."""
        n, bad = len(self.items), self.rejected
        if n == 0:
            return "the model implies no testable conditional independence among observed " \
                   "variables: the data cannot contradict the graph this way"
        untested = n - len(self.tested)
        tail = f"; {untested} could not be tested" if untested else ""
        where = f"(Holm-adjusted, α = {self.alpha:g})"
        if not bad:
            return (f"the data contradicts none of the {n} implications {where}{tail}")
        shown = "; ".join(f"{t.text} is rejected ({t.short()})" for t in bad[:3])
        more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
        return f"the data contradicts {len(bad)} of {n} implications {where}: {shown}{more}{tail}"

    def __str__(self) -> str:
        lines = ["The DAG against the data (testable implications)", f"  {self.verdict}."]
        if not self.complete:
            lines.append("  note: the list of implications was cut; not every pair was tested")
        if self.items:
            w = max(len(t.text) for t in self.items)
            lines.append(f"  {'implication':<{w}}  {'estimate':>9}  {'interval':>19}  "
                         f"{'p (Holm)':>9}  test")
        for t in self.items:
            mark = "REJECTED " if t.rejected else ""
            if not t.tested:
                lines.append(f"  {t.text:<{w}}  not tested: {t.note}")
                continue
            interval = f"[{fmt(t.low)}, {fmt(t.high)}]"
            lines.append(f"  {t.text:<{w}}  {fmt(t.estimate):>9}  {interval:>19}  "
                         f"{_p_cell(t.p_holm):>9}  {mark}{t.test} ({t.measure}, n = {t.n})")
        lines.append(f"  intervals: {self.level:.0%}; p-values adjusted by Holm over the "
                     f"{len(self.tested)} tested")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "alpha": self.alpha, "level": self.level,
                "adjustment": "holm", "complete": self.complete, "pairs": self.pairs,
                "rejected": len(self.rejected), "tests": [t.to_dict() for t in self.items]}


def _p_cell(p: float | None) -> str:
    return fmt_p(p).removeprefix("p = ").replace("p < ", "< ")


def holm(p: Iterable[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (as R's ``p.adjust(method = "holm")``).

    >>> [round(float(x), 3) for x in holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    arr = np.asarray(list(p), dtype=float)
    m = len(arr)
    if m == 0:
        return arr
    order = np.argsort(arr, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * arr[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def local_tests(model: Model, frame: pd.DataFrame, implications: Iterable[Any], *,
                alpha: float = 0.05, level: float = 0.95) -> LocalTests:
    """Test each implication on `frame` (the raw bound data; columns are coded here).

    >>> import numpy as np, pandas as pd, causal_dsl
    >>> from causal_dsl.identify import Implication
    >>> m = causal_dsl.parse("var a: continuous\\nvar b: continuous\\nvar c: continuous\\n"
    ...                      "a -> b -> c\\n")
    >>> rng = np.random.default_rng(1); a = rng.normal(size=500); b = a + rng.normal(size=500)
    >>> df = pd.DataFrame({"a": a, "b": b, "c": b + rng.normal(size=500)})
    >>> res = local_tests(m, df, [Implication("a", "c", frozenset({"b"}))])
    >>> res.verdict
    'the data contradicts none of the 1 implications (Holm-adjusted, α = 0.05)'
    """
    raw = [check_one(model, frame, imp.x, imp.y, tuple(sorted(imp.given)), level)
           for imp in implications]
    return adjusted(raw, implications, alpha=alpha, level=level)


def adjusted(raw: Sequence[LocalTest], implications: Iterable[Any], *, alpha: float = 0.05,
             level: float = 0.95) -> LocalTests:
    """The tests of `raw` (one per implication, in order) Holm-adjusted over the tested ones,
    sorted contradicted first: shared by the in-memory path and `engines.citests`, so that
    both assemble their results the same way."""
    tested = [i for i, t in enumerate(raw) if t.tested]
    adjusted = holm([raw[i].p_value or 0.0 for i in tested])
    items = list(raw)
    for i, p in zip(tested, adjusted, strict=True):
        t = raw[i]
        items[i] = LocalTest(**{**_fields(t), "p_holm": float(p), "rejected": bool(p < alpha)})
    items.sort(key=lambda t: (not t.rejected, not t.tested,
                              t.p_holm if t.p_holm is not None else 1.0, t.text))
    complete = bool(getattr(implications, "complete", True))
    pairs = getattr(implications, "pairs", None)
    return LocalTests(tuple(items), alpha, level, complete, pairs)


def _fields(t: LocalTest) -> dict[str, Any]:
    return {f: getattr(t, f) for f in LocalTest.__dataclass_fields__}


def untested(x: str, y: str, given: tuple[str, ...], test: str, n: int, note: str
             ) -> LocalTest:
    """An implication kept in the result, marked untested with the reason (never dropped)."""
    return LocalTest(x, y, given, test, "", None, None, None, None, None, None, None, False, n,
                     tested=False, note=note)


def is_linear(model: Model, x: str, y: str) -> bool:
    """Whether ``x ⊥ y | S`` is tested by partial correlation (else by likelihood ratio)."""
    kx, ky = kind(model, x), kind(model, y)
    return "num" in (kx, ky) and "cat" not in (kx, ky)


def check_one(model: Model, frame: pd.DataFrame, x: str, y: str, given: tuple[str, ...],
             level: float) -> LocalTest:
    """One implication on `frame` (Holm's p not yet set: `adjusted` does it)."""
    return _one(model, frame, x, y, given, level)


def _one(model: Model, frame: pd.DataFrame, x: str, y: str, given: tuple[str, ...],
         level: float) -> LocalTest:
    kx, ky = kind(model, x), kind(model, y)
    s = sample(model, frame, [x, y, *given])
    linear = "num" in (kx, ky) and "cat" not in (kx, ky)
    name = "partial correlation (Fisher z)" if linear else "likelihood ratio"
    if s.n < MIN_ROWS:
        return untested(x, y, given, name, s.n,
                         f"{s.n} complete rows (of {s.rows_read}), need {MIN_ROWS}")
    if linear:
        return _partial_correlation(s, x, y, given, level)
    return _likelihood_ratio(model, s, x, y, given, level)


def _partial_correlation(s: Sample, x: str, y: str, given: tuple[str, ...], level: float
                         ) -> LocalTest:
    test = "partial correlation (Fisher z)"
    design = s.matrix(given)
    resid, rank = residualize(np.hstack([s.blocks[x], s.blocks[y]]), design)
    ex, ey = resid[:, 0], resid[:, 1]
    sxx, syy = float(ex @ ex), float(ey @ ey)
    scale = max(float(np.sum(s.blocks[x] ** 2)), float(np.sum(s.blocks[y] ** 2)), 1.0)
    if min(sxx, syy) <= 1e-12 * scale:
        which = x if sxx <= syy else y
        return untested(x, y, given, test, s.n, f"{which} is constant given "
                         f"{', '.join(given) or 'nothing'}")
    dof = s.n - (rank - 1) - 3
    if dof <= 0:
        return untested(x, y, given, test, s.n, f"{s.n} rows for {rank - 1} conditioning "
                         "columns: no degrees of freedom left")
    r = float(np.clip((ex @ ey) / np.sqrt(sxx * syy), -1 + 1e-15, 1 - 1e-15))
    z = float(np.arctanh(r) * np.sqrt(dof))
    p = float(2 * stats.norm.sf(abs(z)))
    half = stats.norm.ppf(0.5 + level / 2) / np.sqrt(dof)
    lo, hi = np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)
    return LocalTest(x, y, given, test, "r", r, float(lo), float(hi), z, None, p, None, False,
                     s.n)


def _likelihood_ratio(model: Model, s: Sample, x: str, y: str, given: tuple[str, ...],
                      level: float) -> LocalTest:
    kinds = {x: kind(model, x), y: kind(model, y)}
    rank = {"num": 0, "bin": 1, "cat": 2}

    def levels(v: str) -> int:
        return s.blocks[v].shape[1] + 1

    response, predictor = sorted((x, y), key=lambda v: (rank[kinds[v]], levels(v), v))
    family = {"num": "Gaussian linear model", "bin": "logit",
              "cat": "multinomial logit"}[kinds[response]]
    test = f"likelihood ratio ({family} of {response})"
    base = s.matrix(given)
    full = np.hstack([base, s.blocks[predictor]])
    yv = s.blocks[response]
    pb = s.blocks[predictor]
    flat_pred = pb.shape[1] == 0 or (kinds[predictor] != "cat" and np.ptp(pb) == 0)
    if flat_pred or (kinds[response] != "cat" and np.ptp(yv) == 0) \
            or (kinds[response] == "cat" and yv.shape[1] == 0):
        which = predictor if flat_pred else response
        return untested(x, y, given, test, s.n, f"{which} takes a single value in the sample")
    try:
        ll0, ll1, df, coef, se = _fit_pair(kinds[response], yv, base, full)
    except _FitFailed as why:
        return untested(x, y, given, test, s.n, str(why))
    if df <= 0:
        return untested(x, y, given, test, s.n, f"{predictor} is collinear with "
                         f"{', '.join(given) or 'the intercept'}: nothing left to test")
    lr = max(0.0, 2 * (ll1 - ll0))
    p = float(stats.chi2.sf(lr, df))
    if df == 1 and coef is not None and se is not None and np.isfinite(se) and se > 0:
        half = stats.norm.ppf(0.5 + level / 2) * se
        measure = "log odds ratio" if kinds[response] != "num" else "mean difference"
        return LocalTest(x, y, given, test, measure, coef, coef - half, coef + half, lr, df, p,
                         None, False, s.n)
    est, lo, hi = _rmsea(lr, df, s.n, level)
    return LocalTest(x, y, given, test, "RMSEA", est, lo, hi, lr, df, p, None, False, s.n)


class _FitFailed(Exception):
    pass


def _fit_pair(family: str, y: np.ndarray, base: np.ndarray, full: np.ndarray
              ) -> tuple[float, float, int, float | None, float | None]:
    """Log-likelihoods of the null and the full model, the df added, and (df = 1) the added
    coefficient with its standard error."""
    n = len(y)
    if family == "num":
        rss0, k0 = rss(y[:, 0], base)
        rss1, k1 = rss(y[:, 0], full)
        if rss1 <= 0:
            raise _FitFailed("the predictors fit the response exactly")
        ll0 = -n / 2 * (np.log(2 * np.pi * rss0 / n) + 1)
        ll1 = -n / 2 * (np.log(2 * np.pi * rss1 / n) + 1)
        df = k1 - k0
        coef = se = None
        if df == 1:
            beta, *_ = np.linalg.lstsq(full, y[:, 0], rcond=None)
            xtx_inv = np.linalg.pinv(full.T @ full)
            coef = float(beta[-1])
            se = float(np.sqrt(rss1 / (n - k1) * xtx_inv[-1, -1]))
        return float(ll0), float(ll1), df, coef, se
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    endog: np.ndarray = y[:, 0] if family == "bin" else \
        np.argmax(np.hstack([1 - y.sum(axis=1, keepdims=True), y]), axis=1)
    fits = []
    for design in (base, full):
        design = design[:, _independent(design)]
        model = sm.Logit(endog, design) if family == "bin" else sm.MNLogit(endog, design)
        with warnings.catch_warnings():
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                res = model.fit(disp=0, method="newton", maxiter=100)
            except (PerfectSeparationWarning, np.linalg.LinAlgError, ValueError) as exc:
                raise _FitFailed(f"the {'logit' if family == 'bin' else 'multinomial logit'} "
                                 f"does not converge (separation): {exc}") from None
        if not np.isfinite(res.llf):
            raise _FitFailed("the likelihood is not finite (separation)")
        fits.append((res, design.shape[1]))
    (r0, k0), (r1, k1) = fits
    n_eq = 1 if family == "bin" else y.shape[1]
    df = (k1 - k0) * n_eq
    coef = se = None
    if df == 1:
        coef, se = float(np.ravel(r1.params)[-1]), float(np.ravel(r1.bse)[-1])
    return float(r0.llf), float(r1.llf), df, coef, se


def _independent(design: np.ndarray) -> np.ndarray:
    """Columns forming a basis of the design (drops exact duplicates, e.g. an empty level)."""
    _, r = np.linalg.qr(design)
    diag = np.abs(np.diag(r))
    keep = diag > (diag.max() if diag.size else 0) * 1e-10
    return np.flatnonzero(keep)


def _rmsea(lr: float, df: int, n: int, level: float) -> tuple[float, float, float]:
    """RMSEA and its interval from the noncentral χ² (Browne & Cudeck), as DAGitty."""

    def lam(target: float) -> float:
        f = lambda nc: stats.ncx2.cdf(lr, df, nc) - target if nc > 0 else \
            stats.chi2.cdf(lr, df) - target  # noqa: E731
        if f(0.0) <= 0:
            return 0.0
        hi = max(1.0, lr)
        while f(hi) > 0:
            hi *= 2
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-10))

    scale = df * max(n - 1, 1)
    est = np.sqrt(max(lr - df, 0.0) / scale)
    lo = np.sqrt(lam(0.5 + level / 2) / scale)
    hi = np.sqrt(lam(0.5 - level / 2) / scale)
    return float(est), float(lo), float(hi)
