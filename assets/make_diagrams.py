"""Draw the course's architecture diagrams as SVG files, next to this script.

    .venv/bin/python assets/make_diagrams.py            # writes assets/*.svg
    .venv/bin/python assets/make_diagrams.py --out DIR  # writes them into DIR instead

The SVGs are committed and shown by the lessons (``![...](../assets/NAME.svg)`` in a markdown
cell). Never edit an SVG by hand: change the drawing here and run the script again.
``tests/test_assets.py`` regenerates every file into a temporary folder and compares the bytes, so
a hand edit (or a change here without re-running it) fails the tests.

The drawings are plain matplotlib: boxes (``FancyBboxPatch``), arrows (``FancyArrowPatch``) and
text on one axes whose data coordinates are inches of the figure, so every position below reads as
a distance on the page. Text stays text in the SVG (``svg.fonttype = "none"``): small files, text
that can be searched and edited, set in DejaVu Sans where it is installed and in the browser's
sans-serif otherwise. Output is deterministic: a fixed ``svg.hashsalt`` for the element ids and no
date in the metadata.

Colours are the course palette of :mod:`cl_lessons.viz.colors` (Okabe-Ito, colour-blind safe):
edges in the full colour, fills in a light tint of it so that black text stays readable.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from cl_lessons.viz import NEGATIVE, PALETTE, POSITIVE, ZONE_COLORS

HERE = Path(__file__).resolve().parent

BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW, BLACK = PALETTE
INK = "#222222"  # text and arrows
MUTED = "#555555"  # notes
GREY = "#999999"  # inputs and neutral boxes
WIDTH = 9.5  # inches: every diagram is this wide, so they share one scale in the lessons

RC = {
    "svg.hashsalt": "cl-lessons-diagrams",  # deterministic element ids
    "svg.fonttype": "none",  # text stays <text>: searchable, editable, small
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 11,
    "text.color": INK,
}
METADATA = {"Date": None, "Creator": "assets/make_diagrams.py (matplotlib)"}
TEXT, NOTE, TITLE = 11, 10, 13  # font sizes in points; nothing smaller than 10


def tint(color: str, amount: float = 0.22) -> str:
    """``color`` mixed with white: ``amount`` of the colour, the rest white (a light fill)."""
    rgb = np.array(mpl.colors.to_rgb(color))
    return mpl.colors.to_hex(amount * rgb + (1 - amount) * np.ones(3))


@dataclass(frozen=True)
class Box:
    """A drawn box: its centre and size, and the midpoints of its four sides for arrows."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)


def canvas(height: float, title: str | None = None):
    """A ``WIDTH`` x ``height`` inch figure whose axes coordinates are inches from its corner."""
    fig = Figure(figsize=(WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, WIDTH), ylim=(0, height))
    ax.set_axis_off()
    if title:
        ax.text(0.12, height - 0.12, title, fontsize=TITLE, weight="bold", va="top")
    return fig, ax


