"""Training-time augmentation of preprocessed image batches.

Augmentation runs on the tensors a backbone's ``preprocess`` returns (``(N, C, H, W)``
floats), so it works for every image backbone without knowing how it loads or normalises
pixels, and it costs one ``grid_sample`` per batch. Only training batches are augmented;
prediction and the validators see the images as they are.

For domain adaptation it matters more than for plain fine-tuning: when source and target
differ in scale or position (MNIST digits sit in the centre 20 x 20 pixels of their frame,
USPS digits fill theirs), random zoom and shift make the source cover the target's geometry,
and the same transform on the target batches keeps the alignment losses honest.

``augment="affine"`` (``"affine,scale=0.9-1.5,translate=0.05,degrees=10"``) reaches this
transform through the policy registry (:class:`~transferkit.data.augment.images.AffinePolicy`);
:func:`parse_augment` and :func:`augment_inputs` are the older direct API, kept for callers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ...exceptions import ConfigError

__all__ = ["RandomAffine", "parse_augment", "augment_inputs"]


@dataclass(frozen=True)
class RandomAffine:
    """Random zoom, shift and rotation of each image in a batch.

    Args:
        scale: zoom range; ``1.5`` shows the central two thirds of the image at full size,
            ``0.9`` shrinks the content by 10 % (the border pixels repeat outside).
        translate: largest shift, as a fraction of the image side, in each direction.
        degrees: largest rotation either way.
    """

    scale: tuple[float, float] = (0.9, 1.3)
    translate: float = 0.05
    degrees: float = 10.0

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0 < lo <= hi:
            raise ConfigError(f"augment: scale must be a range lo-hi with 0 < lo <= hi; "
                              f"got {lo}-{hi}. Example: 'affine:scale=0.9-1.3'.")
        if not 0 <= self.translate < 1:
            raise ConfigError(f"augment: translate is a fraction of the image side in "
                              f"[0, 1); got {self.translate}. Example: 'affine:translate=0.1'.")
        if not 0 <= self.degrees <= 180:
            raise ConfigError(f"augment: degrees must be in [0, 180]; got {self.degrees}.")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """``(N, C, H, W)`` -> the same shape, each image transformed independently."""
        n = x.shape[0]

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return torch.empty(n).uniform_(lo, hi, generator=generator)

        zoom = uniform(*self.scale)
        angle = uniform(-self.degrees, self.degrees) * (math.pi / 180)
        # affine_grid maps output to input coordinates in [-1, 1]: a shift of t of the side
        # is 2t there, and zooming in by s samples a 1/s-sized window.
        tx, ty = uniform(-2 * self.translate, 2 * self.translate), \
            uniform(-2 * self.translate, 2 * self.translate)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, tx], 1),
                             torch.stack([sin, cos, ty], 1)], 1).to(x.device, x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                             align_corners=False)

    def spec(self) -> dict[str, Any]:
        return {"kind": "affine", **asdict(self)}


def parse_augment(spec: str | RandomAffine | None) -> RandomAffine | None:
    """``None`` / ``"none"`` -> ``None``; ``"affine[:key=value,...]"`` -> :class:`RandomAffine`.

    Raises:
        ConfigError: an unknown kind or key, or a value that is not a number.
    """
    if spec is None or isinstance(spec, RandomAffine):
        return spec
    kind, _, opts = str(spec).partition(":")
    if kind == "none" and not opts:
        return None
    if kind != "affine":
        raise ConfigError(f"augment={spec!r} is not known: use 'none' or 'affine' (optionally "
                          "'affine:scale=0.9-1.3,translate=0.05,degrees=10').")
    kw: dict[str, Any] = {}
    for pair in filter(None, (o.strip() for o in opts.split(","))):
        key, _, text = pair.partition("=")
        if key not in ("scale", "translate", "degrees"):
            raise ConfigError(f"augment={spec!r}: unknown key {key!r}; the keys are "
                              "scale (lo-hi), translate, degrees.")
        try:
            if key == "scale":
                lo, _, hi = text.partition("-")
                kw["scale"] = (float(lo), float(hi or lo))
            else:
                kw[key] = float(text)
        except ValueError:
            raise ConfigError(f"augment={spec!r}: {key}={text!r} is not a number "
                              "(scale takes a range such as 0.9-1.3).") from None
    return RandomAffine(**kw)


def augment_inputs(inputs: dict[str, Any], aug: RandomAffine,
                   generator: torch.Generator | None = None) -> dict[str, Any]:
    """Apply ``aug`` to every image tensor (4-D floating point) of a preprocessed batch.

    Raises:
        ConfigError: the batch holds no image tensor (text or tabular inputs).
    """
    out = dict(inputs)
    hit = False
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor) and v.dim() == 4 and v.is_floating_point():
            out[k] = aug(v, generator)
            hit = True
    if not hit:
        kinds = {k: tuple(v.shape) for k, v in inputs.items() if isinstance(v, torch.Tensor)}
        raise ConfigError(f"augment='affine' transforms images, but this backbone's batches "
                          f"hold {kinds or 'no tensors'}. Use augment='none' for text and "
                          "tabular data.")
    return out
