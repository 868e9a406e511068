"""Read the ``Args:`` section of Google-style docstrings, so CLI help and library docs agree."""

from __future__ import annotations

import inspect
import re

__all__ = ["arg_docs"]

_ARG = re.compile(r"^(\s*)(\*{0,2}\w+)(?: \([^)]*\))?:\s*(.*)$")


def arg_docs(obj: object) -> dict[str, str]:
    """Map each argument named in ``obj``'s ``Args:`` section to its one-paragraph description."""
    doc = inspect.getdoc(obj) or ""
    out: dict[str, str] = {}
    in_args, indent, current = False, None, None
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            in_args, indent, current = True, None, None
            continue
        if not in_args:
            continue
        if line.strip() and not line.startswith(" "):
            break  # next section (Returns:, Example:, ...)
        m = _ARG.match(line)
        if m and (indent is None or len(m.group(1)) == indent):
            indent = len(m.group(1))
            current = m.group(2).lstrip("*")
            out[current] = m.group(3).strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
    # Terminal help shows text, not reST: ``x`` and :func:`y` read as x and y.
    return {k: re.sub(r":\w+:`~?([^`]+)`", r"\1", v).replace("``", "") for k, v in out.items()}
