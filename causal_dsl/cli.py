"""The ``causal`` command: a thin layer over the public API.

In: command-line arguments. Out: text, Markdown or JSON on stdout, diagnostics on stderr, and an
exit code: 0 success, 1 problems found in the input, 2 bad usage. Only `CausalError` is caught
and rendered; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, load
from .errors import CausalError
from .model import Study

FORMATS = click.Choice(["text", "json"])


def fail(error: CausalError, fmt: str = "text", path: str | None = None) -> NoReturn:
    """Print a `CausalError` (as text on stderr, or JSON on stdout) and exit 1."""
    if fmt == "json":
        click.echo(json.dumps({"ok": False, "path": path, "diagnostics": error.to_json()},
                              indent=2))
    else:
        click.echo(error.render(), err=True)
    sys.exit(1)


def load_or_fail(path: str, fmt: str = "text") -> Study:
    try:
        return load(path)
    except CausalError as error:
        fail(error, fmt, path)


def guarded(fmt_arg: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a `CausalError` escaping a verb into rendered diagnostics and exit status 1."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        import functools

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except CausalError as error:
                fmt = kwargs.get(fmt_arg, "text") if fmt_arg else "text"
                fail(error, "json" if fmt == "json" else "text")

        return wrapper

    return decorate


class _PipelineOrder(click.Group):
    """Lists the verbs in the order of the pipeline (check → identify → run → render → ...),
    not alphabetically, so that `causal --help` reads as the tour does."""

    ORDER = ("check", "identify", "run", "render", "report", "fmt", "diff", "lint", "import",
             "export")

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(self.ORDER)}
        return sorted(self.commands, key=lambda name: rank.get(name, len(rank)))


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
def check(files: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """Parse and check FILES; print a summary of each, or every problem found.

    \b
    Checks: syntax, declarations, unknown names (with suggestions), duplicate or
    self-pointing arrows, cycles, queries on latent variables, estimands, methods and their
    options, and that the bound data file exists. Exits 1 if any file has a problem.
    """
    results = []
    failed = False
    for path in files:
        try:
            study = load(path)
        except CausalError as error:
            failed = True
            results.append({"path": path, "ok": False, "diagnostics": error.to_json()})
            if fmt == "text":
                click.echo(error.render(), err=True)
            continue
        results.append({"path": path, "ok": True, "diagnostics": []})
        if fmt == "text" and not quiet:
            if len(files) > 1:
                click.echo(f"== {path}")
            click.echo(study.summary())
            click.echo(f"ok: {path} is well formed")
    if fmt == "json":
        click.echo(json.dumps({"ok": not failed, "files": results}, indent=2))
    sys.exit(1 if failed else 0)


# --- import / export (DAGitty) ------------------------------------------------------------------
@main.group("import")
def import_() -> None:
    """Convert a model from another tool into a .causal file (printed on stdout)."""


@import_.command("dagitty")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@guarded()
def import_dagitty(file: str) -> None:
    """Convert a DAGitty model (dag { x [exposure] y [outcome] ... }) to .causal syntax.

    The exposure/outcome pair becomes a query; latent variables stay latent; `pos`
    attributes are dropped. Variable types are not in DAGitty: they default to continuous
    (binary for the exposure is not assumed) — review them after importing.
    """
    from .dagitty import from_dagitty

    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    click.echo(from_dagitty(text, None if file == "-" else file), nl=False)


@main.group("export")
def export() -> None:
    """Convert a .causal file into another tool's format (printed on stdout)."""


@export.command("dagitty")
@click.argument("file", type=click.Path(dir_okay=False))
@guarded()
def export_dagitty(file: str) -> None:
    """Print FILE's DAG in DAGitty's model syntax (paste it into dagitty.net)."""
    from .dagitty import to_dagitty

    click.echo(to_dagitty(load_or_fail(file)), nl=False)


# --- identify (graph engine) -------------------------------------------------------------------
# (section: identify)
@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--query", "query", default=None, metavar="NAME",
              help="Only this query (default: every query in the file).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of text.")
