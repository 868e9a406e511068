"""Small HTML building blocks. Every string that comes from a record goes through :func:`esc`."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .formatting import fmt, is_number

__all__ = ["esc", "fmt", "table", "kv_table", "section", "note", "figure", "is_number",
           "json_block"]


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped (quotes included, so it is safe inside attributes too)."""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "",
          raw: bool = False) -> str:
    """A table; cells are formatted with :func:`fmt` unless ``raw`` (already-safe HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"num" if is_number(v) else ""}">{v if raw else fmt(v)}</td>' for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    cls_attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def kv_table(mapping: Mapping[str, Any]) -> str:
    """A two-column key / value table; nested values are shown as compact JSON."""
    rows = "".join(
        f"<tr><th>{esc(k)}</th><td>{fmt(v)}</td></tr>" for k, v in mapping.items()
    )
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def section(anchor: str, title: str, body: str, intro: str = "") -> str:
    intro_html = f'<p class="intro">{intro}</p>' if intro else ""
    return (f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{intro_html}{body}</section>')


def note(text: str, kind: str = "info") -> str:
    """A callout; ``text`` must already be safe HTML."""
    return f'<div class="note {esc(kind)}">{text}</div>'


def figure(img_html: str, caption: str) -> str:
    return f"<figure>{img_html}<figcaption>{caption}</figcaption></figure>"


def json_block(value: Any, summary: str) -> str:
    text = json.dumps(value, indent=2, default=str, sort_keys=False)
    return f"<details><summary>{esc(summary)}</summary><pre>{esc(text)}</pre></details>"
