"""Make ``docs/img/lsp-*.png``: what `causal lsp` really answers, drawn as an editor would.

In: ``examples/heart_drug.causal`` with one typo put in. Out: an HTML page (the file highlighted
by the project's Pygments lexer, the server's diagnostics as squiggles and a problems panel, its
hover on a variable and the code lens of each query) and, with headless Chromium, a PNG of it.
Everything shown comes from the server over stdio, through the same client as
``benchmarks/lsp.py``; nothing is typed in by hand. Run from the repository root:

    python editors/screenshot.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygments import lex
from pygments.token import Comment, Keyword, Name, Number, Operator, String

from causal_dsl.pygments_lexer import CausalLexer

ROOT = Path(__file__).resolve().parent.parent
HOVER_ON = ("initial_health -> severity", 0)  # hover the first name of this line
# (picture, edit made to the example): a typo the model rejects, and a valid study with a lint
# warning, where the hover and the lenses show what identification found.
PICTURES = {
    "lsp-diagnostics": ("{age, ward} -> severity", "{age, ward} -> severty"),
    "lsp-hover": ('latent frailty ', 'var smoker: binary                                "Smokes"\n'
                  "latent frailty "),
}


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("causal-screenshot", "0.1")
        self.published: asyncio.Queue[lsp.PublishDiagnosticsParams] = asyncio.Queue()

        @self.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.published.put_nowait(params)


async def ask_server(text: str, path: Path) -> tuple[list[lsp.Diagnostic], str,
                                                     list[lsp.CodeLens], lsp.Position]:
    client = Client()
    await client.start_io(sys.executable, "-m", "causal_dsl.cli", "lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri, "causal", 1, text)))
    diagnostics = (await client.published.get()).diagnostics
    doc = lsp.TextDocumentIdentifier(uri)
    line = text.split("\n").index(HOVER_ON[0])
    where = lsp.Position(line, HOVER_ON[1] + 2)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(doc)) or []
    hover = await client.text_document_hover_async(lsp.HoverParams(doc, where))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return list(diagnostics), hover.contents.value, list(lenses), where


_COLOURS = [(Comment, "#6a9955"), (Keyword.Type, "#4ec9b0"), (Keyword, "#569cd6"),
            (Name.Function, "#dcdcaa"), (Name.Builtin, "#c586c0"), (Name.Attribute, "#9cdcfe"),
            (String, "#ce9178"), (Number, "#b5cea8"), (Operator, "#d4d4d4"),
            (Name, "#9cdcfe")]


def _colour(token: object) -> str:
    for kind, colour in _COLOURS:
        if token in kind:
            return colour
    return "#d4d4d4"


def _markdown(text: str) -> str:
    """The hover's small Markdown (bold, code, bullets, italics) as HTML."""
    import re

    out = []
    for line in text.split("\n"):
        h = html.escape(line)
        h = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", h)
        h = re.sub(r"`(.+?)`", r"<code>\1</code>", h)
        h = re.sub(r"\*(.+?)\*", r"<i>\1</i>", h)
        out.append(f"<li>{h[2:]}</li>" if line.startswith("- ") else f"<p>{h}</p>" if h
                   else "")
    return "\n".join(out)


