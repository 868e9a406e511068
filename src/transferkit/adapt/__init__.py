"""Domain adaptation and instance transfer.

Feature-level (frozen, cached features; seconds): CORAL, importance weighting by a domain
classifier's density ratio and by kernel mean matching, subspace alignment. Deep (through
the training engine): DANN, CDAN(+E), multi-kernel MMD (DAN), self-training with confident
pseudo-labels, moment matching across several sources (M3SDA). With a few target labels:
TrAdaBoost and target-weighted union training. With several sources
(:mod:`~transferkit.adapt.multisource`): a mixture-weighted ensemble of per-source probes and
source selection; every other method fits on the sources' union. Label-free model selection:
DEV, information maximisation, entropy, SND, reverse validation.

The estimator is :class:`transferkit.DomainAdapter` (:mod:`transferkit.models.adapter`).

>>> import transferkit as tk
>>> model = tk.DomainAdapter(method="coral", backbone="minilm-l6")  # doctest: +SKIP
>>> model.fit(source, target).evaluate_target(target)              # doctest: +SKIP
"""

from ..exceptions import SourceCollapseWarning
from .base import ADAPT_METHODS, AdaptContext, AdaptMethod, register_adapt_method

# Importing the modules registers their methods.
from . import coral, deep, multisource, reweight, selftrain, subspace, tradaboost  # noqa: E402,F401  isort: skip

from .coral import coral_transform  # noqa: E402
from .losses import (  # noqa: E402
    ConditionalDomainAdversarialLoss,
    DomainAdversarialLoss,
    DomainDiscriminator,
    GradientReverse,
    MultipleKernelMMD,
    dann_lambda,
)
from .reweight import density_ratio_weights, kmm_weights  # noqa: E402
from .selftrain import ConfidencePseudoLabelLoss  # noqa: E402
from .subspace import subspace_alignment  # noqa: E402
from .validators import VALIDATORS, validator_scores  # noqa: E402

__all__ = [
    "ADAPT_METHODS",
    "AdaptContext",
    "AdaptMethod",
    "ConditionalDomainAdversarialLoss",
    "ConfidencePseudoLabelLoss",
    "DomainAdversarialLoss",
    "DomainDiscriminator",
    "GradientReverse",
    "MultipleKernelMMD",
    "SourceCollapseWarning",
    "VALIDATORS",
    "coral_transform",
    "dann_lambda",
    "density_ratio_weights",
    "kmm_weights",
    "list_methods",
    "register_adapt_method",
    "subspace_alignment",
    "validator_scores",
]


def list_methods() -> list[dict]:
    """One dict per adaptation method: name, description, whether it needs target labels and
    whether it trains through the engine."""
    return [{"name": n, **ADAPT_METHODS.info(n)} for n in ADAPT_METHODS.names()]