def identify(file: str, query: str | None, as_json: bool) -> None:
    """Say whether each query's effect is identified by adjustment, and how.

    \b
    For each query: the recommended adjustment set (the optimal O-set when usable, else a
    smallest one), the minimal sets, the backdoor paths and what blocks them, the check of
    the query's own `adjusting` set, instruments, and in plain words why (or why not).
    Then the testable implications of the model (conditional independencies to check in
    the data). Long lists are cut, and the cut is reported. Exits 1 on errors.
    """
    from .identify import identify_report

    fmt = "json" if as_json else "text"
    try:
        # identification needs the graph only: a missing data file is not an error here
        study = load(file, check_files=False)
        click.echo(identify_report(study, query, as_json=as_json))
    except CausalError as error:
        fail(error, fmt, file)


# --- run (planner and estimators) --------------------------------------------------------------
# (section: run)
@main.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--query", "queries", multiple=True, metavar="NAME",
              help="Only this query (repeatable; default: every query in the file).")
@click.option("--method", type=click.Choice(["auto", "ols", "matching", "did"]), default=None,
              help="Override the estimator of every query (its assumptions are still checked).")
@click.option("--seed", type=int, default=None, show_default="0",
              help="Seed for anything random (bootstrap resampling).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for people, markdown for reports, json for programs.")
def run_command(file: str, queries: tuple[str, ...], method: str | None, seed: int | None,
                fmt: str) -> None:
    """Estimate each query's effect on the bound dataset.

    \b
    Loads the data (CSV or Parquet, relative to FILE), checks it against the declarations,
    and for each query prints the plan (which estimator and why), the estimate with its
    standard error, 95% interval and p-value, the naive contrast, a cross-check where two
    estimators are valid, the rows used and dropped, and the design's diagnostics
    (balance, overlap, collinearity, pre-trends). A query that cannot be estimated is
    reported (why, and what to do) while the others still run; exits 1 if any failed.
    """
    from .planner import run

    study = load_or_fail(file, "json" if fmt == "json" else "text")
    try:
        result = run(study, method=method, seed=seed, queries=queries or None, keep_going=True)
    except CausalError as error:
        fail(error, "json" if fmt == "json" else "text", file)
    click.echo(result.format(fmt))
    if fmt != "json":
        for _, diagnostics in result.failures:
            sources = {study.path: study.source} if study.source is not None else {}
            click.echo(CausalError(diagnostics, sources).render(), err=True)
    sys.exit(0 if result.ok else 1)


# --- render / report ------------------------------------------------------------------------------
# (section: render)
@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file; the extension picks the format "
                   "(.svg, .png, .dot/.gv, .mmd). Default: stdout.")
@click.option("--format", "fmt", type=click.Choice(["dot", "svg", "png", "mermaid"]),
              default=None, help="Output format (default: from -o's extension, else svg).")
@click.option("--query", default=None, metavar="NAME",
              help="Whose treatment, outcome and adjustment set to show (default: the first).")
@click.option("--highlight", type=click.Choice(["adjustment", "paths", "none"]),
              default="adjustment", show_default=True,
              help="Mark the adjustment set; or also colour the backdoor paths (red: open, "
                   "orange: blocked by the set); or neither.")
@click.option("--engine", default=None, metavar="PATH",
              help="Graphviz engine for svg/png (default: $CAUSAL_DOT_ENGINE, then `dot` on "
                   "PATH, then graphviz-pure).")
@click.option("--no-title", is_flag=True, help="Leave the study's title out of the diagram.")
@guarded()
def render(file: str, output: str | None, fmt: str | None, query: str | None, highlight: str,
           engine: str | None, no_title: bool) -> None:
    """Draw FILE's DAG left to right: treatment and outcome filled, latent variables dashed,
    hidden common causes as dashed two-headed arrows, the adjustment set double-bordered.

    \b
    Examples:
      causal render study.causal -o dag.svg
      causal render study.causal -o dag.mmd            # Mermaid, for GitHub Markdown
      causal render study.causal --format dot | dot -Tpdf -o dag.pdf
      causal render study.causal --highlight paths -o why.png
    """
    from .render import format_for, render_bytes, write_output

    study = load_or_fail(file)
    kind = format_for(output or "", fmt) if output else (fmt or "svg")
    if output is None and kind == "png" and sys.stdout.isatty():
        raise click.UsageError("refusing to write PNG to a terminal: use -o FILE.png or a pipe")
    data = render_bytes(study, kind, query, highlight, engine=engine, title=not no_title)
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
@guarded()
def report(file: str, output: str | None, fmt: str | None, no_estimate: bool,
           seed: int | None, engine: str | None) -> None:
    """Write one self-contained review document for FILE (HTML or Markdown).

    \b
    It holds the title, the DAG (inline SVG in HTML, Mermaid in Markdown), the assumptions
    in words and the testable implications, and for each query the identification result
    and, when data is bound, the estimates with 95% intervals, the plan's reasons, the
    design's diagnostics (balance or pre-trend tables) and a forest plot of the naive and
    adjusted estimates. Problems with a query are reported inside the document.
    """
    from .render import write_output
    from .report import build_report, report_format

    study = load_or_fail(file)
    kind = report_format(output, fmt)
    rep = build_report(study, estimate=not no_estimate, seed=seed, engine=engine)
    text = rep.to_html() if kind == "html" else rep.to_markdown()
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text)
    click.echo(f"wrote {output} ({kind})", err=True)


