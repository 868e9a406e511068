"""The package's layers (pyproject.toml, [tool.importlinter]): every import points down and no
package has an import cycle among its modules — checked with import-linter, as a test, so a
change that breaks them fails CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_layers_and_no_cycles():
    lint = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in out.stdout
