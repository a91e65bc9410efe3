"""The ``causal`` command: a thin layer over the public API.

In: command-line arguments. Out: text, Markdown or JSON on stdout, diagnostics on stderr, and an
exit code: 0 success, 1 problems found in the input, 2 bad usage. Only `CausalError` is caught
and rendered; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Any

import click

from . import __version__, cli_review, collector
from .cli_common import FORMATS, data_options, fail, guarded, load, load_or_fail
from .datacheck import SAMPLE_ROWS
from .errors import CausalError
from .model import METHOD_OPTIONS

# The packages of the `[estimate]` extra (pyproject.toml), by import name.
ESTIMATION_STACK = frozenset({"pandas", "scipy", "statsmodels", "sklearn", "pyarrow"})


class _PipelineOrder(click.Group):
    """Lists the verbs in the order of the pipeline (check → identify → run → render → ...),
    not alphabetically, so that `causal --help` reads as the tour does."""

    ORDER = ("check", "identify", "run", "test", "plot", "render", "report", "fmt", "diff",
             "lint", "import", "export", "lsp")

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(self.ORDER)}
        return sorted(self.commands, key=lambda name: rank.get(name, len(rank)))

    def invoke(self, ctx: click.Context) -> Any:
        """Ctrl-C stops any verb cleanly: the progress line erased, one line on stderr, exit
        130 (the shell's code for SIGINT), no traceback. Files are written atomically, so an
        interrupted write leaves none behind (`causal_dsl.files.write_atomic`)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from . import progress

            progress.clear()
            sys.stderr.write("causal: interrupted\n")
            sys.exit(130)
        except ModuleNotFoundError as error:
            # A core install (`pip install causal-dsl`) has no estimation stack: a verb that
            # needs it says so with the pip line, no traceback. Any other missing module is a
            # bug and keeps its traceback.
            top = (error.name or "").split(".")[0]
            if top not in ESTIMATION_STACK:
                raise
            verb = ctx.invoked_subcommand or "this command"
            sys.stderr.write(f"causal {verb}: needs the estimation stack ({top} is not "
                             "installed): pip install 'causal-dsl[estimate]'\n")
            sys.exit(1)

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Click's entry point, plus a clean exit when standard output cannot be written (a
        full disk, ``> /dev/full``, a closed pipe as in ``| head``): a message and status 1,
        never a traceback. Called without arguments, it is the ``causal`` process itself (a
        test runner passes them): its objects are then frozen at exit (`collector`)."""
        if args is None:
            collector.own_process()
        try:
            result = super().main(args, *rest, **kwargs)
            sys.stdout.flush()
            return result
        except OSError as error:
            if error.errno not in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EFBIG,
                                   errno.EDQUOT):
                raise
            _quiet_stdout()
            if error.errno != errno.EPIPE:  # a reader that left wants no message
                sys.stderr.write(f"causal: cannot write the output: {error.strerror}\n")
            sys.exit(1)


def _estimation_stack() -> None:
    """Import the planner and what it brings (numpy, pandas, the estimators) with the cyclic
    collector paused, then settle them (`collector.settle`): ~80,000 objects that live until
    the end, which its passes during the imports and the run would walk for nothing (0.05–0.1
    s of a small study's `causal run`)."""
    with collector.paused():
        from . import planner  # noqa: F401
    collector.settle()


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(cls=_PipelineOrder, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="causal")
def main() -> None:
    """Write a causal study as text; check, identify, estimate, render and review it.

    \b
    A study is a .causal file: variables, the arrows of the DAG you believe, the dataset it
    binds to, and the queries you ask. Start with `causal check FILE`.
    Exit status: 0 ok, 1 problems in the input, 2 bad usage.
    """


# --- check ------------------------------------------------------------------------------------
@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json (on stdout) for editors and CI.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing for files without problems.")
@click.option("--no-data", is_flag=True,
              help="Do not read the bound data file (its header and first rows are checked "
              "against the declarations otherwise).")
@click.option("--sample", "sample_rows", type=click.IntRange(min=0), default=SAMPLE_ROWS,
              show_default=True, metavar="ROWS",
              help="How many data rows to check (the header is always read).")
@data_options
def check(files: tuple[str, ...], fmt: str, quiet: bool, no_data: bool, sample_rows: int
          ) -> None:
    """Parse and check FILES; print a summary of each, or every problem found.

    \b
    Checks: syntax, declarations, unknown names (with suggestions), duplicate or
    self-pointing arrows, cycles, queries on latent variables, estimands, methods and their
    options; then the bound data (unless --no-data): the header has every declared column
    (with "did you mean"), and the first rows (--sample) fit the declared types: the
    diagnostics `causal run` would give. A Parquet file's schema and rows need pyarrow;
    DuckDB and Spark bindings are not read (a note says so). Exits 1 if any file has a
    problem. Reads no pandas: it runs in a core install (the pre-commit hook's).
    """
    from .datacheck import check_bound_data

    results = []
    failed = False
    for path in files:
        try:
            study = load(path)
            checked = None if no_data else check_bound_data(study, sample_rows)
        except CausalError as error:
            failed = True
            results.append({"path": path, "ok": False, "diagnostics": error.to_dict()})
            if fmt == "text":
                click.echo(error.render(), err=True)
            continue
        data_line = ("data check: skipped (--no-data)" if no_data and study.data is not None
                     else checked.summary() if checked is not None else None)
        results.append({"path": path, "ok": True, "diagnostics": [], "data": data_line})
        if fmt == "text" and not quiet:
            if len(files) > 1:
                click.echo(f"== {path}")
            click.echo(study.summary())
            if data_line is not None:
                click.echo(data_line)
            click.echo(f"ok: {path} is well formed")
    if fmt == "json":
        click.echo(json.dumps({"ok": not failed, "files": results}, indent=2))
    sys.exit(1 if failed else 0)


# --- identify (graph engine) -------------------------------------------------------------------
# (section: identify)
@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--query", "query", default=None, metavar="NAME",
              help="Only this query (default: every query in the file).")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json (on stdout) for editors and CI.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
