"""The report's figures: matplotlib (Agg, no pyplot state) rendered to inline PNG data URIs.

Every function takes plain numbers and strings from a record and returns a :class:`Plot`: the
image as a ``data:`` URI and its alt text, so the page stays a single self-contained file.
Labels from the record are made safe for matplotlib here (``$`` would start mathtext); the
templates escape the alt text for HTML like any other value.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Plot", "learning_curves", "lr_finder", "confusion_heatmap", "class_balance", "bars",
           "data_efficiency", "projection", "shift_gauges", "paired_bars", "optimisation_history"]

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d",
           "#4d7c0f", "#6b7280", "#b45309"]


def _new_figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


class Plot(NamedTuple):
    """One figure: ``src`` is a ``data:image/png;base64`` URI, ``alt`` plain text."""

    src: str
    alt: str


def _img(fig, alt: str) -> Plot:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return Plot(f"data:image/png;base64,{data}", alt)


def _label(text: Any, limit: int = 28) -> str:
    """A record string made safe for matplotlib: no mathtext, bounded length."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    return s.replace("$", r"\$")


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, alpha=0.25, linewidth=0.6)


def learning_curves(history: Sequence[Mapping[str, Any]]) -> Plot:
    """Loss curves (left) and metric curves (right) against the epoch."""
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    keys: list[str] = []
    for h in history:
        keys += [k for k, v in h.items() if k not in keys and _numeric(v)]
    loss_keys = [k for k in keys if k.endswith("loss")]
    metric_keys = [k for k in keys if any(m in k for m in ("acc", "f1", "auc", "score"))
                   and k not in loss_keys]
    lrs = [h.get("lr") for h in history if _numeric(h.get("lr"))]
    lr_keys = ["lr"] if len(set(lrs)) > 1 else []  # a constant rate needs no panel
    panels = [p for p in (("loss", loss_keys), ("metric", metric_keys), ("learning rate", lr_keys))
              if p[1]]
    fig = _new_figure({0: 6.4, 1: 6.4, 2: 9.0}.get(len(panels), 11.0), 3.4)
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for ax, (title, ks) in zip(axes, panels, strict=False):
        for i, k in enumerate(ks):
            xs = [e for e, h in zip(epochs, history, strict=False) if _numeric(h.get(k))]
            ys = [h[k] for h in history if _numeric(h.get(k))]
            ax.plot(xs, ys, marker="o", markersize=3, color=PALETTE[i % len(PALETTE)],
                    label=_label(k), linestyle="--" if k.startswith("train") else "-")
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        if title == "learning rate":
            ax.set_yscale("log")
        ax.legend(fontsize=8, frameon=False)
        _style(ax)
    return _img(fig, "learning curves: " + ", ".join(loss_keys + metric_keys + lr_keys))


def lr_finder(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None) -> Plot:
    fig = _new_figure(6.0, 3.4)
    ax = fig.subplots()
    lrs_a, losses_a = np.asarray(lrs, float), np.asarray(losses, float)
    ok = np.isfinite(lrs_a) & np.isfinite(losses_a) & (lrs_a > 0)
    ax.plot(lrs_a[ok], losses_a[ok], color=PALETTE[0])
    ax.set_xscale("log")
    if suggestion is not None and _numeric(suggestion) and suggestion > 0:
        ax.axvline(suggestion, color=PALETTE[1], linestyle="--",
                   label=f"suggested lr = {suggestion:.2e}")
        ax.legend(fontsize=8, frameon=False)
    if ok.sum() > 3:  # the loss usually explodes at the end; keep the useful range readable
        lo, hi = np.nanmin(losses_a[ok]), np.nanpercentile(losses_a[ok], 95)
        if hi > lo:
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    _style(ax)
    return _img(fig, "learning-rate finder: loss against learning rate")


