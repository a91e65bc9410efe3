"""The review verbs of the ``causal`` command: fmt, diff, lint, DAGitty import and export, and
the language server.

In: command-line arguments (registered on the `causal_dsl.cli.main` group). Out: text, Markdown
or JSON on stdout, diagnostics on stderr, exit codes as in `causal_dsl.cli`. A thin layer over
`causal_dsl.fmt`, `causal_dsl.diff`, `causal_dsl.lint`, `causal_dsl.dagitty` and `causal_dsl.lsp`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TypeVar

import click

from .cli_common import FORMATS, data_options, fail, guarded, load_or_fail

COMMANDS: list[click.Command] = []


_Verb = TypeVar("_Verb", bound=click.Command)


def _verb(command: _Verb) -> _Verb:
    """Register a command on the `causal` group (see `causal_dsl.cli`)."""
    COMMANDS.append(command)
    return command


# --- import / export (DAGitty) ------------------------------------------------------------------
@_verb
@click.group("import")
def import_() -> None:
    """Convert a model from another tool into a .causal file (printed on stdout)."""


@import_.command("dagitty")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@guarded()
def import_dagitty(file: str) -> None:
    """Convert a DAGitty model (dag { x [exposure] y [outcome] ... }) to .causal syntax.

    The exposure/outcome pair becomes a query; latent variables stay latent; `pos`
    attributes become `layout` lines. Variable types are not in DAGitty: they default to continuous
    (binary for the exposure is not assumed) — review them after importing.
    """
    from .dagitty import from_dagitty
    from .files import read_text

    text = read_text(file, what="DAGitty model")
    click.echo(from_dagitty(text, None if file == "-" else file), nl=False)


@_verb
@click.group("export")
def export() -> None:
    """Convert a .causal file into another tool's format (printed on stdout)."""


@export.command("dagitty")
@click.argument("file", type=click.Path(dir_okay=False))
@guarded()
def export_dagitty(file: str) -> None:
    """Print FILE's DAG in DAGitty's model syntax (paste it into dagitty.net).

    What DAGitty cannot hold (model formulas, weights, derived treatments, the queries after
    the first) is dropped, each with a note on stderr.
    """
    from .dagitty import export_notes, to_dagitty

    study = load_or_fail(file)
    click.echo(to_dagitty(study), nl=False)
    for note in export_notes(study):
        click.echo(f"note: {note}", err=True)


# --- fmt / diff / lint ---------------------------------------------------------------------------
# (section: review)
@_verb
@click.command("fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--check", is_flag=True,
              help="Change nothing; print a unified diff and exit 1 if a file is not formatted.")
@click.option("--skip-invalid", is_flag=True,
              help="A file that does not parse gets one line, not its errors (for hooks that "
                   "run beside `causal check`, which reports them).")
def fmt_command(files: tuple[str, ...], check: bool, skip_invalid: bool) -> None:
    """Rewrite FILES in the canonical layout (`-` reads stdin and writes stdout).

    \b
    Sections in a fixed order (header comments, study and data, declarations, arrows,
    queries), labels aligned, one space around arrows; every comment moves with its
    statement. A file that does not parse is left alone and its errors reported (exit 1).
    """
    from .errors import CausalError
    from .files import read_text, write_atomic
    from .fmt import check_text, format_text

    failed = changed = 0
    for path in files:
        try:
            text = read_text(path)
            name = None if path == "-" else path
            if check:
                diff = check_text(text, name)
                changed += bool(diff)
                click.echo(diff, nl=False)
                continue
            formatted = format_text(text, name)
        except CausalError as error:
            failed += 1
            click.echo(f"{path}: not formatted: it does not parse (`causal check {path}` says "
                       "why)" if skip_invalid else error.render(), err=True)
            continue
        if path == "-":
            click.echo(formatted, nl=False)
        elif formatted != text:
            changed += 1
            try:
                write_atomic(path, formatted)
            except CausalError as error:
                failed += 1
                click.echo(error.render(), err=True)
                continue
            click.echo(f"reformatted {path}", err=True)
    if files != ("-",) or check:
        verb = "would reformat" if check else "reformatted"
        fix = (f"; run `causal fmt {' '.join(_shell(f) for f in files if f != '-')}` to fix"
               if check and changed else "")
        click.echo(f"{verb} {changed} of {len(files)} file(s)"
                   + (f"; {failed} could not be parsed" if failed else "") + fix, err=True)
    sys.exit(1 if failed or (check and changed) else 0)


