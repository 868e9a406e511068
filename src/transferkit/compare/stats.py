"""Statistics of a comparison: paired differences, the transfer verdict, data efficiency.

Every strategy in a comparison is fitted on the *same* sample for a given amount of data and
seed, so transfer and scratch form pairs, and the test is on paired differences. With few
seeds a t-test leans hard on normality, so the p-value is an exact sign-flip permutation test
of the mean difference (all 2^n flips up to n = 16 pairs, 20,000 random ones beyond).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["paired_test", "transfer_verdict", "data_efficiency", "efficiency_points",
           "cell_summary", "is_reference", "stronger_reference", "VERDICTS", "REFERENCES"]

VERDICTS = ("transfer helps", "no clear difference", "negative transfer")
#: the no-transfer references a verdict is taken against (``baseline:<kind>`` counts too)
REFERENCES = ("scratch", "baseline")


def is_reference(name: str) -> bool:
    """Whether strategy ``name`` uses no transfer (``scratch``, ``baseline``,
    ``baseline:<kind>``)."""
    return name in REFERENCES or str(name).startswith("baseline:")


def stronger_reference(table: pd.DataFrame, metric: str,
                       candidates: Any = None) -> tuple[str | None, dict[str, float]]:
    """The no-transfer reference with the highest mean ``metric`` over all its cells, and
    the mean of each reference present."""
    names = [s for s in dict.fromkeys(table.strategy)
             if (is_reference(s) if candidates is None else s in candidates)]
    means = {s: float(table[table.strategy == s][metric].mean()) for s in names}
    if not means:
        return None, {}
    return max(means, key=lambda s: means[s]), means


def paired_test(diffs: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Mean, std, 95% interval and two-sided sign-flip p-value of paired differences."""
    d = np.asarray(diffs, dtype=np.float64)
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    std = float(d.std(ddof=1)) if n > 1 else 0.0
    if n == 0:
        return {"n_pairs": 0, "mean_diff": mean, "std": std, "ci95": [mean, mean], "p_value": 1.0}
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((1.0, -1.0), size=(20_000, n))
    null = np.abs((signs * d).mean(axis=1))
    # The observed sign pattern counts as one of the draws, so p is never exactly 0.
    p = float((np.sum(null >= abs(mean) - 1e-12) + (n > 16)) / (len(signs) + (n > 16)))
    half = 1.96 * std / math.sqrt(n) if n > 1 else 0.0
    return {"n_pairs": n, "mean_diff": mean, "std": std,
            "ci95": [mean - half, mean + half], "p_value": min(1.0, p)}


def cell_summary(table: pd.DataFrame, metric: str, xkey: str) -> pd.DataFrame:
    """Mean, std and count of ``metric`` per strategy and amount of data."""
    g = table.groupby(["strategy", xkey], sort=False)[metric]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def _pairs(table: pd.DataFrame, metric: str, xkey: str, a: str, b: str) -> pd.DataFrame:
    """Rows ``(x, seed, a_metric, b_metric)`` where both strategies ran."""
    ta = table[table.strategy == a][[xkey, "seed", metric]]
    tb = table[table.strategy == b][[xkey, "seed", metric]]
    return ta.merge(tb, on=[xkey, "seed"], suffixes=("_a", "_b"))


