"""Build the course site: every lesson, executed in full mode, as static HTML with its figures.

    python tools/site.py [--executed artifacts/executed-full] [--out build/site]

Reads the lessons that ``make full`` executed (``tests/test_notebooks.py`` saves each one with
its outputs), so the site costs no second execution, and writes ``build/site/``: ``index.html``,
one page per lesson with a navigation bar (contents, previous, next), the figures, the apps as
the PNG of their figure (nothing live: there is no kernel), math typeset by a MathJax copied
into the site (``_static/``, MathJax 3 from the ``sphinx-mathjax-offline`` package: the site
works offline), solutions folded behind a click, links between lessons pointing at their pages.

Why nbconvert and not Jupyter Book 2 / MyST: nbconvert is already a dependency of the test
tools, renders exactly what JupyterLab shows (the same outputs and MIME priorities), needs no
Node.js toolchain and no second execution; the course needs a contents page and prev/next
links, not cross-references or a search index.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LESSON = re.compile(r"^(\d\d)_\w+$")

_STYLE = """
<link rel="icon" href="data:,">
<style>
  nav.cl-nav { position: sticky; top: 0; z-index: 10; display: flex; gap: 1.5em;
    padding: 0.6em 1.2em; background: #f4f4f4; border-bottom: 1px solid #ccc;
    font-family: system-ui, sans-serif; font-size: 15px; }
  nav.cl-nav a { color: #0b4f8a; text-decoration: none; }
  nav.cl-nav a:hover { text-decoration: underline; }
  details.cl-solution { margin: 0.5em 0 1em 0; }
  details.cl-solution > summary { cursor: pointer; font-weight: 600; color: #0b4f8a; }
</style>
"""


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _title(nb: dict) -> str:
    first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    return _source(first).splitlines()[0].lstrip("# ").strip()


def _summary(nb: dict) -> list[str]:
    """The lesson's objectives: the bullet list of its first markdown cell."""
    first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    return [line[2:].strip() for line in _source(first).splitlines() if line.startswith("- ")]


def _image_of(model_id: str, state: dict, seen: set | None = None) -> str | None:
    """The PNG (base64) of the first Image widget inside a displayed widget, from saved state."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return None
    seen.add(model_id)
    model = state[model_id]
    if model.get("model_name") == "ImageModel":
        for buf in model.get("buffers", []):
            if buf.get("path") == ["value"] and buf.get("encoding") == "base64":
                return buf["data"]
    for child in model.get("state", {}).get("children", []) or []:
        found = _image_of(str(child).removeprefix("IPY_MODEL_"), state, seen)
        if found:
            return found
    return None


def static_outputs(nb: dict) -> int:
    """Give every widget output a static image and drop the saved widget state; return how many
    widget outputs have an image (the course's apps carry one already; hand-built ones get the
    PNG their Image widget held when the lesson ran)."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            if "image/png" not in data:
                png = _image_of(data[WIDGET_VIEW].get("model_id", ""), state)
                if png:
                    data["image/png"] = png
                    data["text/plain"] = "an interactive figure (run the notebook to use it)"
            if "image/png" in data:
                count += 1
            del data[WIDGET_VIEW]  # no kernel on the site: the static image is what shows
    nb.get("metadata", {}).pop("widgets", None)
    return count


def fold_solutions(nb: dict) -> None:
    """Solution cells become a collapsed "Solution" block: the code, shown on a click."""
    cells = []
    for cell in nb["cells"]:
        if "solution" in cell.get("metadata", {}).get("tags", []):
            code = html.escape(_source(cell))
            cells.append(
                new_markdown_cell(
                    '<details class="cl-solution"><summary>Solution (click to show)</summary>'
                    f'<pre><code class="language-python">{code}</code></pre></details>'
                )
            )
        else:
            cells.append(cell)
    nb["cells"] = cells


def _link_lessons(body: str, stems: set[str]) -> str:
    """Links to lesson notebooks point at their pages; assets at the site's copy."""

    def page(match: re.Match) -> str:
        stem, anchor = match.group(1), match.group(2) or ""
        return f'href="{stem}.html{anchor}"' if stem in stems else match.group(0)

    body = re.sub(r'href="(?:\./)?(\d\d_\w+)\.ipynb(#[^"]*)?"', page, body)
    return body.replace('src="../assets/', 'src="assets/').replace(
        'href="../assets/', 'href="assets/'
    )


# MathJax 3, one self-contained file (TeX input with every extension, SVG output: no font
# files, no further requests), from the sphinx-mathjax-offline package
_MATHJAX = """<script>
window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
                        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
                        processEscapes: true, processEnvironments: true},
                  svg: {fontCache: "global"}};
</script>
<script id="MathJax-script" src="_static/tex-svg-full.js"></script>
"""


def mathjax_file() -> Path:
    """MathJax 3's ``tex-svg-full.js`` as the ``sphinx-mathjax-offline`` package ships it."""
    from importlib import metadata

    try:
        files = metadata.files("sphinx-mathjax-offline") or []
    except metadata.PackageNotFoundError:
        files = []
    found = [f for f in files if str(f).endswith("static/mathjax/tex-svg-full.js")]
    if not found:
        raise FileNotFoundError(
            "MathJax for the site comes from the package sphinx-mathjax-offline: "
            'pip install -e ".[site]"'
        )
    return Path(found[0].locate())


def _offline(body: str) -> str:
    """No request leaves the site: scripts from the internet (nbconvert's require.js, only
    needed for live widgets) are dropped, and nbconvert's MathJax 2 from a CDN gives way to
    the site's own MathJax 3."""
    body = re.sub(r'<script[^>]+src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    start = body.index("<!-- Load mathjax -->")
    end = body.index("<!-- End of mathjax configuration -->")
    return body[:start] + _MATHJAX + body[end:]


def _nav(stems: list[str], titles: dict[str, str], i: int) -> str:
    parts = ['<a href="index.html">Contents</a>']
    if i > 0:
        prev = stems[i - 1]
        parts.append(f'<a href="{prev}.html">&larr; {html.escape(titles[prev])}</a>')
    if i + 1 < len(stems):
        nxt = stems[i + 1]
        parts.append(f'<a href="{nxt}.html">{html.escape(titles[nxt])} &rarr;</a>')
    return '<nav class="cl-nav">' + "".join(parts) + "</nav>"


def _index(stems: list[str], titles: dict[str, str], summaries: dict[str, list[str]]) -> str:
    items = []
    for stem in stems:
        bullets = "".join(f"<li>{html.escape(s)}</li>" for s in summaries[stem][:4])
        items.append(
            f'<li><a href="{stem}.html">{html.escape(titles[stem])}</a><ul>{bullets}</ul></li>'
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<title>Contrastive Learning, Hands-On</title><link rel="icon" href="data:,">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;"
        "padding:0 1em;line-height:1.5;color:#1a1a1a}a{color:#0b4f8a}li{margin:0.4em 0}</style>"
        "</head><body><h1>Contrastive Learning, Hands-On</h1>"
        "<p>Every lesson as it runs in full mode on a 2-core CPU, with its outputs. The apps "
        "show the picture of their figure; to move their sliders, run the notebooks in "
        "JupyterLab (<code>make lab</code>).</p>"
        f'<ol start="0">{"".join(items)}</ol></body></html>\n'
    )


def build(executed: Path, out: Path) -> dict[str, int]:
    """Write the site; return the number of static app images per lesson page."""
    from nbconvert import HTMLExporter

    lessons = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
    stems = [p.stem for p in lessons]
    missing = [s for s in stems if not (executed / f"{s}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(
            f"executed lessons missing in {executed}: {missing} (run `make full` first)"
        )
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "_static").mkdir()
    shutil.copy(mathjax_file(), out / "_static" / "tex-svg-full.js")
    if (ROOT / "assets").is_dir():
        shutil.copytree(ROOT / "assets", out / "assets")
    exporter = HTMLExporter(template_name="lab")
    notebooks = {s: nbformat.read(executed / f"{s}.ipynb", as_version=4) for s in stems}
    titles = {s: _title(nb) for s, nb in notebooks.items()}
    summaries = {s: _summary(nb) for s, nb in notebooks.items()}
    images = {}
    for i, stem in enumerate(stems):
        nb = notebooks[stem]
        images[stem] = static_outputs(nb)
        fold_solutions(nb)
        body, _ = exporter.from_notebook_node(nb)
        body = _link_lessons(body, set(stems))
        body = _offline(body)
        body = body.replace("</head>", _STYLE + "</head>", 1)
        body = re.sub(r"(<body[^>]*>)", r"\1" + _nav(stems, titles, i), body, count=1)
        (out / f"{stem}.html").write_text(body, encoding="utf-8")
    (out / "index.html").write_text(_index(stems, titles, summaries), encoding="utf-8")
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=ROOT / "artifacts" / "executed-full")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args()
    images = build(args.executed, args.out)
    print(f"{len(images)} lessons, {sum(images.values())} app figures, in {args.out}")


if __name__ == "__main__":
    main()
