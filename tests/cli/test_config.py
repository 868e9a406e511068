"""``--config``: bad files give one line naming the file, line and key; a run's own
config.yaml is accepted; values are checked like the flags."""

from pathlib import Path

import pytest

from transferkit.cli.config import RUN_KEYS, apply_config
from transferkit.cli.main import build_parser, main
from transferkit.exceptions import ConfigError

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_runs_v1"


def parse(*argv):
    return apply_config(build_parser(), [str(a) for a in argv])


def config_error(tmp_path, text, *extra, name="run.yaml"):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        parse("fit", "data.csv", "--config", f, *extra)
    msg = str(e.value)
    assert "\n" not in msg and str(f) in msg
    return msg


def test_malformed_yaml_names_file_and_line(tmp_path):
    msg = config_error(tmp_path, "seed: 0\nbackbone: [minilm-l6\n")
    assert "line 2" in msg and "not valid YAML" in msg


def test_yaml_tag_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    msg = config_error(tmp_path, f"seed: 0\nhead: !!python/object/apply:os.system "
                                 f"['touch {marker}']\n")
    assert "line 2" in msg and "tag" in msg
    assert not marker.exists()


@pytest.mark.parametrize("text, flag", [
    ('backbone: minilm-l6\nseed: "zero"\n', "--seed"),
    ("backbone: minilm-l6\nseed: 2.5\n", "--seed"),
    ("backbone: minilm-l6\nseed: -1\n", "--seed"),
    ("backbone: minilm-l6\ncache: maybe\n", "--no-cache"),
    ("backbone: minilm-l6\nhead: ridgee\n", "--head"),
    ("backbone: minilm-l6\ntext_col: {a: 1}\n", "--text-col"),
])
def test_wrong_value_names_line_key_and_flag(tmp_path, text, flag):
    msg = config_error(tmp_path, text)
    key = text.splitlines()[1].split(":")[0]
    assert "line 2" in msg and f"key {key!r}" in msg and flag in msg


@pytest.mark.parametrize("text, needle", [
    ("- seed\n- 0\n", "mapping"),
    ("1: 2\n", "not a flag name"),
    ("seed: 0\nseed: 1\n", "more than once"),
    ("sed: 0\n", "Did you mean 'seed'"),
    ("checkpoint-dirs: x\n", "not a flag"),
])
def test_bad_structure_and_typos(tmp_path, text, needle):
    assert needle in config_error(tmp_path, text)


def test_not_utf8_and_folder(tmp_path):
    (tmp_path / "c.yaml").write_bytes(b"seed: 0\nhead: caf\xe9\n")
    with pytest.raises(ConfigError, match="line 2.*UTF-8"):
        parse("fit", "x", "--config", tmp_path / "c.yaml")
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    with pytest.raises(ConfigError, match="is a folder.*config.yaml"):
        parse("fit", "x", "--config", tmp_path)


def test_cli_prints_one_line(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text('seed: "zero"\n')
    assert main(["fit", "data.csv", "--config", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and "line 1" in err


def test_values_are_converted_like_flags_and_flags_win(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("lr: 1e-3\nseed: '4'\ntest-size: 0.5\nreport: false\nlabel_col: [a, b]\n"
                 "epochs: 3\n")
    args = parse("fit", "x", "--config", f, "--epochs", "7")
    assert args.lr == 0.001 and args.seed == 4 and args.epochs == 7
    # Flags whose default is not None (--test-size 0.2, --no-report) take the file's value too.
    assert args.test_size == 0.5 and args.report is False
    assert args.label_col == "a,b"


@pytest.mark.parametrize("run, argv", [
    ("finetune-tabular", ["fit", "x"]),
    ("probe-minilm", ["fit", "x"]),
    ("adapt-coral-minilm", ["adapt", "--source", "x", "--target", "y"]),
    ("zeroshot-minilm", ["zeroshot", "x"]),
])
def test_a_runs_own_config_is_accepted(run, argv):
    # Format-1 runs wrote every keyword, checkpoint_dir and progress (no flags) included.
    cfg = LEGACY / run / "config.yaml"
    args = parse(*argv, "--config", cfg)
    assert args.backbone in ("minilm-l6", "tabular-mlp")
    assert not hasattr(args, "checkpoint_dir") and not hasattr(args, "progress")


def test_a_runs_config_leaves_out_what_its_method_does_not_read():
    args = parse("fit", "x", "--config", LEGACY / "finetune-tabular" / "config.yaml")
    assert args.strategy == "finetune" and args.epochs == 2
    assert args.lora_r is None and args.num_iterations is None  # lora / contrastive settings
    # ... but not a value given on the command line: the estimator refuses that one.
    args = parse("fit", "x", "--config", LEGACY / "finetune-tabular" / "config.yaml",
                 "--lora-r", "4")
    assert args.lora_r == 4


def test_run_keys_are_only_parameters_without_flags():
    assert {"checkpoint_dir", "progress"} <= RUN_KEYS
    assert not RUN_KEYS & {"seed", "strategy", "backbone", "epochs", "lr"}
