"""Continued self-supervised pre-training on unlabelled target data (``tk.pretrain``).

* :mod:`.objectives` — the registry; text objectives :mod:`.mlm`, :mod:`.tsdae`, :mod:`.simcse`;
  the image objective :mod:`.simclr` (views: :mod:`.image_views`), the tabular one
  :mod:`.scarf` (their projection head and losses: :mod:`.contrastive`);
* :mod:`.task` — the engine task; :mod:`.callbacks` — step budget, loss curve;
* :mod:`.run` — :func:`pretrain`, which writes an encoder run folder for ``run:<folder>``.
"""

from . import mlm, scarf, simclr, simcse, tsdae  # noqa: F401  (register the objectives)
from .objectives import OBJECTIVES, list_objectives, register_objective
from .run import pretrain

__all__ = ["OBJECTIVES", "list_objectives", "pretrain", "register_objective"]