def transfer_verdict(table: pd.DataFrame, metric: str, xkey: str,
                     baseline: str | Sequence[str] | None = "scratch",
                     alpha: float = 0.05, min_effect: float = 0.005) -> dict[str, Any]:
    """Does transfer beat training from scratch, beyond seed-to-seed noise?

    ``baseline`` names the no-transfer reference; several names (or ``None``: every
    reference in the table, :func:`is_reference`) mean the **stronger** of them, the one
    with the highest mean ``metric``, and the result says which (``"reference"``, with the
    mean of each in ``"references"``). Each transfer strategy (not a reference, not
    ``zeroshot``) is paired with it on every (amount, seed) cell. The
    verdict is about the best transfer strategy (highest mean ``metric``): "transfer helps" when
    its mean gain is positive with sign-flip p < ``alpha`` and at least ``min_effect``,
    "negative transfer" when the mean difference is negative under the same test, otherwise
    "no clear difference". Per-amount readings say where each holds.

    Returns:
        ``{"verdict", "best", "reference", "references", "reason", "tests": {strategy:
        {...}}, "per_amount": [...]}``; ``verdict`` is None when there is no reference to
        compare with.
    """
    wanted = [baseline] if isinstance(baseline, str) else (None if baseline is None
                                                           else list(baseline))
    chosen, ref_means = stronger_reference(table, metric, wanted)
    strategies = [s for s in dict.fromkeys(table.strategy)
                  if not is_reference(s) and s != "zeroshot" and s != chosen]
    if chosen is None or not strategies:
        need = " or ".join(repr(b) for b in (wanted or REFERENCES))
        return {"verdict": None, "best": None, "reference": chosen, "references": ref_means,
                "tests": {}, "per_amount": [],
                "reason": f"no verdict: the comparison needs {need} and at least one "
                          f"transfer strategy (add {need} to strategies)."}
    stronger = ""
    if len(ref_means) > 1:
        others = ", ".join(f"{s} {m:.3f}" for s, m in ref_means.items() if s != chosen)
        stronger = (f" (against {chosen}, the stronger no-transfer reference: mean {metric} "
                    f"{ref_means[chosen]:.3f} vs {others})")
    baseline = chosen
    tests: dict[str, Any] = {}
    for s in strategies:
        pr = _pairs(table, metric, xkey, s, baseline)
        diffs = (pr[f"{metric}_a"] - pr[f"{metric}_b"]).to_numpy()
        t = paired_test(diffs)
        t["wins"] = int((diffs > 0).sum())
        t["losses"] = int((diffs < 0).sum())
        tests[s] = t
    means = table.groupby("strategy")[metric].mean()
    best = max(strategies, key=lambda s: means.get(s, -np.inf))
    bt = tests[best]
    gap = f"{bt['mean_diff']:+.3f} {metric} (95% interval {bt['ci95'][0]:+.3f} to " \
          f"{bt['ci95'][1]:+.3f}, sign-flip p = {bt['p_value']:.3g}, {bt['n_pairs']} pairs)"
    if bt["p_value"] < alpha and bt["mean_diff"] >= min_effect:
        verdict = "transfer helps"
        reason = f"{best} beats {baseline} by {gap}{stronger}."
    elif bt["p_value"] < alpha and bt["mean_diff"] <= -min_effect:
        verdict = "negative transfer"
        reason = (f"even the best transfer strategy, {best}, is worse than {baseline} by "
                  f"{gap}{stronger}: "
                  "the pre-trained features hurt on this task. Try another backbone "
                  "(`transferkit rank`), fine-tune more layers, or train from scratch.")
    else:
        verdict = "no clear difference"
        reason = (f"{best} vs {baseline}: {gap}{stronger}; the difference is within "
                  "seed-to-seed noise"
                  + (" (more seeds would narrow it)." if bt["n_pairs"] < 10 else "."))
    per_amount = []
    for x, grp in _pairs(table, metric, xkey, best, baseline).groupby(xkey, sort=True):
        d = (grp[f"{metric}_a"] - grp[f"{metric}_b"]).to_numpy()
        t = paired_test(d)
        if t["p_value"] < alpha and t["mean_diff"] >= min_effect:
            v = "transfer helps"
        elif t["p_value"] < alpha and t["mean_diff"] <= -min_effect:
            v = "negative transfer"
        elif t["n_pairs"] < 6 and abs(t["mean_diff"]) >= min_effect and (
                np.all(d > 0) or np.all(d < 0)):
            # Too few seeds for the test to reach alpha, but every seed agrees: say so.
            v = "transfer helps (every seed)" if t["mean_diff"] > 0 else \
                "negative transfer (every seed)"
        else:
            v = "no clear difference"
        per_amount.append({xkey: plain(x), "mean_diff": t["mean_diff"], "p_value": t["p_value"],
                           "n_pairs": t["n_pairs"], "reading": v})
    return {"verdict": verdict, "best": best, "reference": baseline, "references": ref_means,
            "reason": reason, "tests": tests, "per_amount": per_amount}