def _shell(path: str) -> str:
    """A path as a shell word (quoted only when it needs it)."""
    import shlex

    return shlex.quote(path)


class _DiffCommand(click.Command):
    """Remembers how many arguments followed ``--`` (click drops the marker itself), so that
    ``causal diff REV -- FILE`` can be told apart from ``causal diff OLD NEW``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            ctx.meta["causal_diff_files"] = len(args) - args.index("--") - 1
        return super().parse_args(ctx, args)


@_verb
@click.command("diff", cls=_DiffCommand)
@click.argument("operands", nargs=-1, metavar="OLD NEW | [REV [REV2]] -- FILE...")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True,
              help="text for people, markdown for a pull-request comment, json for tools.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the studies differ semantically.")
@click.option("--git-driver", is_flag=True,
              help="Called by git as diff.causal.command (7 arguments); see docs/review.md.")
@click.option("--data", "on_data", is_flag=True,
              help="Also test both sides' implications on the NEW study's bound data: which "
              "the data rejected before and after the change (docs/assumptions.md).")
@click.pass_context
def diff_command(ctx: click.Context, operands: tuple[str, ...], fmt: str, exit_code: bool,
                 git_driver: bool, on_data: bool) -> None:
    """Show what changed in the causal assumptions, ignoring layout, order and comments.

    \b
    causal diff OLD.causal NEW.causal       two files
    causal diff REV -- FILE...              FILE at git revision REV vs. the working tree
    causal diff REV1 REV2 -- FILE...        FILE at two revisions (no REV: HEAD)
    Lists arrows added, removed and reversed, variables and queries added, removed and
    changed, and what that does to each query: identifiable or not, the recommended
    adjustment set, and the testable implications that appear or disappear.
    With --data: both sides' implications tested on the new study's bound data (which the
    data rejected before and after the change).
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
            if on_data:
                from .checks import implications_on_data_of
                from .diff import render_with_data

                on = implications_on_data_of(old.study(), new.study())
                click.echo(render_with_data(d, on, fmt), nl=False)
                continue
            click.echo(render(d, fmt), nl=False)
    except CausalError as error:
        fail(error)
    sys.exit(1 if exit_code and changed else 0)


@_verb
@click.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--disable", "disable", multiple=True, metavar="CODES",
              help="Codes to turn off, e.g. --disable L101,L103 (repeatable; 'all' for all).")
@click.option("--strict", is_flag=True, help="Exit 1 when there is any warning.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json (on stdout) for editors and CI.")
@click.option("--skip-invalid", is_flag=True,
              help="A file that does not check gets one line, not its errors (for hooks that "
                   "run beside `causal check`, which reports them).")
@data_options
def lint_command(files: tuple[str, ...], disable: tuple[str, ...], strict: bool,
                 fmt: str, skip_invalid: bool) -> None:
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
            results.append({"path": path, "ok": False, "diagnostics": error.to_dict()})
            if fmt == "text":
                click.echo(f"{path}: not linted: it does not check (`causal check {path}` says "
                           "why)" if skip_invalid else error.render(), err=True)
            continue
        warnings += len(found)
        results.append({"path": path, "ok": True, "diagnostics": [d.to_dict() for d in found]})
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


# --- lsp --------------------------------------------------------------------------------------
@_verb
@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only way).")
def lsp_command(stdio: bool) -> None:
    """Run the language server for editors (diagnostics, hover, rename, ...; docs/editors.md).

    Needs the optional extra: pip install 'causal-dsl[lsp]'.
    """
    from .lsp import main as serve  # pygls is imported only here: `causal check` stays light

    try:
        serve()
    except ImportError as error:
        raise click.ClickException(str(error)) from None
