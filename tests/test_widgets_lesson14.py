"""Lesson 14's apps: text_search and zero_shot_explorer build, follow the text box, and refuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cl_lessons as cl
from cl_lessons.widgets.zero_shot import TEMPLATES, class_prompts


@pytest.fixture(scope="module")
def setup():
    cl.seed_everything(0)
    tok = cl.data.CaptionTokenizer()
    model = cl.models.DualEncoder(
        cl.models.ConvEncoder(1, 16, out_dim=16, width=4),
        cl.models.BagOfWordsEncoder(tok.vocab_size, 16),
        dim=8,
    ).eval()
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(40, 1, 16, 16, generator=gen)
    labels = torch.arange(40) % 10
    return model, tok, images, labels


def test_text_search_ranks_by_cosine_and_follows_the_caption(setup):
    model, tok, images, labels = setup
    app = cl.widgets.text_search(model, images, tok, query="a thick seven", k=5, labels=labels)
    assert app.last_error is None and app.controls["query"].continuous_update is False
    with torch.no_grad():
        zi, zt = model.encode_image(images), model.encode_text(tok.encode("a thin two, upright"))
    want = (zi @ zt.T)[:, 0].numpy()
    before = app.png()
    app.controls["query"].value = "a thin two, upright"  # what Enter in the text box sends
    assert app.png() != before and app.last_error is None
    assert np.array_equal(app.ranking[:5], np.argsort(-want, kind="stable")[:5])
    np.testing.assert_allclose(app.scores, np.sort(want)[::-1], rtol=1e-5, atol=1e-6)
    texts = [t.get_text() for t in app.artists["scores"]]
    assert texts[0] == f"{int(labels[app.ranking[0]])}: {app.scores[0]:.2f}" and texts[5] == ""
    before = app.png()
    app.update(k=12)
    assert app.png() != before and texts != [t.get_text() for t in app.artists["scores"]]


def test_text_search_names_unknown_words_and_shows_errors(setup):
    model, tok, images, _ = setup
    app = cl.widgets.text_search(model, images, tok)
    app.update(query="a photo of a seven")
    assert app.unknown == ["photo", "of"] and "<unk>" in app.ax.title.get_text()
    app.update(query="   ")
    assert isinstance(app.last_error, ValueError) and "caption" in app.status.value
    app.update(query="a seven")
    assert app.status.value == ""  # the error went away with a good caption


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": torch.nn.Linear(2, 2)}, "dual encoder"),
        ({"images": torch.rand(3, 16, 16)}, "images"),
        ({"query": ""}, "query"),
        ({"k": 0}, "k"),
        ({"k": 41}, "k"),
        ({"labels": [1, 2]}, "labels"),
        ({"tokenizer": "words"}, "tokenizer"),
    ],
)
def test_text_search_refuses_bad_arguments(setup, kwargs, match):
    model, tok, images, _ = setup
    args = {"model": model, "images": images, "tokenizer": tok, **kwargs}
    with pytest.raises(ValueError, match=match):
        cl.widgets.text_search(**args)


def test_zero_shot_explorer_accuracy_confusion_and_ensemble(setup):
    model, tok, images, labels = setup
    app = cl.widgets.zero_shot_explorer(model, images, labels, tokenizer=tok)
    assert app.last_error is None and app.prompts[7] == "a seven"
    with torch.no_grad():
        zi = model.encode_image(images)
        zt = model.encode_text(tok.encode(class_prompts("the digit {}", app.class_names)))
        pred = (zi @ zt.T).argmax(1)
        ens = torch.stack(
            [model.encode_text(tok.encode(class_prompts(t, app.class_names))) for t in TEMPLATES]
        )
        pred_ens = (zi @ F.normalize(ens.mean(0), dim=1).T).argmax(1)
    before = app.png()
    app.controls["template"].value = "the digit {}"
    assert app.png() != before
    assert app.accuracy == pytest.approx(float((pred == labels).float().mean()))
    assert app.confusion.sum() == len(labels)
    assert np.trace(app.confusion) == pytest.approx(app.accuracy * len(labels))
    app.update(ensemble=True)
    assert app.accuracy == pytest.approx(float((pred_ens == labels).float().mean()))
    app.update(ensemble=False, template="the digit")  # no {}: the name is appended
    assert app.prompts[3] == "the digit three"
    app.update(template=" ")
    assert isinstance(app.last_error, ValueError) and "template" in app.status.value


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": np.arange(40) % 12}, "labels"),
        ({"labels": np.zeros(39, dtype=int)}, "labels"),
        ({"class_names": ["one"]}, "class_names"),
        ({"template": ""}, "template"),
        ({"ensemble": "yes"}, "ensemble"),
        ({"model": "clip"}, "dual encoder"),
    ],
)
def test_zero_shot_explorer_refuses_bad_arguments(setup, kwargs, match):
    model, tok, images, labels = setup
    args = {"model": model, "images": images, "labels": labels.numpy(), "tokenizer": tok}
    with pytest.raises(ValueError, match=match):
        cl.widgets.zero_shot_explorer(**{**args, **kwargs})
