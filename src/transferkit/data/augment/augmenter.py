"""A policy bound to one backbone, applied to training batches with a probability and a seed.

The engine asks for a training batch with a seed drawn from ``(run seed, epoch, rank, step,
micro-batch)``; :class:`Augmenter` turns that seed into every random choice it makes, so
the same seed gives the same augmented batch, whatever ran before (dropout, a resume) and
without touching the global torch generator the training loop seeds for dropout.
Validation, prediction and the validators build their batches without a seed, and are
never augmented.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ...exceptions import ConfigError
from .policy import AugmentContext, AugmentPolicy, parse_policy

__all__ = ["Augmenter", "bind_augmentation", "context_for", "check_augment_prob"]


def check_augment_prob(owner: str, value: Any) -> None:
    """``augment_prob``: a probability."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or not 0 <= value <= 1):
        raise ConfigError(f"The 'augment_prob' parameter of {owner} must be a probability in "
                          f"[0, 1]; got {value!r}. Fix: e.g. augment_prob=0.5 (--augment-prob "
                          "0.5) augments about half of the training examples.")


class Augmenter:
    """``policy`` applied to each training example with probability ``prob``.

    Args:
        policy: a bound :class:`~transferkit.data.augment.policy.AugmentPolicy`.
        prob: the chance that one example of a training batch is augmented.
    """

    def __init__(self, policy: AugmentPolicy, prob: float = 1.0) -> None:
        self.policy = policy
        self.prob = float(prob)

    def record(self) -> dict[str, Any]:
        """What the run record keeps: the policy, its parameters and the probability."""
        return {**self.policy.spec(), "prob": self.prob, "spec": self.policy.spec_string(),
                "applied_to": "training batches only (seeded per run seed, epoch, rank, step)"}

    def rows(self, rows: Any, seed: int) -> Any:
        """Raw rows before ``preprocess`` (text edits); others come back as they are."""
        if self.policy.stage != "rows":
            return rows
        rng = random.Random(int(seed))
        out = [self.policy.augment_row(r, rng) if rng.random() < self.prob else r for r in rows]
        return np.asarray(out, dtype=object) if isinstance(rows, np.ndarray) else out

    def tensors(self, inputs: dict[str, Any], seed: int) -> dict[str, Any]:
        """The preprocessed batch; only the examples drawn with ``prob`` change."""
        if self.policy.stage != "tensors":
            return inputs
        g = torch.Generator().manual_seed(int(seed))
        n = _batch_len(inputs)
        chosen = torch.rand(n, generator=g) < self.prob
        if not bool(chosen.any()):
            return inputs
        out = self.policy.augment_tensors(dict(inputs), g)
        if bool(chosen.all()):
            return out
        for k, v in out.items():
            old = inputs.get(k)
            if isinstance(v, torch.Tensor) and isinstance(old, torch.Tensor) and v is not old \
                    and v.shape == old.shape:
                out[k] = torch.where(chosen.view(-1, *[1] * (v.dim() - 1)), v, old)
        return out


def _batch_len(inputs: dict[str, Any]) -> int:
    for v in inputs.values():
        if isinstance(v, torch.Tensor) and v.dim() > 0:
            return int(v.shape[0])
    return 0


def _floats(value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    return tuple(float(v) for v in (value if isinstance(value, Sequence) else (value,)))


def context_for(backbone: Any) -> AugmentContext:
    """What policies may read about ``backbone`` (duck-typed: no import of the backbones)."""
    cfg = getattr(backbone, "preprocess_config", {}) or {}
    tok = getattr(backbone, "tokenizer", None)
    return AugmentContext(
        modality=str(getattr(backbone, "modality", "?")),
        backbone=str(getattr(backbone, "name", type(backbone).__name__)),
        image_mean=_floats(cfg.get("mean", cfg.get("image_mean"))),
        image_std=_floats(cfg.get("std", cfg.get("image_std"))),
        mask_token_id=getattr(tok, "mask_token_id", None),
        special_ids=frozenset(getattr(tok, "all_special_ids", ()) or ()),
        sample_rate=getattr(backbone, "sample_rate", None),
    )


def bind_augmentation(spec: Any, prob: float | None, backbone: Any,
                      owner: str = "augment") -> Augmenter | None:
    """The :class:`Augmenter` for ``spec`` on ``backbone``, or ``None`` for no augmentation.

    Raises:
        ConfigError: an unknown policy or parameter, a policy of another modality than the
            backbone's, or a backbone the policy cannot work with (no mask token).
    """
    from .affine import RandomAffine
    from .images import AffinePolicy

    if isinstance(spec, RandomAffine):  # the older adapter API passed the transform itself
        spec = AffinePolicy(scale=spec.scale, translate=spec.translate, degrees=spec.degrees)
    policy = parse_policy(spec)
    if policy is None:
        return None
    check_augment_prob(owner, prob)
    ctx = context_for(backbone)
    if policy.modality != ctx.modality:
        from .policy import list_augmentations

        mine = ", ".join(list_augmentations(ctx.modality)) or "(none: augmentation is for "\
            "images, text and audio)"
        raise ConfigError(
            f"augment={policy.spec_string()!r} is a policy for {policy.modality}, but backbone "
            f"{ctx.backbone!r} takes {ctx.modality} inputs. Expected one of the {ctx.modality} "
            f"policies: {mine}; got {policy.name!r}. Fix: pick one of those, or augment='none'.")
    policy.bind(ctx)
    return Augmenter(policy, 1.0 if prob is None else float(prob))
