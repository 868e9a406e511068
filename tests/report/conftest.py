"""Run folders of every kind for the report tests: synthetic-but-realistic records written the
way the commands write them, plus one real tiny fit (sklearn digits, tabular-mlp probe).

``REPORT_RUNS[name] = (folder, key strings the page must show)``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml

from transferkit.evaluation import classification_metrics
from transferkit.runs import RECORD_SCHEMA, write_record

# Labels that must be escaped in HTML and must not start mathtext in matplotlib.
NASTY = "<script>alert('x')</script> & $a$"


def _base(kind: str, rng: np.random.Generator) -> dict:
    return {
        "schema_version": RECORD_SCHEMA,
        "kind": kind,
        "created": datetime(2026, 3, 14, 9, 26, 53, tzinfo=timezone.utc).isoformat(),
        "config": {"backbone": "minilm-l6", "strategy": "finetune", "seed": 7, "lr": 3e-4,
                   "epochs": 8, "batch_size": 32},
        "seed": 7,
        "environment": {"python": "3.11.7", "transferkit": "0.1.0", "torch": "2.13.0+cpu",
                        "numpy": "2.4.6", "device": "cpu", "cpu_count": 2},
    }


def _metrics(labels: list[str], n: int, acc: float, rng: np.random.Generator) -> dict:
    k = len(labels)
    y = rng.integers(0, k, n)
    wrong = rng.random(n) > acc
    # confusions concentrate on the next class, as real ones concentrate on similar classes
    pred = np.where(wrong, (y + 1 + (rng.random(n) < 0.3) * rng.integers(0, k, n)) % k, y)
    proba = np.full((n, k), 0.1 / k)
    proba[np.arange(n), pred] += 0.9
    return classification_metrics(y, pred, labels, proba)


def fit_record(rng: np.random.Generator, labels: list[str], epochs: int = 8) -> dict:
    rec = _base("fit", rng)
    n_train = 40 * len(labels)
    counts = {lb: int(c) for lb, c in zip(labels, rng.integers(25, 55, len(labels)), strict=False)}
    rec["dataset"] = {
        "train": {"name": "banking-sample", "modality": "text", "n": n_train,
                  "n_classes": len(labels), "class_counts": counts},
        "test": {"name": "banking-sample", "modality": "text", "n": 12 * len(labels),
                 "n_classes": len(labels)},
        "source": "banking-sample.csv",
    }
    rec["backbone"] = {"name": "minilm-l6", "modality": "text", "num_features": 384,
                       "num_params": 22713216, "trainable_params": 7097856,
                       "license": "Apache-2.0", "layer_groups": ["embeddings"] +
                       [f"encoder.layer.{i}" for i in range(6)]}
    rec["strategy"] = {"name": "finetune", "head": "linear", "unfreeze": "top-2",
                       "trainable_params": 7097856,
                       "head_init": {"kind": "probe", "C": 3.0, "temperature": 2.4}}
    lrs = np.r_[np.linspace(1e-5, 3e-4, 3), 3e-4 * 0.5 ** np.arange(1, epochs - 2)]
    rec["history"] = [
        {"epoch": e + 1, "train_loss": round(2.2 * 0.72 ** e + 0.05, 4),
         "val_loss": round(2.0 * 0.78 ** e + 0.25 + 0.02 * max(0, e - 5), 4),
         "val_accuracy": round(min(0.93, 0.35 + 0.1 * e), 4), "lr": float(lrs[e]),
         "seconds": 11.5}
        for e in range(epochs)
    ]
    rec["metrics"] = _metrics(labels, 12 * len(labels), 0.87, rng)
    rec["timings"] = {"fit_seconds": 93.2, "total_seconds": 101.7}
    return rec


def lr_find_record(rng: np.random.Generator) -> dict:
    rec = fit_record(rng, ["card_arrival", "card_linking", "exchange_rate", "top_up_failed"])
    lrs = np.logspace(-7, 0, 60)
    loss = 2.3 - 1.6 / (1 + np.exp(-(np.log10(lrs) + 4.5) * 2)) + np.where(lrs > 0.05, 4 * lrs, 0)
    rec["lr_find"] = {"lrs": lrs.tolist(), "losses": (loss + rng.normal(0, 0.02, 60)).tolist(),
                      "suggestion": 2.1e-4}
    return rec


def compare_record(rng: np.random.Generator) -> dict:
    rec = _base("compare", rng)
    rec["dataset"] = {"train": {"name": "banking77", "modality": "text", "n": 10003,
                                "n_classes": 77}}
    base = {"finetune": 0.62, "probe": 0.55, "scratch": 0.12}
    gain = {"finetune": 0.30, "probe": 0.30, "scratch": 0.55}
    rows = []
    for strat in base:
        for frac in (0.05, 0.1, 0.25, 0.5, 1.0):
            for seed in range(3):
                acc = base[strat] + gain[strat] * np.sqrt(frac) + rng.normal(0, 0.015)
                rows.append({"strategy": strat, "fraction": frac, "n_labels": int(frac * 10003),
                             "seed": seed, "accuracy": round(float(min(acc, 0.99)), 4)})
    rec["compare"] = {
        "table": rows,
        "verdict": "transfer helps: finetune beats scratch at every fraction (largest gap "
                   "0.4951 at 5% of labels)",
        "data_efficiency": "finetune with 5% of the labels beats scratch with 100%",
    }
    return rec


def rank_record(rng: np.random.Generator) -> dict:
    rec = _base("rank", rng)
    rec["dataset"] = {"train": {"name": "banking77", "modality": "text", "n": 2000,
                                "n_classes": 77}}
    names = ["minilm-l6", "hf:sentence-transformers/all-mpnet-base-v2", "tabular-mlp",
             "random:minilm-l6"]
    table = []
    for i, nm in enumerate(names):
        table.append({"backbone": nm, "logme": round(1.9 - 0.55 * i + rng.normal(0, 0.01), 4),
                      "leep": round(-1.2 - 0.4 * i, 4), "nce": round(-1.5 - 0.3 * i, 4),
                      "hscore": round(14.0 - 3.1 * i, 4), "knn": round(0.86 - 0.18 * i, 4),
                      "seconds": round(4.2 + i, 2)})
    rec["rank"] = {"table": table, "scores": ["logme", "leep", "nce", "hscore", "knn"],
                   "readings": {"best": "minilm-l6 ranks first on all five scores",
                                "agreement": "Kendall tau between scores: 1.00"}}
    return rec


def shift_record(rng: np.random.Generator) -> dict:
    rec = _base("shift", rng)
    rec["dataset"] = {"train": {"name": "reviews:books", "modality": "text", "n": 1600,
                                "n_classes": 2},
                      "test": {"name": "reviews:kitchen", "modality": "text", "n": 1600,
                               "n_classes": 2}}
    src = rng.normal(0, 1, (150, 2))
    tgt = rng.normal(0, 1, (150, 2)) + [1.8, 0.6]
    rec["shift"] = {"mmd": 0.0834, "p_value": 0.0009, "proxy_a_distance": 1.4213,
                    "c2st_auc": 0.8731, "per_class": {"negative": 0.0712, "positive": 0.0968},
                    "verdict": "strong shift: a classifier tells source from target "
                               "(AUC 0.8731); expect a drop without adaptation",
                    "projection": {"method": "pca", "source": src.round(4).tolist(),
                                   "target": tgt.round(4).tolist()}}
    return rec


def adapt_record(rng: np.random.Generator) -> dict:
    rec = _base("adapt", rng)
    rec["dataset"] = {"train": {"name": "digits-source", "modality": "tabular", "n": 900,
                                "n_classes": 10}}
    src = rng.normal(0, 1, (120, 2))
    tgt = rng.normal(0, 1, (120, 2)) + [0.4, 0.1]
    rec["adapt"] = {"method": "dann", "source_only_accuracy": 0.6125, "target_accuracy": 0.7342,
                    "validators": {"dev": {"score": -0.4123, "selected": True},
                                   "snd": {"score": 0.2911, "selected": False},
                                   "source_accuracy": {"score": 0.9512, "selected": False}},
                    "projection": {"method": "pca", "source": src.round(4).tolist(),
                                   "target": tgt.round(4).tolist()}}
    return rec


def _digits_run(folder: Path) -> tuple[Path, list[str]]:
    from sklearn.datasets import load_digits

    import transferkit as tk

    X, y = load_digits(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))
    tr, te = idx[:500], idx[500:800]
    model = tk.TransferClassifier(backbone="tabular-mlp").fit(X[tr], y[tr])
    metrics = model.evaluate(X[te], y[te])
    model.save(str(folder), metrics=metrics)
    return folder, [f"{metrics['accuracy']:.4f}", f"{metrics['macro_f1']:.4f}", "tabular-mlp"]


def _write(folder: Path, record: dict) -> Path:
    folder.mkdir(parents=True)
    write_record(folder, record)
    (folder / "config.yaml").write_text(yaml.safe_dump(record.get("config", {})))
    return folder


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    runs: dict[str, tuple[Path, list[str]]] = {}

    labels = ["card_arrival", "card_linking", "exchange_rate", "top_up_failed", NASTY]
    rec = fit_record(rng, labels)
    m = rec["metrics"]
    runs["fit"] = (_write(root / "fit-b5", rec),
                   [f"{m['accuracy']:.4f}", f"{m['macro_f1']:.4f}", "22,713,216", "minilm-l6",
                    "finetune", NASTY])

    many = [f"intent_{i:02d}_{w}" for i, w in enumerate(
        ["balance", "transfer", "card", "refund", "pin", "atm", "fee", "limit"] * 10)][:77]
    rec = fit_record(rng, many, epochs=12)
    m = rec["metrics"]
    runs["fit_many"] = (_write(root / "fit-b77", rec),
                        [f"{m['accuracy']:.4f}", "Top confusions", "hardest first"])

    rec = lr_find_record(rng)
    runs["lr_find"] = (_write(root / "lrfind", rec), ["Learning-rate finder", "2.10e-04"])

    rec = compare_record(rng)
    fin = [r["accuracy"] for r in rec["compare"]["table"]
           if r["strategy"] == "finetune" and r["fraction"] == 1.0]
    runs["compare"] = (_write(root / "compare-b77", rec),
                       [f"{np.mean(fin):.4f}", "transfer helps", "scratch", "500 labels (5%)"])

    rec = rank_record(rng)
    top = rec["rank"]["table"][0]
    runs["rank"] = (_write(root / "rank-b77", rec),
                    [f"{top['logme']:.4f}", f"{top['knn']:.4f}", "minilm-l6",
                     "hf:sentence-transformers/all-mpnet-base-v2", "Kendall tau"])

    rec = shift_record(rng)
    runs["shift"] = (_write(root / "shift-books-kitchen", rec),
                     ["0.0834", "9.00e-04", "1.4213", "0.8731", "strong shift", "PCA"])

    rec = adapt_record(rng)
    runs["adapt"] = (_write(root / "adapt-dann", rec),
                     ["0.6125", "0.7342", "+0.1217", "dann", "-0.4123"])

    runs["digits"] = _digits_run(root / "digits-probe")

    crashed = root / "crashed"
    crashed.mkdir()
    (crashed / "config.yaml").write_text("backbone: minilm-l6\nstrategy: finetune\nseed: 3\n")
    (crashed / "metrics.json").write_text('{"accuracy": 0.4321}')
    runs["incomplete"] = (crashed, ["record.json is missing", "0.4321", "minilm-l6"])
    return runs
