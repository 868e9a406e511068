"""Defaults shared across layers, written once.

The estimators' parameter declarations (:mod:`transferkit.strategies.params`) and the
lower-level functions that take the same setting (``Backbone.features``, ``extract_features``,
``rank``, ``shift``...) read these instead of restating the number.
"""

#: inputs per forward pass when encoding (and examples per optimiser step when training)
BATCH_SIZE = 64
