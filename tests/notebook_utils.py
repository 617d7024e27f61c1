"""Shared helpers for the tests that read or execute the lesson notebooks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def lesson_notebooks() -> list[Path]:
    """Every lesson notebook, discovered, so a new lesson is tested the moment it lands."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
