"""A new capability is one module that registers itself: a strategy declared by a plugin, with
a parameter of its own, works through the estimator, the checks, the run folder and the CLI
without an edit anywhere else."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import transferkit as tk
from transferkit.cli.main import main
from transferkit.exceptions import ConfigError
from transferkit.strategies import STRATEGIES, ProbeStrategy
from transferkit.utils.params import Param, Params

from .conftest import TEXT_BACKBONE, text_data


@pytest.fixture
def shrunk_probe():
    """A probe that shrinks its features toward their mean before the head (one new knob)."""

    @tk.register_strategy("test-shrunk-probe", description="a probe on shrunk features")
    class ShrunkProbe(ProbeStrategy):
        name = "test-shrunk-probe"
        PARAMS = Params(ProbeStrategy.PARAMS, Param(
            "shrink", "how far features move toward their mean", 0.0, "float", low=0, high=1))

        def _features(self, backbone, layer, data):
            X = np.asarray(super()._features(backbone, layer, data))
            return X - self.settings.shrink * (X - X.mean(0, keepdims=True))

    yield "test-shrunk-probe"
    STRATEGIES.unregister("test-shrunk-probe")


def test_a_plugin_parameter_is_a_keyword_of_the_estimator(shrunk_probe, tmp_path):
    data = text_data(0)
    model = tk.TransferClassifier(backbone=TEXT_BACKBONE, strategy=shrunk_probe, shrink=0.5,
                                  cache=False, progress=False).fit(data)
    assert model.get_params()["shrink"] == 0.5 and clone(model).get_params()["shrink"] == 0.5
    assert model.score(data) > 0.8
    back = tk.load(model.save(tmp_path / "run"))
    assert back.shrink == 0.5
    np.testing.assert_allclose(back.predict_proba(data), model.predict_proba(data), atol=1e-6)
    search = GridSearchCV(tk.TransferClassifier(backbone=TEXT_BACKBONE, strategy=shrunk_probe,
                                                cache=False, progress=False),
                          {"shrink": [0.0, 0.9]}, cv=2).fit(data.inputs, data.labels)
    assert search.best_params_["shrink"] in (0.0, 0.9)


def test_its_bounds_and_its_owner_are_enforced(shrunk_probe):
    data = text_data(0)
    with pytest.raises(ConfigError, match=r"'shrink' parameter .* range \[0, 1\]. Got 2"):
        tk.TransferClassifier(backbone=TEXT_BACKBONE, strategy=shrunk_probe, shrink=2).fit(data)
    with pytest.raises(ConfigError, match="shrink=0.5 has no effect with strategy='probe'.*"
                                          "read by 'test-shrunk-probe'"):
        tk.TransferClassifier(backbone=TEXT_BACKBONE, strategy="probe", shrink=0.5).fit(data)
    with pytest.raises(ConfigError, match="unexpected keyword 'shrnk'.*Did you mean 'shrink'"):
        tk.TransferClassifier(shrnk=0.5)


def test_the_command_line_offers_its_flag(shrunk_probe, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = capsys.readouterr().out
    assert "--shrink SHRINK" in out and "[test-shrunk-probe]" in out
