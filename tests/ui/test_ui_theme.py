"""Readable in both themes: the apps' status lines and the exercise cards, measured in the browser.

tests/ui/fixtures/themes.ipynb shows an app with a status message, an app showing an error, the
three kinds of exercise card, an app whose figure lost its text description, and a probe in the old
status colour (#444). The test measures the contrast of each element's text against its effective
background, in JupyterLab's light and dark themes: 4.5:1 at least (WCAG 2.1, 1.4.3) for the course's
elements, and the probe must fail on the dark theme, so the measurement itself can fail.
"""

from __future__ import annotations

import pytest
from labdriver import SCREENSHOT_DIR, LabPage

MIN_CONTRAST = 4.5

_CONTRAST_JS = r"""
selector => {
  const rgba = s => {
    const m = s.match(/[\d.]+/g).map(Number);
    return m.length === 3 ? [...m, 1] : m;
  };
  const over = (top, bottom) => {  // alpha-composite top over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat(1);
  };
  const background = el => {  // the colour under `el`: its ancestors' backgrounds, composited
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const lum = c => {
    const f = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = [];
  document.querySelectorAll(selector).forEach(el => {
    // every element that holds text of its own inside the selected one
    [el, ...el.querySelectorAll('*')].forEach(n => {
      const own = [...n.childNodes].some(c => c.nodeType === 3 && c.data.trim());
      if (!own || !n.offsetParent) return;
      const bg = background(n);
      const fg = over(rgba(getComputedStyle(n).color), bg);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      out.push({ text: n.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05) });
    });
  });
  return out;
}
"""


def _set_theme(lab: LabPage, name: str, light: bool) -> None:
    lab.js(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{name}'}})")
    lab.page.wait_for_function(
        f"document.body.dataset.jpThemeLight === '{str(light).lower()}'", timeout=30_000
    )
    lab.page.wait_for_timeout(800)  # let the theme's stylesheet apply


@pytest.mark.ui
def test_status_lines_and_cards_are_readable_in_both_themes(lab: LabPage) -> None:
    lab.open("ui_fixtures/themes.ipynb")
    try:
        finished, _ = lab.run_all(120)
        assert finished
        lab.wait_widgets_rendered()
        assert lab.widget_errors() == []
        # the last app's description was removed on purpose: only it is reported
        assert lab.undescribed_figures() == ["app 2: an image without a description"]
        titles = lab.js(
            "[...window.__clUI.notebook().querySelectorAll('.jupyter-widgets img')]"
            ".map(i => i.getAttribute('title'))"
        )
        assert len(titles) == 3 and titles[-1] is None
        assert all(t.startswith("MarginExplorer: contrastive loss") for t in titles[:2])
        measured = {}
        for name, light in (("JupyterLab Dark", False), ("JupyterLab Light", True)):
            _set_theme(lab, name, light)
            ours = lab.js(_CONTRAST_JS, ".cl-status, .cl-card")
            probe = lab.js(_CONTRAST_JS, ".cl-contrast-probe")
            measured[name] = (ours, probe)
            if not light:
                lab.page.screenshot(path=str(SCREENSHOT_DIR / "theme-dark.png"))
        for name, (ours, _) in measured.items():
            texts = {m["text"] for m in ours}
            assert any("progress message" in t for t in texts), (name, texts)
            assert any("margin must be" in t for t in texts), (name, texts)
            assert any("not yet" in t for t in texts) and any("passed" in t for t in texts)
            low = [m for m in ours if m["ratio"] < MIN_CONTRAST]
            assert not low, f"{name}: text below {MIN_CONTRAST}:1: {low}"
            print(name, "lowest contrast", round(min(m["ratio"] for m in ours), 2))
        dark_probe = measured["JupyterLab Dark"][1]
        assert dark_probe and all(m["ratio"] < MIN_CONTRAST for m in dark_probe), dark_probe
    finally:
        _set_theme(lab, "JupyterLab Light", True)
        lab.close_notebook()
