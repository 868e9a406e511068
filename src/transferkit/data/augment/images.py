"""Image policies: RandAugment, TrivialAugment, random resized crop + flips (kornia), affine.

They work on the ``(N, C, H, W)`` float tensors a backbone's ``preprocess`` returns, so every
image backbone gets them without knowing how it loads pictures. Kornia's photometric
operations (contrast, solarize, posterize ...) expect pixels in [0, 1]: the batch is brought
back to that range with the backbone's own mean / std (or, when it does not say, the batch's
own minimum and maximum), augmented, clipped and normalised again, so shape and value range
are those of an un-augmented batch. Grayscale images (digits) stay one channel: RandAugment
then draws from its 14 other operations without ``color`` (saturation, which leaves a gray
image as it is, and which kornia refuses on one channel); repeating the image to three
channels instead made the policy about three times slower for the same images.

Kornia draws its parameters from the global CPU generator; each call runs under
``torch.random.fork_rng(devices=[])`` with that one generator seeded from the batch's seed,
so the training loop's own random state (dropout) is untouched and the same seed gives the
same images. Only the CPU generator is seeded: ``torch.manual_seed`` would also seed every
accelerator's generators (which ``fork_rng(devices=[])`` does not restore) and, before CUDA
is initialised, queues that seeding with a captured Python stack trace per device type, a
sixth of the policy's time on LeNet batches. RandAugment and
TrivialAugment pick their operations once per batch (kornia's behaviour) and the magnitudes
and on/off per image.
"""

from __future__ import annotations

from typing import Any

import torch

from ...exceptions import ConfigError
from .affine import RandomAffine
from .policy import AugmentPolicy, Knob, register_augmentation, tensor_key

__all__ = ["ImagePolicy", "RandAugmentPolicy", "TrivialAugmentPolicy", "CropFlipPolicy",
           "AffinePolicy", "image_key"]


def image_key(inputs: dict[str, Any]) -> str:
    """The key of the batch's image tensor (the 4-D floating-point one)."""
    return tensor_key(inputs, 4, "An image augmentation policy expected a (N, C, H, W) image "
                      "tensor", "an image")


def _kornia(module: str = "kornia.augmentation") -> Any:
    """Import a kornia module, or say how to install it (an optional dependency)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError("The image augmentation policies randaugment, trivialaugment and "
                          "crop-flip need kornia; it is not installed. Fix: pip install "
                          "'transferkit[augment]' (or use augment='affine', which needs "
                          "nothing more).") from None


#: kornia's containers chain every operation's transformation matrix (for boxes and key
#: points) unless told to skip it; only the images are used here
_NO_MATRIX = "skip"


class ImagePolicy(AugmentPolicy):
    """Shared by the kornia policies: [0, 1] round trip, grayscale, seeded kornia calls."""

    stage = "tensors"

    def make_module(self, size: tuple[int, int], channels: int) -> torch.nn.Module:
        raise NotImplementedError

    def _to_unit(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        ctx = self.context
        if ctx is not None and ctx.image_mean and ctx.image_std:
            shape = (1, -1, 1, 1) if len(ctx.image_mean) == x.shape[1] else (1, 1, 1, 1)
            mean = torch.tensor(ctx.image_mean[: x.shape[1]], dtype=x.dtype).view(shape)
            std = torch.tensor(ctx.image_std[: x.shape[1]], dtype=x.dtype).view(shape)
        else:  # unknown normalisation: the batch's own range maps to [0, 1]
            mean = x.amin().view(1, 1, 1, 1)
            std = (x.amax() - x.amin()).clamp_min(1e-6).view(1, 1, 1, 1)
        return (x * std + mean).clamp(0, 1), (mean, std)

    def augment_tensors(self, inputs: dict[str, Any], generator: torch.Generator
                        ) -> dict[str, Any]:
        key = image_key(inputs)
        x = inputs[key]
        unit, (mean, std) = self._to_unit(x.float())
        shape = (tuple(unit.shape[-2:]), int(unit.shape[1]))
        cache = self.__dict__.setdefault("_modules", {})  # built once per image shape
        if shape not in cache:
            cache[shape] = self.make_module(*shape)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)  # CPU only: module docstring
            out = cache[shape](unit.contiguous())
        inputs[key] = ((out.clamp(0, 1) - mean) / std).to(x.dtype)
        return inputs


@register_augmentation("randaugment", "image", "RandAugment (Cubuk et al. 2020): n random "
                       "operations at magnitude m (kornia)")
class RandAugmentPolicy(ImagePolicy):
    """RandAugment, https://arxiv.org/abs/1909.13719: ``n`` operations drawn from 15
    (rotate, shear, translate, contrast, solarize, posterize ...), each at magnitude ``m``
    of 30."""

    KNOBS = (Knob("n", 2, "int", 1, 15, "operations applied in a row"),
             Knob("m", 9, "int", 1, 29, "magnitude of every operation, out of 30"))
    EXAMPLE = "randaugment,n=2,m=9"

    def make_module(self, size: tuple[int, int], channels: int) -> torch.nn.Module:
        RandAugment = _kornia("kornia.augmentation.auto").RandAugment
        default_policy = _kornia("kornia.augmentation.auto.rand_augment.rand_augment"
                                 ).default_policy
        policy = default_policy
        if channels != 3:  # module docstring: colour needs three channels
            policy = [sub for sub in default_policy if sub[0][0] != "color"]
        return RandAugment(n=min(int(self.n), len(policy)), m=int(self.m), policy=policy,
                           transformation_matrix_mode=_NO_MATRIX)


@register_augmentation("trivialaugment", "image", "TrivialAugment (Müller & Hutter 2021): one "
                       "random operation at a random magnitude (kornia)")
class TrivialAugmentPolicy(ImagePolicy):
    """TrivialAugment, https://arxiv.org/abs/2103.10158: no parameters to tune."""

    EXAMPLE = "trivialaugment"

    def make_module(self, size: tuple[int, int], channels: int) -> torch.nn.Module:
        return _kornia("kornia.augmentation.auto").TrivialAugment(
            transformation_matrix_mode=_NO_MATRIX)


