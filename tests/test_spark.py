"""The Spark path in local mode: the same SQL as DuckDB, the same answer as pandas (OLS with
HC1 and CR1, and the two-way fixed-effects regression). Skipped when pyspark or Java is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import planner

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)

from pyspark.sql import SparkSession


@pytest.fixture(scope="module")
def spark() -> SparkSession:
    session = (SparkSession.builder.master("local[2]").appName("causal-dsl-tests")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false").getOrCreate())
    yield session
    session.stop()


def test_ols_on_spark_matches_pandas(tmp_path: Path, spark: SparkSession) -> None:
    rng = np.random.default_rng(3)
    n = 500
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    frame = pd.DataFrame({"d": d, "y": 1 + 2 * d + x + rng.normal(size=n) * (1 + abs(x)),
                          "x": x, "g": rng.integers(0, 20, size=n)})
    frame.to_parquet(tmp_path / "f.parquet")
    for opts in ("", "(cluster = g)"):
        (tmp_path / "s.causal").write_text(
            'data spark("f.parquet")\nvar d: binary\nvar y: continuous\nvar x: continuous\n'
            f"d -> y\nx -> d\nx -> y\nquery q: ate(d -> y) using ols{opts}\n")
        m = causal_dsl.load(str(tmp_path / "s.causal"))
        from causal_dsl import engines
        p = planner.plan(m, m.queries[0])
        design = planner._design(m, p, m.queries[0], 0)
        got = engines.estimate(m, m.queries[0], p, design, None, seed=0, spark=spark)
        ref = planner.estimate(m, m.queries[0], data=frame)
        assert got is not None and "spark" in got.result.description
        a, b = got.result.estimate, ref.result.estimate
        assert a.effect == pytest.approx(b.effect, rel=1e-8)
        assert a.se == pytest.approx(b.se, rel=1e-8)