def identify(file: str, query: str | None, fmt: str, as_json: bool) -> None:
    """Say whether each query's effect is identified by adjustment, and how.

    \b
    For each query: the recommended adjustment set (the optimal O-set when usable, else a
    smallest one), the minimal sets, the backdoor paths and what blocks them, the check of
    the query's own `adjusting` set, instruments, and in plain words why (or why not).
    Then the testable implications of the model (conditional independencies to check in
    the data). Long lists are cut, and the cut is reported. Exits 1 on errors.
    """
    from .identify import identify_report

    fmt = "json" if as_json else fmt
    try:
        # identification needs the graph only: a missing data file is not an error here
        study = load(file, check_files=False)
        click.echo(identify_report(study, query, as_json=fmt == "json"))
    except CausalError as error:
        fail(error, fmt, file)


# --- run (planner and estimators) --------------------------------------------------------------
# (section: run)
@main.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--query", "queries", multiple=True, metavar="NAME",
              help="Only this query (repeatable; default: every query in the file).")
@click.option("--method", type=click.Choice(list(METHOD_OPTIONS)), default=None,
              help="Override the estimator of every query (its assumptions are still checked).")
@click.option("--seed", type=int, default=None, show_default="0",
              help="Seed for anything random (bootstrap resampling).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for people, markdown for reports, json for programs.")
@click.option("-v", "--verbose", is_flag=True,
              help="After the summary table: each identification once, each query's plan, "
                   "estimates, diagnostics and tables, then every estimate compared.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display on stderr.")
@click.option("--save-matched", type=click.Path(dir_okay=False), default=None, metavar="CSV",
              help="Write the matched data (MatchIt's match.data(): rows, distance, weights, "
                   "subclass) of the matching queries to this CSV file.")