@register_augmentation("crop-flip", "image", "random resized crop and horizontal / vertical "
                       "flips (kornia)")
class CropFlipPolicy(ImagePolicy):
    """Random resized crop (a ``scale`` share of the area, aspect ``ratio``) back to the input
    size, then flips. Horizontal flips suit photos, not digits or text in images: set
    ``hflip=0`` there."""

    KNOBS = (Knob("scale", (0.6, 1.0), "range", 0.01, 1.0, "share of the image area kept"),
             Knob("ratio", (0.75, 1.333), "range", 0.1, 10.0, "aspect ratio of the crop"),
             Knob("hflip", 0.5, "float", 0.0, 1.0, "probability of a horizontal flip"),
             Knob("vflip", 0.0, "float", 0.0, 1.0, "probability of a vertical flip"))
    EXAMPLE = "crop-flip,scale=0.6-1.0,hflip=0.5"

    def make_module(self, size: tuple[int, int], channels: int) -> torch.nn.Module:
        K = _kornia()
        ops = [K.RandomResizedCrop(size, scale=tuple(self.scale), ratio=tuple(self.ratio))]
        if self.hflip > 0:
            ops.append(K.RandomHorizontalFlip(p=float(self.hflip)))
        if self.vflip > 0:
            ops.append(K.RandomVerticalFlip(p=float(self.vflip)))
        return K.AugmentationSequential(*ops, transformation_matrix_mode=_NO_MATRIX)


@register_augmentation("affine", "image", "random zoom, shift and rotation (one grid_sample; "
                       "the adapter's earlier augment='affine')")
class AffinePolicy(AugmentPolicy):
    """:class:`~transferkit.data.augment.affine.RandomAffine` as a registered policy: purely
    geometric, so it runs on normalised pixels directly."""

    KNOBS = (Knob("scale", (0.9, 1.3), "range", 0.01, 10.0, "zoom range"),
             Knob("translate", 0.05, "float", 0.0, 0.99, "largest shift, share of the side"),
             Knob("degrees", 10.0, "float", 0.0, 180.0, "largest rotation either way"))
    EXAMPLE = "affine,scale=0.9-1.3,translate=0.05,degrees=10"

    def augment_tensors(self, inputs: dict[str, Any], generator: torch.Generator
                        ) -> dict[str, Any]:
        key = image_key(inputs)
        aug = RandomAffine(scale=tuple(self.scale), translate=float(self.translate),
                           degrees=float(self.degrees))
        inputs[key] = aug(inputs[key], generator)
        return inputs
