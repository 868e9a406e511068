"""`transferkit rank` and `transferkit shift` end to end on small CSV tables."""

import json

import numpy as np
import pandas as pd
import pytest

from transferkit.cli.main import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """One CSV, two domains: 'a' and 'b' (shifted by +2 in every column), 2 classes."""
    rng = np.random.default_rng(0)
    n = 240
    y = np.arange(n) % 2
    dom = np.where(np.arange(n) < n // 2, "a", "b")
    x = rng.normal(size=(n, 6)) + 1.5 * y[:, None] + 2.0 * (dom == "b")[:, None]
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    df["label"], df["domain"] = y, dom
    path = tmp_path_factory.mktemp("tables") / "data.csv"
    df.to_csv(path, index=False)
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rank_prints_table_readings_and_writes_a_record(capsys, table, tmp_path):
    out_dir = tmp_path / "runs" / "rank-x"
    code, out, err = run_cli(capsys, "rank", table, "--backbones", "tabular-mlp,tabular-mlp@0",
                             "--scores", "logme,leep,knn", "--out", out_dir)
    assert code == 0, err
    assert "backbone" in out and "tabular-mlp@0" in out
    assert "How to read the scores" in out and "leep" in out and "no source-task head" in out
    assert f"saved run to {out_dir}" in out
    rec = json.loads((out_dir / "record.json").read_text())
    assert rec["kind"] == "rank" and rec["schema_version"] == 1
    assert rec["created"] and rec["environment"]["python"]
    res = rec["rank"]
    assert res["scores"] == ["logme", "leep", "knn"] and len(res["table"]) == 2
    assert all(row["leep"] is None for row in res["table"])
    assert set(res["notes"]) == {"tabular-mlp", "tabular-mlp@0"}
    assert (out_dir / "ranking.csv").exists()
    assert not list(out_dir.parent.glob(".*partial"))  # written atomically, nothing left over
    html = (out_dir / "report.html").read_text()  # written automatically, from record["rank"]
    assert 'id="rank"' in html and "tabular-mlp@0" in html and "could not be rendered" not in html
    # The no-transfer reference: gradient boosting cross-validated on the knn score's folds.
    ref = res["baseline"]
    assert ref["baseline"] == "hgb" and ref["folds"] == res["cv_folds"] == 5
    assert len(ref["fold_accuracies"]) == 5 and 0.6 < ref["accuracy"] <= 1.0  # chance: 0.5
    assert "No-transfer reference: hgb" in out and "compare with the knn column" in out
    assert "No-transfer reference:" in html and "knn column" in html


def test_rank_json_and_errors(capsys, table):
    code, out, err = run_cli(capsys, "rank", table, "--backbones", "tabular-mlp", "--scores",
                             "hscore", "--json")
    assert code == 0, err
    assert json.loads(out)["table"][0]["backbone"] == "tabular-mlp"
    assert "add --scores" not in out and json.loads(out)["baseline"]["baseline"] == "hgb"
    code, out, err = run_cli(capsys, "rank", table, "--backbones", "tabular-mlp", "--scores",
                             "hscore", "--json", "--no-baseline")
    assert code == 0, err
    assert "baseline" not in json.loads(out)
    code, out, err = run_cli(capsys, "rank", table, "--backbones", "tabular-mlp", "--scores",
                             "logmee")
    assert code == 2 and "Did you mean 'logme'" in err
    code, out, err = run_cli(capsys, "rank", table, "--backbones", "minilm-l6")
    assert code == 2 and "takes text inputs" in err


def test_shift_between_domains_of_one_file(capsys, table, tmp_path):
    out_dir = tmp_path / "runs" / "shift-ab"
    code, out, err = run_cli(capsys, "shift", "--source", f"{table}:domain=a", "--target",
                             f"{table}:domain=b", "--backbone", "tabular-mlp", "--permutations",
                             "50", "--out", out_dir)
    assert code == 0, err
    assert "MMD^2" in out and "proxy A-distance" in out and "verdict:" in out
    rec = json.loads((out_dir / "record.json").read_text())
    assert rec["kind"] == "shift" and rec["schema_version"] == 1 and rec["environment"]
    assert rec["shift"]["p_value"] < 0.05 and rec["shift"]["c2st_auc"] > 0.8
    assert rec["dataset"]["source"]["n"] == 120 and rec["config"]["n_permutations"] == 50
    proj = rec["shift"]["projection"]
    assert proj["method"] == "pca" and len(proj["source"]) == len(proj["target"]) == 120
    html = (out_dir / "report.html").read_text()
    assert 'id="shift"' in html and "PCA of source and target" in html
    assert "could not be rendered" not in html and ("<svg" in html or "<img" in html)
    code, out, err = run_cli(capsys, "shift", "--source", f"{table}:domain=a", "--target",
                             f"{table}:domain=a", "--backbone", "tabular-mlp", "--json",
                             "--permutations", "20")
    assert code == 0, err
    assert json.loads(out)["verdict"].startswith("no detectable shift")