def confusion_heatmap(cm: Sequence[Sequence[int]], labels: Sequence[str]) -> Plot:
    """Row-normalised heat map (each row: where that true class went); counts when small."""
    m = np.asarray(cm, dtype=float)
    k = m.shape[0]
    rows = m.sum(1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    size = min(9.0, max(4.2, 0.42 * k + 1.8))
    fig = _new_figure(size + 0.9, size)
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class")
    if k <= 40:
        fs = 8 if k <= 20 else 5
        names = [_label(lb, 18) for lb in labels]
        ax.set_xticks(range(k), names, rotation=90, fontsize=fs)
        ax.set_yticks(range(k), names, fontsize=fs)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.55 else "#111827")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return _img(fig, f"confusion matrix, {k} classes")


def class_balance(counts: Mapping[str, int], title: str) -> Plot:
    names = list(counts)
    values = [counts[n] for n in names]
    k = len(names)
    fig = _new_figure(6.4 if k <= 30 else 8.0, 2.8)
    ax = fig.subplots()
    ax.bar(range(k), values, color=PALETTE[0])
    if k <= 30:
        ax.set_xticks(range(k), [_label(n, 16) for n in names], rotation=90 if k > 8 else 0,
                     fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{k} classes")
    ax.set_ylabel("examples")
    ax.set_title(_label(title, 60), fontsize=9)
    _style(ax)
    return _img(fig, f"class balance: {title}")


def bars(names: Sequence[str], columns: Mapping[str, Sequence[float | None]]) -> Plot:
    """One horizontal bar panel per score column (e.g. one per transferability score)."""
    cols = list(columns)
    n = len(names)
    fig = _new_figure(min(3.2 * len(cols), 11.0), max(2.0, 0.35 * n + 1.0))
    axes = fig.subplots(1, len(cols), squeeze=False, sharey=True)[0]
    y = np.arange(n)
    for i, (ax, c) in enumerate(zip(axes, cols, strict=False)):
        vals = [v if _numeric(v) else np.nan for v in columns[c]]
        ax.barh(y, vals, color=PALETTE[i % len(PALETTE)])
        ax.set_title(_label(c), fontsize=9)
        ax.axvline(0, color="#374151", linewidth=0.6)
        _style(ax)
    axes[0].set_yticks(y, [_label(nm, 24) for nm in names], fontsize=8)
    axes[0].invert_yaxis()
    return _img(fig, "scores per backbone: " + ", ".join(cols))


def data_efficiency(curves: Mapping[str, Sequence[tuple[float, float, float, int]]],
                    xlabel: str, ylabel: str) -> Plot:
    """Mean curve per strategy with a band of +/- one standard deviation over seeds.

    ``curves[strategy]`` is a list of ``(x, mean, std, n_seeds)``.
    """
    fig = _new_figure(6.4, 3.8)
    ax = fig.subplots()
    xs_all = [p[0] for pts in curves.values() for p in pts]
    for i, (name, pts) in enumerate(curves.items()):
        pts = sorted(pts)
        x = np.array([p[0] for p in pts], float)
        mu = np.array([p[1] for p in pts], float)
        sd = np.array([p[2] for p in pts], float)
        color = PALETTE[i % len(PALETTE)]
        ax.plot(x, mu, marker="o", markersize=4, color=color, label=_label(name))
        ax.fill_between(x, mu - sd, mu + sd, color=color, alpha=0.18, linewidth=0)
    if xs_all and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 10:
        ax.set_xscale("log")
    ax.set_xlabel(_label(xlabel, 40))
    ax.set_ylabel(_label(ylabel, 40))
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return _img(fig, f"data efficiency: {ylabel} against {xlabel} per strategy")


def projection(groups: Mapping[str, Sequence[Sequence[float]]], title: str) -> Plot:
    """2-D scatter of feature projections, one colour per group (source / target)."""
    fig = _new_figure(5.6, 4.4)
    ax = fig.subplots()
    for i, (name, pts) in enumerate(groups.items()):
        a = np.asarray(pts, dtype=float).reshape(-1, 2)
        ax.scatter(a[:, 0], a[:, 1], s=9, alpha=0.55, color=PALETTE[i % len(PALETTE)],
                   label=f"{_label(name)} (n={len(a)})", linewidths=0)
    ax.legend(fontsize=8, frameon=False, markerscale=2)
    ax.set_title(_label(title, 60), fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return _img(fig, f"2-D projection: {title}")


def shift_gauges(scores: Sequence[tuple[str, float, float, float, str]]) -> Plot:
    """Each shift score on its own scale: ``(name, value, no_shift, full_shift, note)``."""
    fig = _new_figure(6.4, 0.75 * len(scores) + 0.6)
    axes = fig.subplots(len(scores), 1, squeeze=False)[:, 0]
    for ax, (name, value, lo, hi, hint) in zip(axes, scores, strict=False):
        ax.axhspan(-0.5, 0.5, xmin=0, xmax=1, color="#e5e7eb")
        frac = 0.0 if hi == lo else (min(max(value, min(lo, hi)), max(lo, hi)) - lo) / (hi - lo)
        ax.barh([0], [frac], color=PALETTE[1] if frac > 0.5 else PALETTE[0], height=0.6)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, 0.5)
        ax.set_yticks([])
        ax.set_xticks([0, 1], [f"{lo:g} (no shift)", f"{hi:g} (shift)"], fontsize=7)
        ax.set_title(f"{_label(name, 40)} = {value:.4g}   {_label(hint, 50)}", fontsize=8,
                     loc="left")
        for s in ax.spines.values():
            s.set_visible(False)
    return _img(fig, "shift scores on their scales: " + ", ".join(s[0] for s in scores))


def paired_bars(names: Sequence[str], values: Sequence[float], ylabel: str) -> Plot:
    fig = _new_figure(4.8, 3.2)
    ax = fig.subplots()
    x = np.arange(len(names))
    ax.bar(x, values, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.4f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [_label(n, 20) for n in names], fontsize=8)
    ax.set_ylabel(_label(ylabel))
    ax.set_ylim(0, max(1.0, max(values, default=1) * 1.1))
    _style(ax)
    return _img(fig, f"{ylabel}: " + ", ".join(names))


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def optimisation_history(numbers: Sequence[int], values: Sequence[float | None],
                         states: Sequence[str], best: Sequence[float | None]) -> Plot:
    """A search's trials: each trial's validation score (pruned ones at their last reported
    epoch, hollow) and the running best."""
    fig = _new_figure(6.4, 3.2)
    ax = fig.subplots()
    for state, marker, face in (("complete", "o", PALETTE[0]), ("pruned", "o", "none")):
        pts = [(n, v) for n, v, s in zip(numbers, values, states, strict=True)
               if s == state and _numeric(v)]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.scatter(xs, ys, marker=marker, facecolors=face, edgecolors=PALETTE[0], s=22,
                       label=state)
    line = [(n, b) for n, b in zip(numbers, best, strict=True) if _numeric(b)]
    if line:
        xs, ys = zip(*line, strict=True)
        ax.step(xs, ys, where="post", color=PALETTE[1], linewidth=1.4, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation accuracy")
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return _img(fig, "optimisation history: validation accuracy per trial and the running best")


def pretext_curve(points: Sequence[Mapping[str, Any]],
                  held_out: Sequence[tuple[float, float]] = ()) -> Plot:
    """The pretext loss against the optimiser step: training (windows averaged) and, as
    markers, the held-out loss at step 0 and after each epoch."""
    fig = _new_figure(6.4, 3.4)
    ax = fig.subplots()
    xs = [p["step"] for p in points if _numeric(p.get("loss"))]
    ys = [p["loss"] for p in points if _numeric(p.get("loss"))]
    ax.plot(xs, ys, color=PALETTE[0], label="training (pretext)")
    if held_out:
        ax.plot([s for s, _ in held_out], [v for _, v in held_out], marker="o",
                color=PALETTE[1], linestyle="--", label="held out")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("pretext loss")
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return _img(fig, "pretext loss against the optimiser step")
