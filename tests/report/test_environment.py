"""The report's Jinja2 environment: autoescaping, names missing from a template's data fail,
and the ``num`` filter formats values the way every table of the report shows them."""

from __future__ import annotations

import html
import math

import jinja2
import pytest

from transferkit.report.templating import environment

# A class name that would run if it were not escaped, and a dataset name holding every
# character HTML escapes.
CLASS = "<script>alert(1)</script>"
DATASET = "\"&'<>"

def test_environment_escapes_every_printed_value():
    env = environment()
    out = env.from_string('<p title="{{ v }}">{{ v }}</p>').render(v=DATASET + CLASS)
    assert out == ('<p title="&#34;&amp;&#39;&lt;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">'
                   "&#34;&amp;&#39;&lt;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>")


def test_a_name_missing_from_the_data_fails_loudly():
    env = environment()
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError, match="'suggestoin' is undefined"):
        env.from_string("{{ suggestoin|num }}").render(suggestion=3e-4)


@pytest.mark.parametrize(("value", "shown"), [
    (1234567, "1,234,567"), (0.5, "0.5000"), (3e-4, "3.00e-04"), (1.5e7, "1.50e+07"),
    (2000.0, "2,000"), (0.0, "0"), (math.nan, "n/a"), (None, "&ndash;"), (True, "yes"),
    (math.inf, "&infin;"), (-math.inf, "&minus;&infin;"), (CLASS, html.escape(CLASS)),
    ({"a": "<b>"}, "{&#34;a&#34;: &#34;&lt;b&gt;&#34;}"),
])
def test_num_filter(value, shown):
    assert environment().from_string("{{ v|num }}").render(v=value) == shown
