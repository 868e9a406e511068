"""Statistics of a comparison: paired differences, the transfer verdict, data efficiency.

Every strategy in a comparison is fitted on the *same* sample for a given amount of data and
seed, so transfer and scratch form pairs, and the test is on paired differences. With few
seeds a t-test leans hard on normality, so the p-value is an exact sign-flip permutation test
of the mean difference (all 2^n flips up to n = 16 pairs, 20,000 random ones beyond).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["paired_test", "transfer_verdict", "data_efficiency", "cell_summary", "VERDICTS"]

VERDICTS = ("transfer helps", "no clear difference", "negative transfer")


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


def transfer_verdict(table: pd.DataFrame, metric: str, xkey: str, baseline: str = "scratch",
                     alpha: float = 0.05, min_effect: float = 0.005) -> dict[str, Any]:
    """Does transfer beat training from scratch, beyond seed-to-seed noise?

    Each non-baseline strategy is paired with ``baseline`` on every (amount, seed) cell. The
    verdict is about the best transfer strategy (highest mean ``metric``): "transfer helps" when
    its mean gain is positive with sign-flip p < ``alpha`` and at least ``min_effect``,
    "negative transfer" when the mean difference is negative under the same test, otherwise
    "no clear difference". Per-amount readings say where each holds.

    Returns:
        ``{"verdict", "best", "reason", "tests": {strategy: {...}}, "per_amount": [...]}``;
        ``verdict`` is None when there is no baseline to compare with.
    """
    strategies = [s for s in dict.fromkeys(table.strategy) if s != baseline]
    if baseline not in set(table.strategy) or not strategies:
        return {"verdict": None, "best": None, "tests": {}, "per_amount": [],
                "reason": f"no verdict: the comparison needs {baseline!r} and at least one "
                          f"transfer strategy (add '{baseline}' to strategies)."}
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
        reason = f"{best} beats {baseline} by {gap}."
    elif bt["p_value"] < alpha and bt["mean_diff"] <= -min_effect:
        verdict = "negative transfer"
        reason = (f"even the best transfer strategy, {best}, is worse than {baseline} by {gap}: "
                  "the pre-trained features hurt on this task. Try another backbone "
                  "(`transferkit rank`), fine-tune more layers, or train from scratch.")
    else:
        verdict = "no clear difference"
        reason = (f"{best} vs {baseline}: {gap}; the difference is within seed-to-seed noise"
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
    return {"verdict": verdict, "best": best, "reason": reason, "tests": tests,
            "per_amount": per_amount}


def data_efficiency(summary: pd.DataFrame, xkey: str, best: str | None,
                    baseline: str = "scratch") -> str | None:
    """"<best> with N labels matches scratch with M" — how many labels transfer saves."""
    if best is None:
        return None
    s = summary[summary.strategy == baseline].sort_values(xkey)
    t = summary[summary.strategy == best].sort_values(xkey)
    if s.empty or t.empty:
        return None
    unit = "labels" if xkey == "n_labels" else ("shots per class" if xkey == "shots"
                                                else "of the labels")
    x0, a0 = t.iloc[0][xkey], float(t.iloc[0]["mean"])

    def amount(x: float) -> str:
        return f"{100 * x:g}% {unit}" if xkey == "fraction" else f"{x:g} {unit}"

    reached = s[s["mean"] >= a0]
    if reached.empty:
        return (f"{best} with {amount(x0)} ({a0:.3f}) is above {baseline} at every amount "
                f"tried, up to {amount(s[xkey].max())} ({float(s['mean'].iloc[-1]):.3f}).")
    x1 = reached.iloc[0][xkey]
    if x1 <= x0:
        return (f"{baseline} matches {best} already at the smallest amount tried "
                f"({amount(x1)}): transfer saves no labels here.")
    return (f"{best} with {amount(x0)} ({a0:.3f}) matches {baseline} with {amount(x1)} "
            f"({float(reached.iloc[0]['mean']):.3f}): {x1 / x0:.3g}x the labels for scratch.")


def plain(v: Any) -> Any:
    """A NumPy scalar as a Python one, and NaN/inf as None: ready for a JSON record."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
