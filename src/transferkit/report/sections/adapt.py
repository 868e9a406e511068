"""Unsupervised domain adaptation: source-only vs adapted accuracy, validators, projection."""

from __future__ import annotations

from .. import plots
from ..html import esc, figure, fmt, is_number, kv_table, section, table
from .shift import render_projection

__all__ = ["render"]


def _validators(v: object) -> str:
    if not isinstance(v, dict) or not v:
        return ""
    if all(is_number(x) for x in v.values()):
        rows = [(k, x) for k, x in v.items()]
        return "<h3>Validators (model selection without target labels)</h3>" + table(
            ["validator", "score"], rows)
    if all(isinstance(x, dict) for x in v.values()):
        cols: list[str] = []
        for x in v.values():
            cols += [k for k in x if k not in cols]
        rows = [[k] + [x.get(c) for c in cols] for k, x in v.items()]
        return ("<h3>Validators (model selection without target labels)</h3>"
                f'<div class="scroll">{table(["validator"] + cols, rows)}</div>')
    return "<h3>Validators</h3>" + kv_table(v)


def render(record: dict) -> str:
    ad = record.get("adapt")
    if not isinstance(ad, dict) or not ad:
        return ""
    parts = []
    method = ad.get("method")
    src, tgt = ad.get("source_only_accuracy"), ad.get("target_accuracy")
    if method:
        parts.append(f"<p>Method: <b>{esc(method)}</b></p>")
    tuned = ad.get("source_finetune")
    if isinstance(tuned, dict):
        parts.append("<h3>Encoder fine-tuned on the source first</h3><p>The method adapted "
                     "the features of this tuned encoder, not the pre-trained ones.</p>"
                     + kv_table(tuned))
    if is_number(src) and is_number(tgt):
        gain = tgt - src
        parts.append(
            f'<div class="tiles"><div class="tile"><div class="v">{fmt(float(src))}</div>'
            '<div class="k">source-only accuracy on target</div></div>'
            f'<div class="tile"><div class="v">{fmt(float(tgt))}</div>'
            '<div class="k">adapted accuracy on target</div></div>'
            f'<div class="tile {"good" if gain >= 0 else "bad"}"><div class="v">'
            f'{"+" if gain >= 0 else "&minus;"}{fmt(abs(float(gain)))}</div>'
            '<div class="k">gain from adaptation</div></div></div>')
        parts.append(figure(plots.paired_bars(["source only", str(method or "adapted")],
                                              [float(src), float(tgt)], "target accuracy"),
                            "Accuracy on the target domain before and after adaptation."))
    elif is_number(tgt):
        parts.append(f"<p>Target accuracy: <b>{fmt(float(tgt))}</b></p>")
    parts.append(_validators(ad.get("validators")))
    parts.append(render_projection(ad.get("projection"), "adapted source and target"))
    known = {"method", "source_only_accuracy", "target_accuracy", "validators", "projection",
             "verdict", "source_finetune"}
    extra = {k: v for k, v in ad.items() if k not in known}
    if extra:
        parts.append(kv_table(extra))
    body = "".join(p for p in parts if p)
    if not body:
        return ""
    return section("adapt", "Domain adaptation", body)
