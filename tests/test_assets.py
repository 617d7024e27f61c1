"""The diagrams in ``assets/``: every reference resolves, the script redraws them byte for byte,
each one is a readable SVG that says what it shows, and each is shown in the lesson that teaches it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from notebook_utils import NOTEBOOK_DIR, ROOT, lesson_notebooks

ASSETS = ROOT / "assets"
SCRIPT = ASSETS / "make_diagrams.py"
SVG_NS = "{http://www.w3.org/2000/svg}"

# a markdown image or link target, or an HTML src= / href=, that points into assets/
REFERENCE = re.compile(r"""(?:\]\(\s*<?|\b(?:src|href)\s*=\s*["'])((?:\.\./)*assets/[^)\s"'>]+)""")

SHOWN_IN = {
    "siamese_vs_pseudo_vs_two_tower": ("02", "03"),
    "triplet_zones": ("05",),
    "simclr_pipeline": ("07",),
    "moco_pipeline": ("08",),
    "byol_simsiam_pipeline": ("08",),
    "scaling_all_gather": ("13",),
}
"""Every diagram and the lessons that teach what it shows (by lesson number)."""

LABELS = {
    "siamese_vs_pseudo_vs_two_tower": (
        "Siamese network",
        "pseudo-Siamese network",
        "dual-stream / two-tower",
        "weights θ",
        "encoder A",
        "encoder B",
        "distance d(z₁, z₂)",
        "two-tower: s = z₁ · z₂",
        "loss: contrastive / triplet",
    ),
    "triplet_zones": (
        "anchor a",
        "positive p",
        "margin m",
        "hard",
        "semi-hard",
        "easy",
        "d(a,n) ≤ d(a,p)",
        "d(a,p) < d(a,n) ≤ d(a,p) + m",
        "d(a,n) > d(a,p) + m",
        "d(a,n) = d(a,p) is hard",
    ),
    "simclr_pipeline": (
        "augment",
        "encoder f",
        "projection",
        "head g",
        "shared",
        "NT-Xent over the batch",
        "negatives: the other 2N − 2 views",
    ),
    "moco_pipeline": (
        "query encoder θ_q",
        "momentum key encoder",
        "EMA after every step:",
        "queue: K keys of earlier batches",
        "InfoNCE",
        "no gradient",
    ),
    "byol_simsiam_pipeline": (
        "online branch",
        "target branch",
        "predictor q_θ",
        "stop-gradient sg(z′)",
        "BYOL: ξ ← m ξ + (1 − m) θ (EMA copy)",
        "SimSiam: ξ = θ, the same network",
    ),
    "scaling_all_gather": (
        "rank 0",
        "rank 1",
        "all_gather",
        "with",
        "gradient",
        "DDP: all-reduce",
        "all 2WN views",
        "cl.scale.gather_with_grad",
    ),
}
"""Words each diagram must show: what a reader (and a screen reader) looks for in it."""

REGENERATE_HINT = (
    "run `.venv/bin/python assets/make_diagrams.py` and commit the script and the SVGs together "
    "(never edit an SVG by hand: change the drawing in the script)"
)


def _markdown_sources(path: Path) -> list[str]:
    """The markdown text of a notebook (its markdown cells) or of a markdown file."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


def _documents() -> list[Path]:
    """Every notebook and markdown file under notebooks/ and docs/, and the README."""
    found = [ROOT / "README.md"]
    for folder in (NOTEBOOK_DIR, ROOT / "docs"):
        for pattern in ("*.ipynb", "*.md"):
            found += [p for p in folder.rglob(pattern) if ".ipynb_checkpoints" not in p.parts]
    return sorted(p for p in found if p.is_file())


def _references() -> list[tuple[Path, str]]:
    return [
        (doc, ref)
        for doc in _documents()
        for text in _markdown_sources(doc)
        for ref in REFERENCE.findall(text)
    ]


def test_every_asset_reference_exists():
    refs = _references()
    assert refs, "no notebook or document references assets/: the check below would be empty"
    missing = []
    for doc, ref in refs:
        target = (doc.parent / ref.split("#")[0].split("?")[0]).resolve()
        if not target.is_file():
            missing.append(f"{doc.relative_to(ROOT)} -> {ref}")
    assert not missing, "references to assets that do not exist: " + "; ".join(missing)


def test_reference_pattern_finds_images_and_links():
    # the pattern the test above relies on, on the forms a lesson or a page may use
    text = (
        "![a diagram](../assets/a.svg) [b](assets/b.svg) ![c]( <../assets/c.svg> ) "
        '<img src="../assets/d.svg" alt="d"> (see ../assets/not-a-link.svg)'
    )
    assert REFERENCE.findall(text) == [
        "../assets/a.svg",
        "assets/b.svg",
        "../assets/c.svg",
        "../assets/d.svg",
    ]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """The diagrams drawn afresh by the script, run as a learner would, into an empty folder."""
    out = tmp_path_factory.mktemp("diagrams")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "svg"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        cwd=out,  # the script must not depend on where it is started
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_script_redraws_the_committed_svgs_byte_for_byte(regenerated):
    drawn = sorted(p.name for p in regenerated.glob("*.svg"))
    committed = sorted(p.name for p in ASSETS.glob("*.svg"))
    assert drawn == committed, (
        f"the script draws {drawn} but assets/ holds {committed}: {REGENERATE_HINT}"
    )
    stale = [
        name
        for name in committed
        if (ASSETS / name).read_bytes() != (regenerated / name).read_bytes()
    ]
    assert not stale, f"{stale} differ from what the script draws now: {REGENERATE_HINT}"


def test_every_diagram_is_listed():
    assert sorted(p.stem for p in ASSETS.glob("*.svg")) == sorted(SHOWN_IN) == sorted(LABELS)


def _svg(name: str) -> ET.Element:
    return ET.parse(ASSETS / f"{name}.svg").getroot()  # raises on malformed XML


def _texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG_NS}text"))


@pytest.mark.parametrize("name", sorted(LABELS))
def test_svg_shows_its_key_labels(name):
    root = _svg(name)
    assert root.tag == f"{SVG_NS}svg"
    lines = ["".join(t.itertext()) for t in _texts(root)]
    missing = [label for label in LABELS[name] if not any(label in line for line in lines)]
    assert not missing, f"{name}.svg does not show {missing}"


@pytest.mark.parametrize("name", sorted(LABELS))
def test_svg_is_readable_at_its_size(name):
    root = _svg(name)
    width = float(root.get("width").removesuffix("pt"))  # 72 pt to the inch
    assert 8 * 72 <= width <= 9.5 * 72, f"{name}.svg is {width / 72:.2f} inches wide"
    # the viewBox is in points, so a font size in user units is a size in points
    assert root.get("viewBox").split()[2] == root.get("width").removesuffix("pt")
    sizes = [
        float(re.search(r"font-size:\s*([\d.]+)px", t.get("style", "")).group(1))
        for t in _texts(root)
    ]
    assert sizes, f"{name}.svg has no text elements (text drawn as paths cannot be searched)"
    assert min(sizes) >= 10, f"{name}.svg has text at {min(sizes)} pt; the minimum is 10 pt"


SHOWN = [(name, lesson) for name, lessons in SHOWN_IN.items() for lesson in lessons]


@pytest.mark.parametrize(("name", "lesson"), SHOWN, ids=[f"{n}-{lesson}" for n, lesson in SHOWN])
def test_diagram_is_shown_in_its_lesson(name, lesson):
    (notebook,) = [p for p in lesson_notebooks() if p.name.startswith(f"{lesson}_")]
    image = re.compile(r"!\[([^\]]*)\]\(\.\./assets/" + re.escape(name) + r"\.svg\)")
    found = [m for text in _markdown_sources(notebook) for m in image.finditer(text)]
    assert found, f"{notebook.name} does not show ../assets/{name}.svg in a markdown cell"
    for match in found:
        alt = match.group(1)
        assert len(alt.split()) >= 12, (
            f"{notebook.name}: the alt text of {name}.svg should describe the diagram, got {alt!r}"
        )
