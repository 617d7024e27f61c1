"""Colours of the HTML the package shows (apps' status lines, exercise cards), for any theme.

Text takes the front end's own text colour: JupyterLab's CSS variable, which its dark theme
sets to near-white, with a near-black fallback where the variable does not exist (exported HTML,
other front ends on a white page). Colour that carries meaning (passed / not yet, an error) goes
into borders and glyphs, which need a contrast of 3:1, not into the text, which needs 4.5:1
(WCAG 2.1, 1.4.3 and 1.4.11).
"""

TEXT_COLOUR = "var(--jp-content-font-color1, #1a1a1a)"
"""CSS colour of body text: readable on JupyterLab's light and dark themes and on white."""

ERROR_BORDER = "#D55E00"
"""The colour-blind-safe vermilion of the course's palette, for the border of an error."""