def page(text: str, diagnostics: list[lsp.Diagnostic], hover: str, lenses: list[lsp.CodeLens],
         where: lsp.Position) -> str:
    lines = text.split("\n")
    marks: dict[int, list[tuple[int, int, str]]] = {}
    for d in diagnostics:
        kind = "error" if d.severity == lsp.DiagnosticSeverity.Error else "warning"
        marks.setdefault(d.range.start.line, []).append(
            (d.range.start.character, d.range.end.character, kind))
    lens_at = {lens.range.start.line: lens.command.title for lens in lenses if lens.command}
    rows = []
    for number, line in enumerate(lines):
        if number in lens_at:
            rows.append(f'<div class="lens"><span class="no"></span>{html.escape(lens_at[number])}'
                        "</div>")
        cells = []
        column = 0
        for token, value in lex(line, CausalLexer()):
            value = value.rstrip("\n")
            for ch in value:
                kind = next((k for a, b, k in marks.get(number, []) if a <= column < b), None)
                style = f"color:{_colour(token)}"
                cls = f' class="{kind}"' if kind else ""
                cells.append(f'<span{cls} style="{style}">{html.escape(ch)}</span>')
                column += 1
        rows.append(f'<div class="line"><span class="no">{number + 1}</span>{"".join(cells)}'
                    "</div>")
        if number == where.line:
            rows.append(f'<div class="hover">{_markdown(hover)}</div>')
    problems = "".join(
        f'<div class="problem"><span class="{"e" if d.severity == 1 else "w"}">'
        f'{"✖" if d.severity == 1 else "⚠"}</span> '
        f'{html.escape(d.message).replace(chr(10), "<br>")}'
        f' <span class="code">causal({d.code}) [Ln {d.range.start.line + 1}, '
        f'Col {d.range.start.character + 1}]</span></div>'
        for d in diagnostics)
    return f"""<!doctype html><meta charset="utf-8"><style>
body {{ margin:0; background:#1e1e1e; color:#d4d4d4; font:14px/20px 'DejaVu Sans Mono',monospace;
       width:1180px; }}
.tab {{ background:#2d2d2d; padding:6px 14px; color:#fff; font-family:sans-serif; font-size:13px; }}
.editor {{ padding:8px 0; position:relative; }}
.line, .lens {{ white-space:pre; }}
.lens {{ color:#999; font-size:12px; line-height:16px; font-family:sans-serif; }}
.no {{ display:inline-block; width:44px; text-align:right; padding-right:16px; color:#858585; }}
.error {{ text-decoration:underline wavy #f14c4c; text-underline-offset:3px; }}
.warning {{ text-decoration:underline wavy #cca700; text-underline-offset:3px; }}
.hover {{ position:relative; margin:2px 0 4px 120px; width:620px; background:#252526;
         border:1px solid #454545; padding:4px 12px; font-family:sans-serif; font-size:13px;
         line-height:18px; box-shadow:0 2px 8px #000; white-space:normal; }}
.hover p {{ margin:4px 0; }} .hover li {{ margin-left:18px; }}
.hover code {{ color:#ce9178; font-family:'DejaVu Sans Mono',monospace; }}
.panel {{ border-top:1px solid #444; font-family:sans-serif; font-size:13px; padding:6px 14px; }}
.panel h3 {{ margin:2px 0 6px; font-size:12px; letter-spacing:1px; color:#ccc; }}
.problem {{ padding:3px 0; }} .e {{ color:#f14c4c; }} .w {{ color:#cca700; }}
.code {{ color:#888; }}
</style>
<div class="tab">heart_drug.causal — causal lsp</div>
<div class="editor">{"".join(rows)}</div>
<div class="panel"><h3>PROBLEMS ({len(diagnostics)})</h3>{problems}</div>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    for name, edit in PICTURES.items():
        with tempfile.TemporaryDirectory() as tmp:
            for f in (ROOT / "examples").iterdir():
                shutil.copy(f, Path(tmp) / f.name)
            path = Path(tmp) / "heart_drug.causal"
            text = path.read_text(encoding="utf-8").replace(*edit)
            path.write_text(text, encoding="utf-8")
            diagnostics, hover, lenses, where = asyncio.run(ask_server(text, path))
        out = args.out / f"{name}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page(text, diagnostics, hover, lenses, where), encoding="utf-8")
        if browser is None:
            sys.exit(f"wrote {out}; install chromium to make the PNG")
        png = args.out / f"{name}.png"
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--screenshot={png.resolve()}",
                        "--window-size=1180,980", out.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        out.unlink()  # the PNG is what the docs show; the page is rebuilt by this script
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
