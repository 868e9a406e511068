import pytest

import transferkit as tk


def test_every_public_name_imports():
    for name in tk.__all__:
        assert getattr(tk, name) is not None, name


@pytest.mark.slow
def test_import_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    code = "import transferkit, torch; print(torch.get_num_threads() > 0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert list(tmp_path.iterdir()) == []