# --- fmt / diff / lint ---------------------------------------------------------------------------
# (section: review)
@main.command("fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--check", is_flag=True,
              help="Change nothing; print a unified diff and exit 1 if a file is not formatted.")
def fmt_command(files: tuple[str, ...], check: bool) -> None:
    """Rewrite FILES in the canonical layout (`-` reads stdin and writes stdout).

    \b
    Sections in a fixed order (header comments, study and data, declarations, arrows,
    queries), labels aligned, one space around arrows; every comment moves with its
    statement. A file that does not parse is left alone and its errors reported (exit 1).
    """
    from .errors import CausalError
    from .fmt import check_text, format_text, read_source

    failed = changed = 0
    for path in files:
        try:
            text = sys.stdin.read() if path == "-" else read_source(path)
            name = None if path == "-" else path
            if check:
                diff = check_text(text, name)
                changed += bool(diff)
                click.echo(diff, nl=False)
                continue
            formatted = format_text(text, name)
        except CausalError as error:
            failed += 1
            click.echo(error.render(), err=True)
            continue
        if path == "-":
            click.echo(formatted, nl=False)
        elif formatted != text:
            changed += 1
            Path(path).write_text(formatted, encoding="utf-8")
            click.echo(f"reformatted {path}", err=True)
    if files != ("-",) or check:
        verb = "would reformat" if check else "reformatted"
        click.echo(f"{verb} {changed} of {len(files)} file(s)"
                   + (f"; {failed} could not be parsed" if failed else ""), err=True)
    sys.exit(1 if failed or (check and changed) else 0)


