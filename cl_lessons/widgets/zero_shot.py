"""``zero_shot_explorer``: class prompts in, zero-shot confusion matrix and accuracy out."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F

from cl_lessons._checks import check_bool
from cl_lessons.widgets._app import _STYLE, App
from cl_lessons.widgets.text_search import _check_dual_encoder, _text_box, _tokenizer

TEMPLATES = ("a {}", "the digit {}", "the number {}", "a handwritten {}", "the {}")
"""The prompt templates of the ensemble (``{}`` is replaced by the class name)."""


def class_prompts(template: str, class_names: Sequence[str]) -> list[str]:
    """One prompt per class: ``{}`` in ``template`` becomes the class name (appended if absent)."""
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"template must be a non-empty string, got {template!r}")
    if "{}" not in template:
        template = template.rstrip() + " {}"
    return [template.replace("{}", name) for name in class_names]


class ZeroShotExplorer(App):
    """Prompt template box, ensemble switch, confusion matrix (see :func:`zero_shot_explorer`)."""

    def __init__(self, model, image_emb, labels, tokenizer, class_names, template, ensemble):
        controls = {
            "template": _text_box("prompt template", template, "e.g. 'the digit {}'; Enter"),
            "ensemble": widgets.Checkbox(
                value=ensemble, description="average the preset templates", style=_STYLE
            ),
        }
        super().__init__(controls, figsize=(9.0, 4.0))
        self.model, self.tokenizer, self.class_names = model, tokenizer, list(class_names)
        self.image_emb, self.labels = image_emb, labels
        c = len(self.class_names)
        self.ax_cm, self.ax_bar = self.fig.subplots(1, 2, width_ratios=[1.1, 1.0])
        art = self.artists
        art["cm"] = self.ax_cm.imshow(np.zeros((c, c)), vmin=0, vmax=1, cmap="Blues")
        self.ax_cm.set_xticks(range(c), self.class_names, rotation=90, fontsize="x-small")
        self.ax_cm.set_yticks(range(c), self.class_names, fontsize="x-small")
        self.ax_cm.set_xlabel("predicted")
        self.ax_cm.set_ylabel("true")
        art["bars"] = self.ax_bar.barh(range(c), np.zeros(c), color="#0072B2")
        self.ax_bar.set_xlim(0, 1)
        self.ax_bar.set_yticks(range(c), self.class_names, fontsize="x-small")
        self.ax_bar.invert_yaxis()
        self.ax_bar.set_xlabel("recall of the class")
        self.confusion = np.zeros((c, c))
        self.accuracy = 0.0
        self.prompts: list[str] = []
        self._dynamic(art["cm"], *art["bars"], self.ax_cm.title, self.ax_bar.title)
        self._start()

    def text_embeddings(self, template: str, ensemble: bool) -> np.ndarray:
        """``(C, D)`` unit class embeddings: one template, or the mean over :data:`TEMPLATES`."""
        templates = list(TEMPLATES) if ensemble else [template]
        param = next(self.model.parameters(), None)
        with torch.no_grad():
            self.model.eval()
            zs = []
            for t in templates:
                tokens = self.tokenizer.encode(class_prompts(t, self.class_names))  # (C, L)
                if param is not None:
                    tokens = tokens.to(param.device)
                zs.append(self.model.encode_text(tokens).float().cpu())  # (C, D)
            z = F.normalize(torch.stack(zs).mean(0), dim=1)  # (C, D)
        return z.numpy()

    def predict(self, template: str, ensemble: bool = False) -> np.ndarray:
        """Zero-shot class index of every image for these prompts."""
        return np.argmax(self.image_emb @ self.text_embeddings(template, ensemble).T, axis=1)

    def _apply(self) -> None:
        template, ensemble = str(self.values["template"]), bool(self.values["ensemble"])
        pred = self.predict(template, ensemble)
        c = len(self.class_names)
        cm = np.zeros((c, c))
        np.add.at(cm, (self.labels, pred), 1.0)
        self.confusion = cm
        self.accuracy = float(np.mean(pred == self.labels))
        self.prompts = class_prompts(template, self.class_names)
        recall = np.diag(cm) / np.maximum(cm.sum(1), 1)
        self.artists["cm"].set_data(cm / np.maximum(cm.sum(1, keepdims=True), 1))
        for bar, r in zip(self.artists["bars"], recall, strict=True):
            bar.set_width(r)
        what = (
            f"mean of {len(TEMPLATES)} templates"
            if ensemble
            else f"{self.prompts[0]!r}, {self.prompts[1]!r}, ..."
        )
        self.ax_cm.set_title(f"accuracy {self.accuracy:.3f}", fontsize="medium")
        self.ax_bar.set_title(f"prompts: {what}", fontsize="small")


def zero_shot_explorer(
    model,
    images,
    labels,
    class_names: Sequence[str] | None = None,
    tokenizer=None,
    template: str = "a {}",
    ensemble: bool = False,
) -> ZeroShotExplorer:
    """Zero-shot classification with prompts you type: confusion matrix and accuracy.

    Each class gets a prompt (the template with ``{}`` replaced by the class name, or the name
    appended when there is no ``{}``); an image is given the class whose prompt embedding is
    most similar to its own (CLIP's zero-shot classifier, Radford et al. 2021). The ensemble
    switch averages the embeddings of the preset :data:`TEMPLATES` per class (prompt ensembling).
    No image label is used except to score the predictions.

    Args:
        model: a dual encoder with ``encode_image`` and ``encode_text``.
        images: ``(N, C, H, W)`` images (held-out ones, for an honest accuracy).
        labels: int class index per image, in ``[0, len(class_names))``.
        class_names: one name per class; ``None`` uses the digits' names ("zero" ... "nine").
        tokenizer: ``None`` uses :class:`cl_lessons.data.CaptionTokenizer`.
        template: the first prompt template.
        ensemble: start with the ensemble of templates.

    Returns:
        The app; ``app.accuracy``, ``app.confusion`` (counts, true x predicted) and
        ``app.prompts`` hold the current state; ``app.predict(template, ensemble)`` classifies
        without drawing.

    Raises:
        ValueError: not a dual encoder, bad images or labels, fewer than 2 class names, a bad
            template or ``ensemble``.
    """
    _check_dual_encoder(model)
    tokenizer = _tokenizer(tokenizer)
    if class_names is None:
        from cl_lessons.data.captions import DIGIT_NAMES

        class_names = DIGIT_NAMES
    names = list(class_names) if not isinstance(class_names, str) else []
    if len(names) < 2 or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"class_names must be at least 2 non-empty strings, got {class_names!r}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, C, H, W) tensor, got {images!r:.60}")
    y = np.asarray(labels)
    if y.shape != (len(images),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be {len(images)} integer class indices, got {y.shape}")
    if y.min() < 0 or y.max() >= len(names):
        raise ValueError(f"labels must lie in [0, {len(names) - 1}] (one per class name)")
    class_prompts(template, names)  # validates the template
    ensemble = check_bool(ensemble, "ensemble")
    param = next(model.parameters(), None)
    with torch.no_grad():
        model.eval()
        x = images.to(param.device) if param is not None else images
        emb = torch.cat([model.encode_image(b) for b in x.split(512)]).float().cpu().numpy()
    return ZeroShotExplorer(model, emb, y, tokenizer, names, template, ensemble)