@data_options
def run_command(file: str, queries: tuple[str, ...], method: str | None, seed: int | None,
                fmt: str, verbose: bool, quiet: bool, save_matched: str | None) -> None:
    """Estimate each query's effect on the bound dataset.

    \b
    Loads the data (CSV or Parquet, relative to FILE), checks it against the declarations,
    and for each query prints the plan (which estimator and why), the estimate with its
    standard error, 95% interval and p-value, the naive contrast, a cross-check where two
    estimators are valid, the rows used and dropped, and the design's diagnostics
    (balance, overlap, collinearity, pre-trends). A query that cannot be estimated is
    reported (why, and what to do) while the others still run; exits 1 if any failed.

    \b
    Prints a summary table first (query, estimand, method, estimate, 95% CI, n) and the
    warnings; --verbose adds the details and ends with a table comparing every estimate.
    Data paths are printed relative to FILE. On a terminal, progress shows on stderr.
    """
    from . import progress
    from .present.share import shareable

    _estimation_stack()
    study = load_or_fail(file, "json" if fmt == "json" else "text")
    try:
        with progress.showing(enabled=not quiet):
            progress.phase("loading the data")
            result = shareable(study.run(method=method, seed=seed, queries=queries or None,
                                         keep_going=True), study)
        if save_matched is not None:
            from .plots import write_matched

            write_matched(result, save_matched)
    except CausalError as error:
        fail(error, "json" if fmt == "json" else "text", file)
    click.echo(result.format(fmt, verbose=verbose))
    if save_matched is not None:
        click.echo(f"wrote {save_matched} (matched data)", err=True)
    if fmt != "json":
        for _, diagnostics in result.failures:
            sources = {study.path: study.source} if study.source is not None else {}
            click.echo(CausalError(diagnostics, sources).render(), err=True)
    sys.exit(0 if result.ok else 1)


# --- plot -------------------------------------------------------------------------------------
@main.command("plot")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["love", "overlap", "event", "forest"]),
              required=True, help="love: |SMD| before/after matching; overlap: the arms' "
              "propensity scores; event: the event study; forest: estimate vs naive.")
@click.option("--query", default=None, metavar="NAME", help="Whose plot (default: the first).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this .svg file (default: SVG on stdout).")
@click.option("--seed", type=int, default=None, help="Seed for estimators that draw at random.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display on stderr.")
@data_options
@guarded()
def plot_command(file: str, kind: str, query: str | None, output: str | None,
                 seed: int | None, quiet: bool) -> None:
    """Estimate one query of FILE and draw one of its plots as SVG.

    \b
    The plots are those of `causal report` (the same numbers as its tables):
      causal plot study.causal --kind love -o love.svg
      causal plot study.causal --kind overlap --query treated -o overlap.svg
    SVG only (open it in a browser, or convert it with rsvg-convert for a PNG).
    """
    from . import progress
    from .plots import plot_svg, write_plot

    _estimation_stack()
    study = load_or_fail(file)
    with progress.showing(enabled=not quiet):
        progress.phase("loading the data")
        result = study.estimate(query, seed=seed)
    if output is None:
        click.echo(plot_svg(result, kind), nl=False)
        return
    write_plot(result, kind, output)
    click.echo(f"wrote {output} ({kind} plot, svg)", err=True)


# --- render / report ------------------------------------------------------------------------------
# (section: render)
@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file; the extension picks the format "
                   "(.svg, .png, .pdf, .dot/.gv, .mmd). Default: stdout.")
@click.option("--format", "fmt", type=click.Choice(["dot", "svg", "png", "pdf", "mermaid"]),
              default=None, help="Output format (default: from -o's extension, else svg).")
@click.option("--query", default=None, metavar="NAME",
              help="Whose treatment, outcome and adjustment set to show (default: the first).")
@click.option("--highlight", type=click.Choice(["adjustment", "paths", "dagitty", "none"]),
              default="adjustment", show_default=True,
              help="Mark the adjustment set; or also colour the backdoor paths (red: open, "
                   "orange: blocked by the set); or DAGitty's view (causal paths green, "
                   "biasing paths red, ancestors shaded); or neither.")
@click.option("--legend/--no-legend", default=None,
              help="Explain fills, borders and lines under the drawing (default: on for "
                   "svg, png and pdf).")
@click.option("--dpi", type=float, default=None, help="PNG resolution (default 96).")
@click.option("--scale", type=float, default=None,
              help="PNG size as a factor of 96 dpi (--scale 2 is --dpi 192).")
@click.option("--engine", default=None, metavar="PATH",
              help="Graphviz engine for svg/png (default: $CAUSAL_DOT_ENGINE, then `dot` on "
                   "PATH, then graphviz-pure).")
