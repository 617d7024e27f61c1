"""``text_search``: type a caption, see the images a dual encoder ranks first, with their scores."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_int_in
from cl_lessons.widgets._app import _STYLE, App
from cl_lessons.widgets._controls import _int_slider
from cl_lessons.widgets.retrieval import _rgb

_K_MAX = 16


def _text_box(name: str, value: str, placeholder: str = "") -> widgets.Text:
    """A text box that sends its value on Enter (or when it loses focus), not per keystroke."""
    return widgets.Text(
        value=value,
        description=name,
        placeholder=placeholder,
        continuous_update=False,
        style=_STYLE,
        layout=widgets.Layout(width="420px"),
    )


def _check_dual_encoder(model) -> None:
    for method in ("encode_image", "encode_text"):
        if not callable(getattr(model, method, None)):
            raise ValueError(
                f"model must be a dual encoder with encode_image and encode_text (e.g. "
                f"cl.models.DualEncoder), got {type(model).__name__}"
            )


def _tokenizer(tokenizer):
    if tokenizer is None:
        from cl_lessons.data.captions import CaptionTokenizer

        return CaptionTokenizer()
    if isinstance(tokenizer, (str, bytes)) or not callable(getattr(tokenizer, "encode", None)):
        raise ValueError(f"tokenizer must have an encode method, got {type(tokenizer).__name__}")
    return tokenizer


class TextSearch(App):
    """A caption box and a k slider over a precomputed image gallery (see :func:`text_search`)."""

    _COLS = 8

    def __init__(self, model, images, image_emb, tokenizer, query, k, labels):
        controls = {
            "query": _text_box("caption", query, "type a caption, then press Enter"),
            "k": _int_slider("k results", k, 1, min(_K_MAX, len(images))),
        }
        super().__init__(controls, figsize=(10.0, 3.6))
        self.model, self.tokenizer, self.labels = model, tokenizer, labels
        self.image_emb = image_emb  # (N, D) unit vectors
        self._rgb = _rgb(images)
        h, w = self._rgb.shape[1:3]
        self._hw = (h, w)
        rows = -(-_K_MAX // self._COLS)
        self._mosaic = np.ones((rows * (h + 6), self._COLS * (w + 2), 3))
        self.ax = self.fig.add_subplot()
        art = self.artists
        art["mosaic"] = self.ax.imshow(self._mosaic, interpolation="nearest")
        art["scores"] = [
            self.ax.text(
                (i % self._COLS) * (w + 2) + w / 2 + 1,
                (i // self._COLS) * (h + 6) + h + 1.0,
                "",
                ha="center",
                va="top",
                fontsize="x-small",
            )
            for i in range(_K_MAX)
        ]
        self.ax.set_axis_off()
        self.ranking = np.zeros(0, dtype=np.int64)
        self.scores = np.zeros(0)
        self.unknown: list[str] = []
        self._dynamic(art["mosaic"], *art["scores"], self.ax.title)
        self._start()

    def search(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """``(ranking, scores)``: every image index, best first, and its cosine similarity."""
        tokens = self.tokenizer.encode(query)  # (1, L)
        with torch.no_grad():
            param = next(self.model.parameters(), None)
            if param is not None:
                tokens = tokens.to(param.device)
            was_training = getattr(self.model, "training", False)
            self.model.eval()
            z = self.model.encode_text(tokens).float().cpu().numpy()[0]  # (D,)
            if was_training:
                self.model.train()
        sims = self.image_emb @ z  # (N,)
        order = np.argsort(-sims, kind="stable")
        return order, sims[order]

    def _apply(self) -> None:
        query, k = str(self.values["query"]), int(self.values["k"])
        if not query.strip():
            raise ValueError("caption is empty: type a few words, e.g. 'a thick seven'")
        self.ranking, self.scores = self.search(query)
        unknown = getattr(self.tokenizer, "unknown_words", None)
        self.unknown = unknown(query) if callable(unknown) else []
        h, w = self._hw
        self._mosaic[:] = 1.0
        for slot in range(k):
            row, col = divmod(slot, self._COLS)
            y0, x0 = row * (h + 6), col * (w + 2)
            self._mosaic[y0 : y0 + h, x0 : x0 + w] = self._rgb[self.ranking[slot]]
        self.artists["mosaic"].set_data(self._mosaic)
        for slot, txt in enumerate(self.artists["scores"]):
            if slot < k:
                i = self.ranking[slot]
                label = "" if self.labels is None else f"{self.labels[i]}: "
                txt.set_text(f"{label}{self.scores[slot]:.2f}")
            else:
                txt.set_text("")
        note = f"  (unknown words -> <unk>: {', '.join(self.unknown)})" if self.unknown else ""
        self.ax.set_title(f"top {k} for {query!r}{note}", fontsize="medium")


def text_search(
    model, images, tokenizer=None, query: str = "a thick seven", k: int = 8, labels=None
) -> TextSearch:
    """Search images by typing a caption: the top-k images of a dual encoder, with their scores.

    The images are embedded once; each caption (sent on Enter, not per keystroke) is embedded by
    the text tower and the images are ranked by cosine similarity, shown best first with their
    score (and label, when given). Words the tokenizer does not know are listed in the title:
    they all become the one ``<unk>`` token.

    Args:
        model: a dual encoder with ``encode_image`` and ``encode_text``
            (:class:`cl_lessons.models.DualEncoder`).
        images: the gallery, ``(N, 1, H, W)`` or any layout :func:`cl_lessons.viz.as_images` takes.
        tokenizer: turns a caption into token ids; ``None`` uses
            :class:`cl_lessons.data.CaptionTokenizer`.
        query: the first caption.
        k: results shown (1 to ``min(16, N)``).
        labels: optional class label per image, shown beside each score.

    Returns:
        The app; ``app.ranking`` and ``app.scores`` hold the current ranking, ``app.search(q)``
        ranks without drawing, ``app.update(query=..., k=...)`` sets both controls.

    Raises:
        ValueError: not a dual encoder, fewer than 1 image, a bad tokenizer, an empty query,
            ``k`` out of range, or labels of the wrong length.
    """
    _check_dual_encoder(model)
    tokenizer = _tokenizer(tokenizer)
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, C, H, W) tensor, got {images!r:.60}")
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty string, got {query!r}")
    k = check_int_in(k, "k", 1, min(_K_MAX, len(images)))
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have one entry per image ({len(images)})")
    with torch.no_grad():
        model.eval()
        param = next(model.parameters(), None)
        x = images.to(param.device) if param is not None else images
        emb = torch.cat([model.encode_image(b) for b in x.split(512)]).float().cpu().numpy()
    return TextSearch(model, viz.as_images(images), emb, tokenizer, query, k, labels)
