"""Numbers and statements as Markdown (MyST), shared by the book's assets and its Sphinx extension."""

from __future__ import annotations

import math

__all__ = ["fmt", "math_block", "math_md", "split_statement"]


def fmt(x, digits: int = 3) -> str:
    """A number as Markdown: ``$m \\times 10^{e}$`` below 1e-3 or from 1e5 on, else ``digits`` significant digits.

    Integers are written in full, booleans as yes/no, strings unchanged, ``None`` as "n/a"; a list (the values of a
    swept parameter) as its items separated by commas, numbers as a config writes them (``%g``).
    """
    if x is None:
        return "n/a"
    if isinstance(x, list | tuple):
        return ", ".join(v if isinstance(v, str) else fmt(v) if isinstance(v, bool) else f"{float(v):g}" for v in x)
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
    """A one-line LaTeX statement as inline MyST math (unchanged if it already has ``$``).

    Each top-level ``;``-separated part (:func:`split_statement`) is its own formula, so a long statement can
    break between its parts."""
    text = str(text).strip()
    if not text or "$" in text:
        return text
    return "; ".join(f"${part}$" for part in split_statement(text))


def split_statement(text: str) -> list[str]:
    """Split a LaTeX statement at its top-level semicolons (outside every brace), dropping the spacing after them.

    ``a = b;\\ c = d`` -> ``["a = b", "c = d"]``; a ``;`` inside ``\\text{...}`` or any group stays.
    """
    parts, depth, cur = [], 0, []
    i, s = 0, str(text).strip()
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        depth += ch == "{"
        depth -= ch == "}"
        if ch == ";" and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            i += 1
            while s.startswith(("\\ ", "\\quad", "\\,", "\\;", " "), i):
                i += 1 if s[i] == " " else (5 if s.startswith("\\quad", i) else 2)
            continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def math_block(text: str, indent: str = "") -> str:
    """A LaTeX statement as MyST display math, one line per top-level ``;``-separated part (``gathered``)."""
    parts = split_statement(text)
    if len(parts) <= 1:
        body = parts[0] if parts else ""
    else:
        body = "\\begin{gathered}" + " \\\\ ".join(parts) + "\\end{gathered}"
    return f"{indent}$$\n{indent}{body}\n{indent}$$"