def box(ax, x, y, w, h, text, color=GREY, size=TEXT, fill=None, weight="normal", ls="-") -> Box:
    """A rounded box centred at ``(x, y)`` with centred text; returns its geometry."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=tint(color) if fill is None else fill,
            edgecolor=color,
            linewidth=1.6,
            linestyle=ls,
        )
    )
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=size, weight=weight, linespacing=1.3)
    return Box(x, y, w, h)


def arrow(ax, start, end, color=INK, ls="-", lw=1.5, both=False, rad=0.0) -> None:
    """An arrow from ``start`` to ``end`` (points in inches)."""
    style = "<|-|>" if both else "-|>"
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=f"{style},head_length=0.45,head_width=0.22",
            mutation_scale=14,
            color=color,
            linewidth=lw,
            linestyle=ls,
            shrinkA=0,
            shrinkB=0,
            connectionstyle=f"arc3,rad={rad}",
        )
    )


def darker(color: str, amount: float = 0.3) -> str:
    """``color`` mixed with black: text in a palette colour keeps its hue and gains contrast."""
    return mpl.colors.to_hex((1 - amount) * np.array(mpl.colors.to_rgb(color)))


def note(ax, x, y, text, size=NOTE, color=MUTED, ha="center", va="center", **kw) -> None:
    """A short explanatory text; a palette colour is darkened to stay readable on white."""
    color = color if color in (INK, MUTED) else darker(color)
    ax.text(x, y, text, fontsize=size, color=color, ha=ha, va=va, linespacing=1.3, **kw)


def stop_gradient(ax, x, y, label="stop-gradient", below=True) -> None:
    """Two short bars across a horizontal arrow at ``(x, y)``: no gradient flows past here."""
    for dx in (-0.05, 0.05):
        ax.plot([x + dx - 0.04, x + dx + 0.04], [y - 0.14, y + 0.14], color=NEGATIVE, lw=2.2)
    note(ax, x, y - 0.3 if below else y + 0.3, label, color=NEGATIVE)


# --------------------------------------------------------------------------------------------
# Lessons 02 and 03: Siamese, pseudo-Siamese, dual-stream / two-tower
# --------------------------------------------------------------------------------------------


def siamese_vs_pseudo_vs_two_tower() -> Figure:
    """Shared weights (one encoder called twice) vs two towers vs two towers for two input kinds."""
    fig, ax = canvas(5.2)
    panels = [
        {
            "x": 1.58,
            "title": "Siamese network",
            "sub": "one encoder, shared weights",
            "inputs": ("x₁: image", "x₂: image"),
            "input_colors": (GREY, GREY),
            "encoders": ("encoder f", "encoder f"),
            "colors": (BLUE, BLUE),
            "heights": (0.62, 0.62),
            "link": "same\nweights θ",
            "score": "distance d(z₁, z₂)\nsymmetric, d(x, x) = 0",
            "loss": "loss: contrastive / triplet",
            "foot": "P parameters · lessons 02, 04–06",
        },
        {
            "x": 4.75,
            "title": "pseudo-Siamese network",
            "sub": "two encoders, one kind of input",
            "inputs": ("x₁: image", "x₂: image"),
            "input_colors": (GREY, GREY),
            "encoders": ("encoder A", "encoder B"),
            "colors": (BLUE, PURPLE),
            "heights": (0.62, 0.62),
            "link": "separate\nweights",
            "score": "distance d(z₁, z₂)\nd(x, x) ≠ 0 after training",
            "loss": "loss: contrastive / triplet",
            "foot": "2P parameters · lesson 02, section 7",
        },
        {
            "x": 7.92,
            "title": "dual-stream / two-tower",
            "sub": "two encoders, two kinds of input",
            "inputs": ("x₁: user", "x₂: item"),
            "input_colors": (ORANGE, GREEN),
            "encoders": ("user\ntower", "item\ntower"),
            "colors": (ORANGE, GREEN),
            "heights": (0.62, 0.78),  # different architectures
            "link": "different\nnetworks",
            "score": "two-tower: s = z₁ · z₂\ndual-stream: h(fuse(z₁, z₂))",
            "loss": "loss: in-batch softmax / BCE",
            "foot": "lessons 03 and 14 (image–text)",
        },
    ]
    for sep in (3.165, 6.335):
        ax.plot([sep, sep], [0.15, 5.05], color="#DDDDDD", lw=1.2)
    for p in panels:
        cx = p["x"]
        ax.text(cx, 5.0, p["title"], ha="center", va="top", fontsize=12, weight="bold")
        note(ax, cx, 4.6, p["sub"])
        loss = box(ax, cx, 4.05, 2.75, 0.42, p["loss"], color=INK, fill="#F2F2F2")
        score = box(ax, cx, 3.2, 2.75, 0.66, p["score"], color=INK, fill="white", size=NOTE)
        arrow(ax, score.top, loss.bottom)
        for side, (name, color, text, in_color) in enumerate(
            zip(p["encoders"], p["colors"], p["inputs"], p["input_colors"], strict=True)
        ):
            x = cx + (-0.72 if side == 0 else 0.72)
            enc = box(ax, x, 1.95, 1.12, p["heights"][side], name, color=color)
            inp = box(ax, x, 0.78, 1.12, 0.42, text, color=in_color, size=NOTE)
            arrow(ax, inp.top, enc.bottom)
            z_start = enc.top
            z_end = (score.x + (-0.72 if side == 0 else 0.72), score.y - score.h / 2)
            arrow(ax, z_start, z_end)
            note(ax, x + (-0.2 if side == 0 else 0.2), 2.62, f"z{'₁₂'[side]}", color=INK)
        shared = p["colors"][0] == p["colors"][1]
        ax.plot(
            [cx - 0.16, cx + 0.16],
            [1.95, 1.95],
            color=BLUE if shared else MUTED,
            lw=2.6 if shared else 1.2,
            ls="-" if shared else (0, (2, 2)),
        )
        note(ax, cx, 1.3, p["link"], color=BLUE if shared else MUTED)
        note(ax, cx, 0.3, p["foot"])
    return fig


# --------------------------------------------------------------------------------------------
# Lesson 05: the three zones of a triplet
# --------------------------------------------------------------------------------------------


def triplet_zones() -> Figure:
    """Anchor, positive at d(a,p), and the hard / semi-hard / easy zones with their boundaries."""
    height = 4.9
    fig, ax = canvas(height, "Easy, semi-hard and hard negatives of a triplet")
    hard_c, semi_c, easy_c = (ZONE_COLORS[k] for k in ("hard", "semi-hard", "easy"))
    cx, cy, d_ap, margin = 2.15, 2.25, 0.95, 0.62
    ax.add_patch(Rectangle((0.15, 0.1), 4.0, 4.25, facecolor=tint(easy_c, 0.18), edgecolor=easy_c))
    ax.add_patch(Circle((cx, cy), d_ap + margin, facecolor=tint(semi_c, 0.35), edgecolor="none"))
    ax.add_patch(Circle((cx, cy), d_ap, facecolor=tint(hard_c, 0.3), edgecolor=hard_c, lw=2))
    ax.add_patch(
        Circle((cx, cy), d_ap + margin, facecolor="none", edgecolor=semi_c, lw=2, ls=(0, (4, 2)))
    )
    bold = {"fontsize": 12, "weight": "bold", "ha": "center", "va": "center"}
    ax.text(0.62, 4.05, "easy", **bold)
    ax.text(cx, cy + d_ap + margin / 2, "semi-hard", **bold)
    ax.text(cx - 0.45, cy + 0.42, "hard", **bold)
    # anchor, and the positive on the inner circle: its radius is d(a,p)
    angle = np.deg2rad(-20)
    px, py = cx + d_ap * np.cos(angle), cy + d_ap * np.sin(angle)
    ax.plot([cx, px], [cy, py], color=POSITIVE, lw=1.8)
    note(ax, (cx + px) / 2 + 0.02, (cy + py) / 2 + 0.17, "d(a,p)", color=POSITIVE, size=TEXT)
    ax.plot([cx], [cy], marker="*", ms=17, color=BLACK)
    note(ax, cx - 0.05, cy - 0.27, "anchor a", color=INK)
    ax.plot([px], [py], marker="o", ms=11, color=POSITIVE, mec="white", mew=1.2)
    note(ax, px + 0.1, py - 0.27, "positive p", color=POSITIVE, ha="left")
    # the margin: the width of the ring
    m_angle = np.deg2rad(232)
    start = (cx + d_ap * np.cos(m_angle), cy + d_ap * np.sin(m_angle))
    end = (cx + (d_ap + margin) * np.cos(m_angle), cy + (d_ap + margin) * np.sin(m_angle))
    arrow(ax, start, end, both=True, lw=1.3)
    note(ax, end[0] - 0.12, end[1] - 0.12, "margin m", color=INK, size=TEXT, ha="right")
    # one negative in each zone
    for r, deg, zone in ((0.72, 200, hard_c), (d_ap + 0.31, 150, semi_c), (1.95, 40, easy_c)):
        rad = np.deg2rad(deg)
        ax.plot([cx + r * np.cos(rad)], [cy + r * np.sin(rad)], "s", ms=10, color=zone, mec=INK)
    note(ax, cx, 0.3, "■ a negative n in each zone", color=INK)

    # right: the loss as a function of d(a,n), each zone in its colour
    lx = fig.add_axes((5.0 / WIDTH, 2.6 / height, 4.25 / WIDTH, 1.55 / height))
    top = d_ap + margin
    for lo, hi, c in ((0.0, d_ap, hard_c), (d_ap, top, semi_c), (top, 2.5, easy_c)):
        xs = np.linspace(lo, hi, 50)
        lx.plot(xs, np.maximum(d_ap - xs + margin, 0), color=c, lw=3)
        lx.axvspan(lo, hi, color=tint(c, 0.18), lw=0)
    # a boundary point takes the colour of the zone it belongs to
    lx.plot([d_ap], [margin], "o", color=hard_c, mec="white", mew=1.5, ms=11, zorder=3)
    lx.plot([top], [0], "o", color=semi_c, mec="white", mew=1.5, ms=11, zorder=3)
    lx.set_xticks([0, d_ap, top], ["0", "d(a,p)", "d(a,p) + m"], fontsize=NOTE)
    lx.set_yticks([0, margin], ["0", "m"], fontsize=NOTE)
    lx.set(xlim=(0, 2.5), ylim=(-0.08, d_ap + margin + 0.1))
    lx.set_xlabel("d(a,n), distance of the negative", fontsize=NOTE, labelpad=2)
    lx.set_title("triplet loss  max(d(a,p) − d(a,n) + m, 0)", fontsize=TEXT)
    lx.spines[["top", "right"]].set_visible(False)

    # right, below: the definitions, as cl_lessons.miners writes them
    rows = [
        ("hard", hard_c, "d(a,n) ≤ d(a,p)", "loss ≥ m"),
        ("semi-hard", semi_c, "d(a,p) < d(a,n) ≤ d(a,p) + m", "loss < m"),
        ("easy", easy_c, "d(a,n) > d(a,p) + m", "loss 0"),
    ]
    for i, (name, c, cond, loss) in enumerate(rows):
        y = 1.55 - 0.34 * i
        ax.add_patch(Rectangle((4.6, y - 0.09), 0.18, 0.18, facecolor=c, edgecolor=INK, lw=0.8))
        ax.text(4.86, y, name, va="center", fontsize=TEXT, weight="bold")
        ax.text(5.92, y, cond, va="center", fontsize=TEXT)
        ax.text(8.45, y, loss, va="center", fontsize=NOTE, color=MUTED)
    note(
        ax,
        4.6,
        0.3,
        "boundaries (cl.miners): d(a,n) = d(a,p) is hard;\n"
        "d(a,n) = d(a,p) + m is semi-hard (loss 0, on the margin)",
        ha="left",
        color=INK,
    )
    return fig


# --------------------------------------------------------------------------------------------
# Lesson 07: SimCLR
# --------------------------------------------------------------------------------------------


def _similarity_matrix(ax, x0, y0, n=3, cell=0.2) -> None:
    """The (2N, 2N) matrix of NT-Xent for ``n`` images: self masked, partner, negatives."""
    size = 2 * n
    for i in range(size):
        for j in range(size):
            if i == j:
                color = "#BBBBBB"
            elif abs(i - j) == n:
                color = POSITIVE
            else:
                color = tint(NEGATIVE, 0.35)
            ax.add_patch(
                Rectangle(
                    (x0 + j * cell, y0 + (size - 1 - i) * cell),
                    cell,
                    cell,
                    facecolor=color,
                    edgecolor="white",
                    lw=1,
                )
            )
    half = x0 + n * cell
    ax.plot([half, half], [y0, y0 + size * cell], color=INK, lw=1)
    ax.plot([x0, x0 + size * cell], [y0 + n * cell] * 2, color=INK, lw=1)


def simclr_pipeline() -> Figure:
    """x, two augmentations, shared encoder f and head g, z, NT-Xent over the batch."""
    fig, ax = canvas(4.5, "SimCLR: two views of every image, no labels (Chen et al. 2020)")
    top, bottom = 3.1, 1.45
    mid = (top + bottom) / 2
    x = box(ax, 0.55, mid, 0.85, 0.7, "batch of\nN images x", size=NOTE)
    for y, aug_text, sub in ((top, "augment\nt ~ T", "ᵢ"), (bottom, "augment\nt′ ~ T", "ⱼ")):
        aug = box(ax, 1.78, y, 1.05, 0.62, aug_text, color=YELLOW, size=NOTE)
        arrow(ax, x.right, aug.left)
        enc = box(ax, 3.3, y, 1.1, 0.62, "encoder f", color=BLUE)
        arrow(ax, aug.right, enc.left)
        note(ax, 2.53, y + 0.17, f"x̃{sub}", color=INK, size=TEXT)
        head = box(ax, 4.92, y, 1.28, 0.62, "projection\nhead g", color=SKY, size=NOTE)
        arrow(ax, enc.right, head.left)
        note(ax, 4.07, y + 0.17, f"h{sub}", color=INK, size=TEXT)
        arrow(ax, head.right, (6.15, y))
        note(ax, 5.86, y + 0.17, f"z{sub}", color=INK, size=TEXT)
    for xs in (3.3, 4.92):
        ax.plot([xs, xs], [bottom + 0.33, top - 0.33], color=BLUE, lw=2.2, ls=(0, (3, 2)))
    note(ax, 3.3 + 0.08, mid, "shared\nweights", color=BLUE, ha="left")
    note(ax, 4.92 + 0.08, mid, "shared\nweights", color=SKY, ha="left")
    note(
        ax,
        3.3,
        0.72,
        "h = f(x̃): the representation kept for\nthe linear probe and kNN (the head is dropped)",
    )
    # the loss: the 2N x 2N similarity matrix of one batch
    box(ax, 7.8, 2.2, 3.25, 3.55, "", color=INK, fill="#F7F7F7")
    ax.text(
        7.8, 3.75, "NT-Xent over the batch", ha="center", va="center", fontsize=12, weight="bold"
    )
    note(ax, 7.8, 3.45, "cos(zᵢ, zₖ) / τ for all 2N views", color=INK)
    _similarity_matrix(ax, 6.5, 1.85, n=3, cell=0.2)
    legend = (
        ("#BBBBBB", "self: masked"),
        (POSITIVE, "positive"),
        (tint(NEGATIVE, 0.35), "negative"),
    )
    for i, (color, text) in enumerate(legend):
        y = 2.85 - 0.4 * i
        ax.add_patch(Rectangle((7.9, y - 0.08), 0.16, 0.16, facecolor=color, edgecolor=INK, lw=0.6))
        note(ax, 8.12, y, text, color=INK, ha="left")
    note(
        ax,
        7.8,
        1.05,
        "positive: the other view of the same image\nnegatives: the other 2N − 2 views\n"
        "each row: a softmax over 2N − 1 candidates\n(chance level: log(2N − 1))",
        color=INK,
    )
    return fig


# --------------------------------------------------------------------------------------------
# Lesson 08: MoCo, and BYOL / SimSiam
# --------------------------------------------------------------------------------------------


def moco_pipeline() -> Figure:
    """Query encoder, momentum (EMA) key encoder, queue of keys as negatives."""
    fig, ax = canvas(4.3, "MoCo: a queue of negatives and a momentum key encoder (He et al. 2020)")
    top, bottom = 3.35, 1.85
    mid = (top + bottom) / 2
    x = box(ax, 0.5, mid, 0.8, 0.7, "batch of\nN images", size=NOTE)
    augs = [box(ax, 1.62, y, 0.95, 0.5, "augment", color=YELLOW, size=NOTE) for y in (top, bottom)]
    query = box(ax, 3.3, top, 1.95, 0.66, "query encoder θ_q\ntrained by backprop", BLUE, NOTE)
    key = box(ax, 3.3, bottom, 1.95, 0.66, "momentum key encoder\nθ_k, no gradient", PURPLE, NOTE)
    for aug, enc in zip(augs, (query, key), strict=True):
        arrow(ax, x.right, aug.left)
        arrow(ax, aug.right, enc.left)
    arrow(ax, query.bottom, key.top, ls=(0, (3, 2)), color=PURPLE)
    note(
        ax,
        3.42,
        mid,
        "EMA after every step:\nθ_k ← m θ_k + (1 − m) θ_q\nm = 0.99: the keys change slowly",
        ha="left",
        color=PURPLE,
    )
    loss = box(ax, 8.25, mid, 2.3, 2.3, "", color=INK, fill="#F7F7F7")
    ax.text(loss.x, mid + 0.85, "InfoNCE", ha="center", va="center", fontsize=12, weight="bold")
    note(
        ax,
        loss.x,
        mid - 0.15,
        "positive: q · k₊ / τ\n(the key of the other view)\n\nnegatives: q · kⱼ / τ\n"
        "for the K keys in the queue\n\n(K + 1)-way softmax",
        color=INK,
    )
    arrow(ax, query.right, (loss.x - loss.w / 2, top))
    note(ax, 5.0, top + 0.17, "q", color=INK, size=TEXT)
    arrow(ax, key.right, (loss.x - loss.w / 2, bottom))
    note(ax, 5.0, bottom + 0.17, "k₊", color=INK, size=TEXT)
    stop_gradient(ax, 6.45, bottom, label="no gradient", below=False)
    # the queue of keys: the newest enter on the left, the oldest leave on the right
    cells, cell, qx, qy = 10, 0.3, 4.3, 0.45
    for i in range(cells):
        ax.add_patch(
            Rectangle(
                (qx + i * cell, qy),
                cell,
                0.36,
                facecolor=tint(PURPLE, 0.56 - 0.04 * i),
                edgecolor=PURPLE,
                lw=1,
            )
        )
    right = qx + cells * cell
    note(ax, qx + cells * cell / 2, qy - 0.2, "queue: K keys of earlier batches", color=INK)
    arrow(ax, (4.6, bottom - 0.02), (qx + 0.15, qy + 0.4), rad=0.3)
    note(ax, 4.2, 1.2, "enqueue k₊", ha="right")
    arrow(ax, (right, qy + 0.18), (right + 0.4, qy + 0.18))
    note(ax, right + 0.47, qy + 0.18, "dequeue\nthe oldest", ha="left")
    arrow(ax, (qx + 7.5 * cell, qy + 0.4), (loss.x - 0.6, loss.y - loss.h / 2), rad=-0.25)
    note(ax, 6.45, 1.2, "K negatives", ha="right")
    note(
        ax,
        0.12,
        0.62,
        "lesson 08: batch 64, queue 1024:\n63 + 1024 = 1087 negatives\nper query",
        ha="left",
    )
    return fig


def byol_simsiam_pipeline() -> Figure:
    """Online branch with a predictor; target branch: EMA (BYOL) or stop-gradient (SimSiam)."""
    fig, ax = canvas(4.7, "BYOL and SimSiam: no negatives, two asymmetries")
    top, bottom = 3.35, 1.75
    mid = (top + bottom) / 2
    x = box(ax, 0.5, mid, 0.8, 0.7, "batch of\nN images", size=NOTE)
    note(ax, 1.15, top + 0.52, "online branch", ha="left", color=BLUE, size=TEXT, weight="bold")
    note(
        ax, 1.15, bottom - 0.52, "target branch", ha="left", color=PURPLE, size=TEXT, weight="bold"
    )
    for y, color, who in ((top, BLUE, "θ"), (bottom, PURPLE, "ξ")):
        aug = box(ax, 1.62, y, 0.95, 0.5, "augment", color=YELLOW, size=NOTE)
        arrow(ax, x.right, aug.left)
        enc = box(ax, 3.0, y, 1.2, 0.6, f"encoder f_{who}", color=color, size=NOTE)
        arrow(ax, aug.right, enc.left)
        proj = box(ax, 4.55, y, 1.3, 0.6, f"projector g_{who}", color=color, size=NOTE)
        arrow(ax, enc.right, proj.left)
        if y == top:
            pred = box(ax, 6.15, y, 1.3, 0.6, "predictor q_θ", color=ORANGE, size=NOTE)
            arrow(ax, proj.right, pred.left)
            note(ax, 5.35, y + 0.17, "z", color=INK, size=TEXT)
            arrow(ax, pred.right, (7.15, y))
            note(ax, 6.98, y + 0.17, "p", color=INK, size=TEXT)
            note(ax, 6.15, y - 0.48, "online branch only", color=ORANGE)
        else:
            arrow(ax, proj.right, (7.15, y))
            note(ax, 5.5, y + 0.17, "z′", color=INK, size=TEXT)
            stop_gradient(ax, 6.35, y, label="stop-gradient sg(z′)")
    arrow(ax, (3.78, top - 0.32), (3.78, bottom + 0.32), ls=(0, (3, 2)), color=PURPLE)
    note(
        ax,
        3.9,
        mid + 0.05,
        "BYOL: ξ ← m ξ + (1 − m) θ (EMA copy)\nSimSiam: ξ = θ, the same network",
        ha="left",
        color=PURPLE,
    )
    loss = box(ax, 8.3, mid, 2.2, 2.3, "", color=INK, fill="#F7F7F7")
    ax.text(loss.x, mid + 0.8, "loss", ha="center", va="center", fontsize=12, weight="bold")
    note(
        ax,
        loss.x,
        mid - 0.15,
        "D(p, sg(z′)) = −cos(p, z′)\n\nsymmetrised over the\ntwo views; no negatives\nminimum −1",
        color=INK,
    )
    note(
        ax,
        WIDTH / 2,
        0.35,
        "Remove the stop-gradient and the model collapses (lesson 08): the loss reaches −1 while\n"
        "every image gets the same embedding (std of normalised z → 0).",
        color=INK,
    )
    return fig


# --------------------------------------------------------------------------------------------
# Lesson 13: negatives across processes
# --------------------------------------------------------------------------------------------


def scaling_all_gather() -> Figure:
    """Data-parallel ranks embed local batches, all_gather the embeddings, all-reduce gradients."""
    fig, ax = canvas(4.85, "Negatives across processes: all_gather with gradients, then DDP")
    rows = (3.55, 1.85)
    mid = sum(rows) / 2
    gather = box(ax, 5.45, mid, 1.15, 2.55, "all_gather\nwith\ngradient", ORANGE, TEXT)
    for rank, y in enumerate(rows):
        ax.text(0.12, y, f"rank {rank}\n(GPU {rank})", va="center", fontsize=TEXT, weight="bold")
        batch = box(ax, 1.55, y, 1.05, 0.7, "local batch\nN pairs", size=NOTE)
        enc = box(ax, 2.95, y, 1.15, 0.7, "encoder f\nDDP replica", color=BLUE, size=NOTE)
        z = box(ax, 4.22, y, 0.95, 0.7, f"z of rank {rank}\n2N × D", color=SKY, size=NOTE)
        everyone = box(ax, 6.85, y, 1.3, 0.8, "all 2WN views\n(the same on\nevery rank)", SKY, NOTE)
        loss = box(
            ax,
            8.6,
            y,
            1.5,
            0.88,
            f"loss of rank {rank}:\nits 2N anchors\nvs 2WN views",
            color=INK,
            fill="#F7F7F7",
            size=NOTE,
        )
        arrow(ax, batch.right, enc.left)
        arrow(ax, enc.right, z.left)
        arrow(ax, z.right, (gather.x - gather.w / 2, y))
        arrow(ax, (gather.x + gather.w / 2, y), everyone.left)
        arrow(ax, everyone.right, loss.left)
    # DDP: the parameter gradients are averaged between the replicas
    arrow(ax, (2.95, rows[0] - 0.35), (2.95, rows[1] + 0.35), both=True, ls=(0, (3, 2)), color=BLUE)
    note(
        ax,
        3.07,
        mid,
        "DDP: all-reduce\n(average) of the\nparameter gradients",
        color=BLUE,
        ha="left",
    )
    note(ax, 0.12, 0.95, "… W ranks in all\n(torchrun starts them)", ha="left")
    note(
        ax,
        WIDTH / 2 + 0.6,
        0.42,
        "backward of the gather (cl.scale.gather_with_grad): sum each slice's gradient over the\n"
        "ranks (all-reduce), each rank keeps its own slice. A plain torch.distributed.all_gather\n"
        "drops the other ranks' share: the same loss, a wrong gradient.",
        color=INK,
    )
    return fig


DIAGRAMS: dict[str, Callable[[], Figure]] = {
    "siamese_vs_pseudo_vs_two_tower": siamese_vs_pseudo_vs_two_tower,
    "triplet_zones": triplet_zones,
    "simclr_pipeline": simclr_pipeline,
    "moco_pipeline": moco_pipeline,
    "byol_simsiam_pipeline": byol_simsiam_pipeline,
    "scaling_all_gather": scaling_all_gather,
}
"""Every diagram: file name (without ``.svg``) -> the function that draws it."""


def write_all(out: Path, fmt: str = "svg") -> list[Path]:
    """Draw every diagram into ``out`` (created if needed); return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context(RC):
        for name, draw in DIAGRAMS.items():
            path = out / f"{name}.{fmt}"
            fig = draw()
            fig.savefig(path, format=fmt, metadata=METADATA if fmt == "svg" else None)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    parser.add_argument(
        "--format", default="svg", choices=("svg", "png"), help="png: a preview, never committed"
    )
    args = parser.parse_args(argv)
    if args.format == "png" and args.out.resolve() == HERE:
        parser.error("PNG previews are never committed: give --out a folder outside assets/")
    for path in write_all(args.out, args.format):
        print(path)


if __name__ == "__main__":
    main()
