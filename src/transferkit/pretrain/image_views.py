"""SimCLR's two random views of an image, with kornia, through the project's image policies.

:class:`ContrastiveViews` is an :class:`~transferkit.data.augment.images.ImagePolicy` (the
``[0, 1]`` round trip with the backbone's own mean / std, one-channel digits kept one
channel, seeded kornia calls that leave the global generator alone); it is not registered
as a training augmentation, only the SimCLR objective uses it. The recipe is SimCLR's
(Chen et al. 2020, https://arxiv.org/abs/2002.05709, appendix A): a random resized crop
back to the input size, a horizontal flip, colour jitter (strength ``s``) and random
grayscale where the images have colour, Gaussian blur with a kernel of a tenth of the side.
"""

from __future__ import annotations

from typing import Any

import torch

from ..data.augment import Knob, context_for
from ..data.augment.images import ImagePolicy, _kornia
from ..exceptions import ConfigError

__all__ = ["ContrastiveViews", "require_kornia"]


def require_kornia(objective: str) -> None:
    """Raise a one-line error when kornia (the ``augment`` extra) is missing."""
    try:
        import kornia.augmentation  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"objective={objective!r} draws its random image views with kornia, which is not "
            "installed; expected the optional extra 'augment'. Fix: pip install "
            "'transferkit[augment]'.") from None


class ContrastiveViews(ImagePolicy):
    """Random resized crop, flip, colour jitter + grayscale (colour images), blur."""

    name = "simclr-views"
    modality = "image"
    KNOBS = (Knob("crop_scale", (0.3, 1.0), "range", 0.01, 1.0, "share of the area a crop keeps"),
             Knob("hflip", 0.5, "float", 0.0, 1.0, "probability of a horizontal flip"),
             Knob("jitter", 0.5, "float", 0.0, 1.0, "colour jitter strength s (p = 0.8)"),
             Knob("blur", 0.5, "float", 0.0, 1.0, "probability of a Gaussian blur"))

    def __init__(self, backbone: Any, **values: Any) -> None:
        knobs = {k.name: k for k in self.KNOBS}
        for key, value in values.items():  # "0.3-1.0" from the command line, [lo, hi] from YAML
            if key in knobs and isinstance(value, str | list | tuple):
                try:
                    values[key] = (knobs[key].convert(value) if isinstance(value, str)
                                   else tuple(float(v) for v in value))
                except (TypeError, ValueError):
                    raise ConfigError(f"simclr: {key} must be {knobs[key].kind_words()}; got "
                                      f"{value!r}. Fix: {self._fix()}.") from None
        try:
            super().__init__(**values)
        except ConfigError as e:  # the policy's message, with the objective's way to set it
            raise ConfigError(str(e).replace("augment policy 'simclr-views'", "simclr")
                              .replace("--augment", "--option")) from None
        self.bind(context_for(backbone))

    def _fix(self) -> str:
        return "e.g. --option crop_scale=0.3-1.0 --option hflip=0"

    def make_module(self, size: tuple[int, int], channels: int) -> torch.nn.Module:
        K = _kornia()
        s = float(self.jitter)
        ops = [K.RandomResizedCrop(size, scale=tuple(self.crop_scale))]
        if self.hflip > 0:
            ops.append(K.RandomHorizontalFlip(p=float(self.hflip)))
        if s > 0:
            # Saturation and hue mean nothing on one channel (kornia refuses them there).
            colour = (0.8 * s, 0.2 * s) if channels == 3 else (0.0, 0.0)
            ops.append(K.ColorJitter(0.8 * s, 0.8 * s, *colour, p=0.8))
            if channels == 3:
                ops.append(K.RandomGrayscale(p=0.2))
        if self.blur > 0:
            kernel = max(3, int(0.1 * min(size)) // 2 * 2 + 1)  # odd, about a tenth of the side
            ops.append(K.RandomGaussianBlur((kernel, kernel), (0.1, 2.0), p=float(self.blur)))
        return K.AugmentationSequential(*ops)

    def pair(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Two independent views of each image: ``(B, C, H, W)`` -> ``(2B, C, H, W)``, the
        first ``B`` rows one view of each image, the next ``B`` the other."""
        both = torch.cat([x, x])
        return self.augment_tensors({"x": both}, generator)["x"]