def efficiency_points(summary: pd.DataFrame, xkey: str, best: str | None,
                      baseline: str = "scratch") -> dict[str, Any] | None:
    """Where the reference ``baseline`` reaches what ``best`` reaches at its smallest amount.

    The target is ``best``'s mean at the smallest amount measured (``x0``); the amount at
    which ``baseline`` reaches it is interpolated linearly in the metric against
    ``log(amount)`` between the two measured amounts around the first crossing.

    Returns:
        ``{"strategy", "reference", "x0", "target", "points": [[x, mean], ...] (the
        reference's measured curve), "matched_at": x or None, "between": [x_lo, x_hi] or
        None, "ratio": matched_at / x0 or None, "status"}`` with ``status`` one of
        ``"interpolated"``, ``"at_smallest"`` (the reference is as good from the start) and
        ``"never"`` (above the reference at every amount measured); None without data.
    """
    if best is None:
        return None
    s = summary[summary.strategy == baseline].sort_values(xkey)
    t = summary[summary.strategy == best].sort_values(xkey)
    if s.empty or t.empty:
        return None
    x0, a0 = float(t.iloc[0][xkey]), float(t.iloc[0]["mean"])
    xs, ms = s[xkey].astype(float).to_numpy(), s["mean"].astype(float).to_numpy()
    out: dict[str, Any] = {"strategy": best, "reference": baseline, "xkey": xkey, "x0": x0,
                           "target": a0, "points": [[float(x), float(m)] for x, m in
                                                    zip(xs, ms, strict=True)],
                           "matched_at": None, "between": None, "ratio": None}
    hit = np.flatnonzero(ms >= a0)
    if not len(hit):
        out["status"] = "never"
        return out
    i = int(hit[0])
    if i == 0:
        out.update(status="at_smallest", matched_at=float(xs[0]), ratio=float(xs[0] / x0))
        return out
    lo, hi = np.log(xs[i - 1]), np.log(xs[i])
    w = (a0 - ms[i - 1]) / (ms[i] - ms[i - 1]) if ms[i] > ms[i - 1] else 1.0
    x = float(np.exp(lo + w * (hi - lo)))
    out.update(status="interpolated", matched_at=x, between=[float(xs[i - 1]), float(xs[i])],
               ratio=x / x0)
    return out


def data_efficiency(summary: pd.DataFrame, xkey: str, best: str | None,
                    baseline: str = "scratch") -> str | None:
    """"<best> with 1% of the labels (0.87) is reached by <baseline> at ~23% (interpolated on
    a log scale between 20% and 100%): 23x the labels" — how many labels transfer saves."""
    e = efficiency_points(summary, xkey, best, baseline)
    if e is None:
        return None
    unit = "labels" if xkey == "n_labels" else ("shots per class" if xkey == "shots"
                                                else "of the labels")

    def amount(x: float) -> str:
        return f"{100 * x:.3g}% {unit}" if xkey == "fraction" else f"{x:.3g} {unit}"

    pts = ", ".join(f"{amount(x).split(' ')[0]}: {m:.3f}" for x, m in e["points"])
    head = f"{best} with {amount(e['x0'])} ({e['target']:.3f})"
    if e["status"] == "never":
        return (f"{head} is above {baseline} at every amount measured, up to "
                f"{amount(e['points'][-1][0])} ({baseline}: {pts}).")
    if e["status"] == "at_smallest":
        return (f"{baseline} matches {best} already at the smallest amount measured "
                f"({amount(e['matched_at'])}): transfer saves no labels here ({baseline}: "
                f"{pts}).")
    lo, hi = e["between"]
    return (f"{head} is reached by {baseline} at about {amount(e['matched_at'])} "
            f"(interpolated on a log scale between {amount(lo).split(' ')[0]} and "
            f"{amount(hi).split(' ')[0]}; {baseline}: {pts}): {e['ratio']:.3g}x the labels.")


def plain(v: Any) -> Any:
    """A NumPy scalar as a Python one, and NaN/inf as None: ready for a JSON record."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
