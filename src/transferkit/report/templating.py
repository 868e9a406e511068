"""The report's Jinja2 environment: every template is HTML, so every printed value is escaped.

Record strings (dataset, class and backbone names, config values) reach the page only through
``{{ ... }}``, which autoescaping turns into text. ``StrictUndefined`` makes a name a template
uses but its data lacks an error, so a typo fails in the tests instead of printing nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

from .formatting import fmt, is_number, pretty_json

__all__ = ["environment", "render"]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one environment: templates from ``transferkit/report/templates``, shared filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("transferkit.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt
    env.filters["pretty_json"] = pretty_json
    env.tests["numeric"] = is_number
    return env


def render(template: str, **data: Any) -> Markup:
    """Render ``template`` with ``data``; the result is safe HTML (it came out of autoescape)."""
    return Markup(environment().get_template(template).render(**data))
