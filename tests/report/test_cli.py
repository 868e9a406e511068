"""``transferkit report``, ``transferkit runs`` and the report that ``fit`` writes by itself."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from transferkit.cli.main import main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_command_writes_the_page_and_prints_its_path(capsys, report_runs, tmp_path):
    folder, keys = report_runs["compare"]
    (folder / "report.html").unlink(missing_ok=True)
    code, out, err = run_cli(capsys, "report", folder)
    assert code == 0, err
    assert out.strip() == str(folder / "report.html")
    assert keys[0] in (folder / "report.html").read_text()

    code, out, err = run_cli(capsys, "report", folder, "--out", tmp_path / "elsewhere.html")
    assert code == 0 and (tmp_path / "elsewhere.html").stat().st_size > 10_000


def test_report_command_errors_are_one_line(capsys, report_runs, tmp_path):
    rec = json.loads((report_runs["fit"][0] / "record.json").read_text())
    rec["schema_version"] = 5
    (tmp_path / "record.json").write_text(json.dumps(rec))
    code, out, err = run_cli(capsys, "report", tmp_path)
    assert code == 2
    assert err.startswith("transferkit: error:") and "schema 5" in err and "Upgrade" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "report", tmp_path / "missing")
    assert code == 2 and "No run folder" in err


def test_runs_lists_and_filters(capsys, report_runs):
    root = report_runs["fit"][0].parent
    code, out, err = run_cli(capsys, "runs", "--root", root)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["name", "date", "kind", "data", "backbone", "strategy", "metric"]
    names = {ln.split()[0] for ln in lines[1:]}
    assert {"fit-b5", "compare-b77", "rank-b77", "shift-books-kitchen", "adapt-dann",
            "digits-probe", "crashed"} <= names
    digits = next(ln for ln in lines if ln.startswith("digits-probe"))
    acc = json.loads((root / "digits-probe" / "metrics.json").read_text())["accuracy"]
    assert "tabular-mlp" in digits and "probe" in digits and f"{acc:.4f}" in digits
    assert "2026-03-14 09:26" in next(ln for ln in lines if ln.startswith("fit-b5"))
    assert "incomplete" in next(ln for ln in lines if ln.startswith("crashed"))
    assert "target accuracy 0.7342" in next(ln for ln in lines if ln.startswith("adapt-dann"))

    code, out, _ = run_cli(capsys, "runs", "--root", root, "--filter", "kind=compare", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["compare-b77"]
    assert rows[0]["metric"].startswith("best mean accuracy finetune")

    code, out, _ = run_cli(capsys, "runs", "--root", root, "--filter", "tabular",
                           "--filter", "strategy=probe", "--json")
    assert [r["name"] for r in json.loads(out)] == ["digits-probe"]

    code, out, _ = run_cli(capsys, "runs", "--root", root / "nothing-here")
    assert code == 0 and "no runs" in out


@pytest.fixture()
def digits_csv(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    idx = np.random.default_rng(1).permutation(len(y))[:360]
    df = pd.DataFrame(X[idx], columns=[f"p{i}" for i in range(64)])
    df["digit"] = y[idx]
    df.to_csv(tmp_path / "digits.csv", index=False)
    return tmp_path / "digits.csv"


def test_fit_writes_its_report_unless_told_not_to(capsys, digits_csv, tmp_path):
    out_dir = tmp_path / "runs" / "digits"
    code, out, err = run_cli(capsys, "fit", digits_csv, "--backbone", "tabular-mlp",
                             "--label-col", "digit", "--head", "ridge", "--out", out_dir)
    assert code == 0, err
    page = out_dir / "report.html"
    assert f"report: {page}" in out
    acc = json.loads((out_dir / "metrics.json").read_text())["accuracy"]
    assert f"{acc:.4f}" in page.read_text()

    quiet = tmp_path / "runs" / "quiet"
    code, out, err = run_cli(capsys, "fit", digits_csv, "--backbone", "tabular-mlp",
                             "--label-col", "digit", "--head", "ridge", "--out", quiet,
                             "--no-report")
    assert code == 0, err
    assert not (quiet / "report.html").exists() and "report:" not in out