class _DiffCommand(click.Command):
    """Remembers how many arguments followed ``--`` (click drops the marker itself), so that
    ``causal diff REV -- FILE`` can be told apart from ``causal diff OLD NEW``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            ctx.meta["causal_diff_files"] = len(args) - args.index("--") - 1
        return super().parse_args(ctx, args)


@main.command("diff", cls=_DiffCommand)
@click.argument("operands", nargs=-1, metavar="OLD NEW | [REV [REV2]] -- FILE...")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True,
              help="text for people, markdown for a pull-request comment, json for tools.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the studies differ semantically.")
@click.option("--git-driver", is_flag=True,
              help="Called by git as diff.causal.command (7 arguments); see docs/review.md.")
@click.pass_context
def diff_command(ctx: click.Context, operands: tuple[str, ...], fmt: str, exit_code: bool,
                 git_driver: bool) -> None:
    """Show what changed in the causal assumptions, ignoring layout, order and comments.

    \b
    causal diff OLD.causal NEW.causal       two files
    causal diff REV -- FILE...              FILE at git revision REV vs. the working tree
    causal diff REV1 REV2 -- FILE...        FILE at two revisions (no REV: HEAD)
    Lists arrows added, removed and reversed, variables and queries added, removed and
    changed, and what that does to each query: identifiable or not, the recommended
    adjustment set, and the testable implications that appear or disappear.
    Exit status 0 (with --exit-code: 1 when something changed), 1 on unreadable input.
    """
    from .diff import file_version, git_version, render, semantic_diff, text_fallback
    from .errors import CausalError, Diagnostic, ReviewError

    if git_driver:
        # git calls: path old-file old-hex old-mode new-file new-hex new-mode. It stops the
        # whole `git diff` when a driver fails, so this mode always exits 0.
        if len(operands) != 7:
            click.echo(f"* causal diff: {' '.join(operands) or 'no arguments'} "
                       "(unmerged or unexpected arguments; nothing compared)")
            sys.exit(0)
        path, old_file, _, _, new_file, _, _ = operands
        click.echo(f"diff --causal a/{path} b/{path}")
        try:
            old, new = file_version(old_file, f"a/{path}"), file_version(new_file, f"b/{path}")
        except CausalError as error:
            click.echo(error.render())
            sys.exit(0)
        try:
            d = semantic_diff(old.study(), new.study(), old.name, new.name)
        except CausalError as error:
            click.echo(text_fallback(old, new, error), nl=False)
            sys.exit(0)
        click.echo(render(d, fmt), nl=False)
        sys.exit(0)

    n_files = ctx.meta.get("causal_diff_files")
    try:
        if n_files is not None:
            files = operands[len(operands) - n_files:]
            revisions = operands[: len(operands) - n_files]
            if not files or len(revisions) > 2:
                raise click.UsageError("write causal diff [REV [REV2]] -- FILE...")
            pairs = []
            for f in files:
                old = git_version(revisions[0] if revisions else "HEAD", f)
                new = git_version(revisions[1], f) if len(revisions) == 2 else file_version(f)
                pairs.append((old, new))
        else:
            if len(operands) != 2:
                raise click.UsageError("write causal diff OLD NEW, or causal diff REV -- FILE")
            if not Path(operands[0]).exists() and Path(operands[1]).exists():
                raise ReviewError(Diagnostic(
                    "E703", f"no such file: {operands[0]}",
                    help=f"to compare with a git revision, write: causal diff {operands[0]} "
                    f"-- {operands[1]}"))
            pairs = [(file_version(operands[0]), file_version(operands[1]))]
        changed = False
        for i, (old, new) in enumerate(pairs):
            d = semantic_diff(old.study(), new.study(), old.name, new.name)
            changed |= d.changed
            if i:
                click.echo()
            click.echo(render(d, fmt), nl=False)
    except CausalError as error:
        fail(error)
    sys.exit(1 if exit_code and changed else 0)


@main.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--disable", "disable", multiple=True, metavar="CODES",
              help="Codes to turn off, e.g. --disable L101,L103 (repeatable; 'all' for all).")
@click.option("--strict", is_flag=True, help="Exit 1 when there is any warning.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json (on stdout) for editors and CI.")
def lint_command(files: tuple[str, ...], disable: tuple[str, ...], strict: bool,
                 fmt: str) -> None:
    """Warn about legal but likely mistakes in FILES (exit 0 unless --strict).

    \b
    L101 variable without arrows       L102 no directed path treatment -> outcome
    L103 data column not declared      L104 treatment/outcome without a label
    L105 adjustment set needs a column the data lacks
    L106 proposed set contains a mediator
    L107 declared column missing from the data
    L108 latent variable confounding nothing
    L109 proposed set contains a post-treatment variable
    L110 duplicate query               L100 unknown code in a pragma
    Silence one line with `# causal: disable=L101` at its end (or on the line above),
    a whole file with `# causal: disable-file=L103`. Details: docs/review.md.
    """
    from .errors import CausalError
    from .lint import _check_codes, lint_file

    try:
        _check_codes(disable)
    except CausalError as error:
        raise click.BadParameter(error.diagnostics[0].message + "; "
                                 + (error.diagnostics[0].help or ""),
                                 param_hint="--disable") from None
    failed = warnings = 0
    results = []
    for path in files:
        try:
            study, found = lint_file(path, disable)
        except CausalError as error:
            failed += 1
            results.append({"path": path, "ok": False, "diagnostics": error.to_json()})
            if fmt == "text":
                click.echo(error.render(), err=True)
            continue
        warnings += len(found)
        results.append({"path": path, "ok": True, "diagnostics": [d.to_json() for d in found]})
        if fmt == "text":
            for d in found:
                click.echo(d.render(study.source) + "\n")
    if fmt == "json":
        click.echo(json.dumps({"ok": not failed and not (strict and warnings), "warnings":
                               warnings, "files": results}, indent=2))
    else:
        click.echo(f"{warnings} warning(s) in {len(files) - failed} file(s)"
                   + (f"; {failed} could not be loaded" if failed else ""), err=True)
    sys.exit(1 if failed or (strict and warnings) else 0)



if __name__ == "__main__":  # pragma: no cover
    main()
