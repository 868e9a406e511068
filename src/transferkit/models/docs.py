"""Estimator docstrings whose ``Args:`` come from the parameter declarations.

The declarations (:mod:`transferkit.utils.params`) hold each parameter's help once; the
estimators' docstrings, ``help()`` and the command line's ``--help`` all read them.
"""

from __future__ import annotations

from typing import Any

from ..utils.params import Param

__all__ = ["document_params", "merged_params"]


def merged_params(est: Any) -> dict[str, tuple[Param, list[str]]]:
    """Name -> (its declaration, the methods that read it) over the estimator's own table
    (methods ``[]``) and every registered method's; the first declaration of a name wins."""
    out: dict[str, tuple[Param, list[str]]] = {n: (p, []) for n, p in est.PARAMS.items()}
    for method, table in est.method_tables().items():
        for name, p in table.items():
            if name in est.PARAMS:
                continue
            out.setdefault(name, (p, []))[1].append(method)
    return out


def describe(est: Any, name: str, p: Param, methods: list[str]) -> str:
    """One parameter's help: its text, its default (per method where they differ) and the
    methods that read it."""
    tables = est.method_tables()
    defaults: dict[str, list[str]] = {}
    for m in methods:
        defaults.setdefault(repr(tables[m][name].default), []).append(m)
    text = p.help.rstrip(".")
    if len(defaults) > 1:
        shown = "; ".join(f"{d} ({', '.join(ms)})" for d, ms in defaults.items())
        text += f" (default {shown})"
    elif p.default is not None and "default" not in p.help.lower():
        text += f" (default {p.default!r})"
    if methods and len(defaults) <= 1:
        text += f" [{', '.join(methods)}]"
    return text + "."


def _wrap(text: str, first: str, indent: str, width: int = 96) -> str:
    lines, line = [], first
    for w in text.split():
        if len(line) + 1 + len(w) > width:
            lines.append(line)
            line = indent + w
        else:
            line += " " + w
    return "\n".join([*lines, line])


def document_params(est: type) -> type:
    """Fill the ``{params}`` slot of ``est``'s docstring with one entry per parameter."""
    body = "\n".join(_wrap(describe(est, n, p, m), f"        {n}:", " " * 12)
                     for n, (p, m) in merged_params(est).items())
    est.__doc__ = (est.__doc__ or "").replace("{params}", body)
    return est
