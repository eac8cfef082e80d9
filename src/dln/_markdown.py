"""Numbers and statements as Markdown (MyST), shared by the book's assets and its Sphinx extension."""

from __future__ import annotations

import math

__all__ = ["fmt", "math_md"]


def fmt(x, digits: int = 3) -> str:
    """A number as Markdown: ``$m \\times 10^{e}$`` below 1e-3 or from 1e5 on, else ``digits`` significant digits.

    Integers are written in full, booleans as yes/no, strings unchanged, ``None`` as "n/a".
    """
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        return f"${mant} \\times 10^{{{int(exp)}}}$"
    return f"{x:.{digits}g}"


def math_md(text: str) -> str:
    """A one-line LaTeX statement as inline MyST math (unchanged if it already has ``$``)."""
    text = str(text).strip()
    return "" if not text else (text if "$" in text else f"${text}$")
