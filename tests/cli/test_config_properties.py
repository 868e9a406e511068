"""Property test: any bytes as ``--config`` give parsed arguments or a one-line ConfigError,
never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transferkit.cli.config import apply_config
from transferkit.cli.main import build_parser
from transferkit.exceptions import TransferKitError

_KEYS = st.sampled_from(["seed", "batch-size", "lr", "backbone", "strategy", "cache", "head",
                         "unfreeze", "label_col", "feature_cols", "test_size", "report", "out",
                         "checkpoint_dir", "progress", "epochs", "sed", "1", "null", "source",
                         "func", "config", "verbose", "text-col", "resume", "C", "shots"])
_VALUES = st.sampled_from(["0", "-1", "2.5", "1e-3", '"zero"', "true", "no", "null", "[a, b]",
                           "[1, [2]]", "{a: 1}", "probe", "finetune", "all", "2", "''", "~",
                           "!!python/object:os.system x", "!!binary aGk=", "2020-01-01",
                           ".inf", "&a x", "*a", "[", "'", "tabular-mlp", "0x10", "!!set {a}"])
_LINE = st.one_of(st.builds(lambda k, v: f"{k}: {v}", _KEYS, _VALUES),
                  st.sampled_from(["- a", "---", "...", "  x: 1", "%YAML 1.1", "#c", ":", "? a"]),
                  st.text(max_size=15))
_RAW = st.one_of(st.lists(_LINE, max_size=5).map(lambda ls: "\n".join(ls).encode("utf-8")),
                 st.binary(max_size=120))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=_RAW, command=st.sampled_from([["fit", "x.csv"], ["zeroshot", "x.csv"],
                                           ["adapt", "--source", "a", "--target", "b"],
                                           ["compare", "x.csv"]]))
def test_any_bytes_as_config(data, command):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.yaml"
        path.write_bytes(data)
        try:
            args = apply_config(build_parser(), [*command, "--config", str(path)])
        except TransferKitError as e:
            msg = str(e)
            assert "\n" not in msg and str(path) in msg
            return
        assert args.command == command[0]