@click.option("--no-title", is_flag=True, help="Leave the study's title out of the diagram.")
@guarded()
def render(file: str, output: str | None, fmt: str | None, query: str | None, highlight: str,
           legend: bool | None, dpi: float | None, scale: float | None,
           engine: str | None, no_title: bool) -> None:
    """Draw FILE's DAG left to right: treatment and outcome filled, latent variables dashed,
    hidden common causes as dashed two-headed arrows, the adjustment set double-bordered.

    \b
    Examples:
      causal render study.causal -o dag.svg
      causal render study.causal -o dag.mmd            # Mermaid, for GitHub Markdown
      causal render study.causal --format dot | dot -Tpdf -o dag.pdf
      causal render study.causal --highlight paths -o why.png
      causal render study.causal --highlight dagitty --scale 2 -o dag.png
      causal render study.causal -o dag.pdf            # no system Graphviz needed
    """
    from .render import format_for, render_bytes, write_output

    study = load_or_fail(file)
    kind = format_for(output or "", fmt) if output else (fmt or "svg")
    if output is None and kind in ("png", "pdf") and sys.stdout.isatty():
        raise click.UsageError(f"refusing to write {kind.upper()} to a terminal: use -o "
                               f"FILE.{kind} or a pipe")
    data = render_bytes(study, kind, query, highlight, engine=engine, title=not no_title,
                        legend=legend, dpi=dpi, scale=scale)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_output(output, data)
    click.echo(f"wrote {output} ({kind})", err=True)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (.html or .md). Default: Markdown on stdout.")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), default=None,
              help="Report format (default: from -o's extension, else markdown).")
@click.option("--no-estimate", is_flag=True,
              help="Identification only: do not read the data or estimate.")
@click.option("--seed", type=int, default=None, help="Seed for estimators that draw at random.")
@click.option("--engine", default=None, metavar="PATH",
              help="Graphviz engine for the HTML diagram (default: as for `causal render`).")
@click.option("--no-checks", is_flag=True,
              help="Leave out the assumptions on trial (implication tests, sensitivity, "
              "refutations).")
@guarded()
@data_options
def report(file: str, output: str | None, fmt: str | None, no_estimate: bool,
           seed: int | None, engine: str | None, no_checks: bool) -> None:
    """Write one self-contained review document for FILE (HTML or Markdown).

    \b
    It holds the title, the DAG (inline SVG in HTML, Mermaid in Markdown), the assumptions
    in words and the testable implications, and for each query the identification result
    and, when data is bound, the estimates with 95% intervals, the plan's reasons, the
    design's diagnostics (balance or pre-trend tables) and a forest plot of the naive and
    adjusted estimates. Problems with a query are reported inside the document. Then the
    assumptions on trial (as `causal test`, with plots; refutations with fewer replications,
    said in the document); --no-checks leaves them out.
    """
    from .render import write_output
    from .report import build_report, report_format

    if not no_estimate:
        _estimation_stack()
    study = load_or_fail(file)
    kind = report_format(output, fmt)
    rep = build_report(study, estimate=not no_estimate, seed=seed, engine=engine,
                       checks=not no_checks and not no_estimate)
    text = rep.to_html() if kind == "html" else rep.to_markdown()
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text)
    click.echo(f"wrote {output} ({kind})", err=True)


# --- test (the assumptions on trial: causal_dsl.checks) ------------------------------------------
@main.command("test")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json (on stdout) for CI.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True, help="Level of the tests (Holm-adjusted).")
@click.option("--fail-on-reject", is_flag=True,
              help="Exit 1 when the data contradicts an implication or a refutation fails.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the refutations (permutations, random covariates, subsets).")
@guarded("fmt")
@data_options
def test_command(file: str, fmt: str, alpha: float, fail_on_reject: bool, seed: int) -> None:
    """Put FILE's assumptions on trial against its bound data.

    \b
    Tests every testable implication (a ⊥ b | S) of the DAG on the data, the contradicted
    ones first, with Holm-adjusted p-values and a verdict; then for each query identified
    by adjustment: Cinelli-Hazlett sensitivity (robustness value, benchmarks), E-value, the
    declared latent variables and <-> edges with the strength they would need, and the
    refutations (placebo treatment, random common cause, subsets, placebo outcome).
    Exit status: 0 done; 1 input problems, or with --fail-on-reject a rejected implication
    or a failed refutation; 2 bad usage. Details: docs/assumptions.md.
    """
    _estimation_stack()
    study = load_or_fail(file, fmt)
    result = study.test(alpha=alpha, seed=seed)
    click.echo(json.dumps(result.to_dict(), indent=2) if fmt == "json" else str(result))
    sys.exit(1 if fail_on_reject and not result.ok else 0)


# the review verbs live in their own module (fmt, diff, lint, import/export, lsp)
for _command in cli_review.COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
