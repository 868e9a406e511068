"""Vision backbones: shared image loading and preprocessing, and Hugging Face image encoders.

Every image backbone accepts the same inputs: a list of image file paths, a list of PIL
images, a list of ``(H, W)`` / ``(H, W, C)`` arrays, or one ``(N, H, W)`` / ``(N, H, W, C)``
array, ``uint8`` or float in ``[0, 1]``. :func:`load_images` turns any of these into RGB PIL
images; :class:`ImageTransform` resizes, center-crops and normalises them into a tensor.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.images import to_rgb
from ..exceptions import BackboneError, DataError
from .base import Backbone
from .hf_utils import HF_LOAD_ERRORS, quiet_hf_loading, reinit_hf_model, unsafe_weights_hint

__all__ = [
    "load_images",
    "ImageTransform",
    "HFVisionBackbone",
    "pooled_image_features",
    "split_layer_groups",
]

log = logging.getLogger(__name__)

_PIL_FILTERS = ("nearest", "bilinear", "bicubic", "lanczos")


def _array_to_pil(arr: np.ndarray, where: str) -> Any:
    """One ``(H, W)`` or ``(H, W, C)`` array -> RGB PIL image."""
    from PIL import Image

    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise DataError(
            f"{where}: expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got "
            f"shape {arr.shape}. Channels go last: transpose (C, H, W) arrays with "
            "arr.transpose(1, 2, 0)."
        )
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"{where}: expected uint8 or float pixels; got dtype {arr.dtype}.")
        if np.issubdtype(arr.dtype, np.integer):
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi > 255:
                raise DataError(
                    f"{where}: integer pixels must lie in [0, 255]; got values in [{lo}, {hi}]."
                )
            arr = arr.astype(np.uint8)
        else:
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            if not np.isfinite(arr).all() or lo < 0.0 or hi > 1.0:
                raise DataError(
                    f"{where}: float pixels must be finite and lie in [0, 1]; got values in "
                    f"[{lo:g}, {hi:g}]. Divide 0..255 floats by 255, or pass uint8."
                )
            # PIL resamples 8-bit images; 1/255 steps are below what the models can tell apart.
            arr = np.round(arr * 255.0).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        arr = arr[..., :3]
    img = Image.fromarray(np.ascontiguousarray(arr))
    return img.convert("RGB") if img.mode != "RGB" else img


def _open_image(path: str | os.PathLike) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            # load() forces the full decode here, so a truncated file fails now, naming itself.
            im.load()
            return to_rgb(im, repr(str(path)))
    except FileNotFoundError:
        raise DataError(f"Image file not found: {str(path)!r}. Check the path.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(
            f"Cannot read image file {str(path)!r}: {e}. Expected a readable image (JPEG, PNG, "
            "BMP, TIFF, ...); remove or replace the file."
        ) from None


def load_images(inputs: Sequence[Any] | np.ndarray) -> list[Any]:
    """Turn a batch of images in any accepted form into a list of RGB PIL images.

    Args:
        inputs: image file paths, PIL images, ``(H, W[, C])`` arrays, or one
            ``(N, H, W[, C])`` array; ``uint8`` or float in ``[0, 1]``. Grayscale is repeated
            to three channels, an alpha channel is dropped.

    Returns:
        One RGB ``PIL.Image`` per input, in input order.

    Raises:
        DataError: an input is of an unsupported kind or shape, or a file cannot be read (the
            message names the file).
    """
    from PIL import Image

    if isinstance(inputs, str | os.PathLike):
        raise DataError(
            f"Expected a batch (a list) of images; got the single path {str(inputs)!r}. "
            "Wrap it in a list: [path]."
        )
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    if isinstance(inputs, np.ndarray):
        if inputs.ndim not in (3, 4):
            raise DataError(
                f"An image array must have shape (N, H, W) or (N, H, W, C); got shape "
                f"{inputs.shape}. For one image, add a batch axis: arr[None]."
            )
        return [_array_to_pil(inputs[i], f"image {i}") for i in range(len(inputs))]
    images = []
    for i, x in enumerate(inputs):
        if isinstance(x, str | os.PathLike):
            images.append(_open_image(x))
        elif isinstance(x, Image.Image):
            images.append(to_rgb(x, f"image {i}"))
        elif isinstance(x, np.ndarray | torch.Tensor):
            arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
            images.append(_array_to_pil(arr, f"image {i}"))
        else:
            raise DataError(
                f"Image {i}: expected a file path, a PIL image or a numpy array; got "
                f"{type(x).__name__}."
            )
    return images


class ImageTransform:
    """Resize the shorter side, center-crop a square, scale to [0, 1], normalise per channel.

    Args:
        image_size: side of the square crop the model sees.
        resize_size: the shorter side is resized to this before cropping (``>= image_size``;
            the usual ImageNet evaluation uses ``image_size + 32``).
        mean: per-channel mean subtracted from the [0, 1] pixels.
        std: per-channel standard deviation the pixels are divided by.
        interpolation: PIL resampling filter: ``"bilinear"``, ``"bicubic"``, ...
    """

    def __init__(
        self,
        image_size: int,
        resize_size: int | None = None,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
        interpolation: str = "bicubic",
    ) -> None:
        if interpolation not in _PIL_FILTERS:
            raise BackboneError(
                f"interpolation must be one of {list(_PIL_FILTERS)}; got {interpolation!r}."
            )
        self.image_size = int(image_size)
        self.resize_size = int(resize_size or image_size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.interpolation = interpolation

    @property
    def config(self) -> dict[str, Any]:
        """A plain, JSON-able description (part of the backbone's fingerprint)."""
        return {
            "image_size": self.image_size,
            "resize_size": self.resize_size,
            "crop": "center",
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
        }

    def _resize_crop(self, img: Any) -> np.ndarray:
        from PIL import Image

        resample = getattr(Image.Resampling, self.interpolation.upper())
        w, h = img.size
        scale = self.resize_size / min(w, h)
        nw, nh = max(self.image_size, round(w * scale)), max(self.image_size, round(h * scale))
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), resample=resample)
        left, top = (nw - self.image_size) // 2, (nh - self.image_size) // 2
        img = img.crop((left, top, left + self.image_size, top + self.image_size))
        return np.asarray(img, dtype=np.uint8)

    def __call__(self, inputs: Sequence[Any] | np.ndarray) -> torch.Tensor:
        """Images (any form :func:`load_images` accepts) -> float tensor ``(B, 3, S, S)``."""
        images = load_images(inputs)
        if not images:
            return torch.empty((0, 3, self.image_size, self.image_size))
        arr = np.stack([self._resize_crop(im) for im in images])
        x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return x.sub_(mean).div_(std).contiguous()


def pooled_image_features(hidden: torch.Tensor) -> torch.Tensor:
    """Average a feature map ``(B, C, H, W)`` or a token sequence ``(B, N, D)`` to ``(B, F)``."""
    if hidden.ndim == 4:
        return hidden.mean(dim=(2, 3))
    if hidden.ndim == 3:
        return hidden.mean(dim=1)
    return hidden.flatten(1)


def _block_list(model: nn.Module) -> nn.ModuleList | None:
    """The transformer's (or CNN's) block list: the ``nn.ModuleList`` holding the most
    parameters, the longer one on ties (a ViT's layers; a Swin's stages, not one stage's
    blocks)."""
    best, best_key = None, (0, 0)
    for m in model.modules():
        if isinstance(m, nn.ModuleList) and len(m) > 0:
            key = (sum(p.numel() for p in m.parameters()), len(m))
            if key > best_key:
                best, best_key = m, key
    return best


def split_layer_groups(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Split a Hugging Face encoder into ``embeddings``, ``layer.0 .. layer.N-1``, ``final``.

    ``embeddings`` holds what runs before the blocks (the top-level modules registered
    before the one containing the block list, plus parameters held by the model itself, such
    as class tokens), ``final`` what runs after (final norm, pooler). Every parameter lands in
    exactly one group.
    """
    blocks = _block_list(model)
    if blocks is None:
        return [("model", model)]
    in_blocks = {id(p) for p in blocks.parameters()}
    before: list[nn.Module] = []
    after: list[nn.Module] = []
    seen_blocks = False
    own = list(model.parameters(recurse=False))
    if own:
        before.append(nn.ParameterList(own))
    for child in model.children():
        if child is blocks or any(m is blocks for m in child.modules()):
            seen_blocks = True
            # Parts of the encoder outside the block list (rare: a shared position bias).
            rest = [p for p in child.parameters() if id(p) not in in_blocks]
            if rest:
                after.append(nn.ParameterList(rest))
        elif any(True for _ in child.parameters()):
            (after if seen_blocks else before).append(child)

    def one(mods: list[nn.Module]) -> nn.Module:
        return mods[0] if len(mods) == 1 else nn.ModuleList(mods)

    groups: list[tuple[str, nn.Module]] = [("embeddings", one(before))] if before else []
    groups += [(f"layer.{i}", blk) for i, blk in enumerate(blocks)]
    if after:
        groups.append(("final", one(after)))
    return groups


def _image_processor_kwargs() -> dict[str, Any]:
    """Ask for the PIL image processors: the fast ones need torchvision, which we do not."""
    try:
        import transformers.image_processing_backends  # noqa: F401  (transformers >= 5)
    except ImportError:
        return {"use_fast": False}
    return {"backend": "pil"}


class HFVisionBackbone(Backbone):
    """A Hugging Face ``AutoModel`` image encoder (ViT, DeiT, BEiT, DINOv2, Swin, ConvNeXt,
    ResNet...) with its own ``AutoImageProcessor``.

    Features for ``layer=-1`` are the model's ``pooler_output`` when it has one whose weights
    were loaded (an untrained pooler would only scramble the features), else the mean of
    ``last_hidden_state`` over tokens (or over the spatial map for CNNs). ``layer=k`` averages
    ``hidden_states[k]`` (``0`` is the embedding output); the last layer is the same as ``-1``.

    Args:
        path: a local folder (or, with network access, a hub id) with config, weights and
            ``preprocessor_config.json``.
        name: the name shown in records.
        pooling: ``"auto"`` (as above), ``"pooler"``, ``"mean"`` or ``"cls"`` (first token).
        local_files_only: never touch the network (set for local folders).
        license: licence of the weights, for records.
    """

    modality = "image"

    def __init__(
        self,
        path: str | os.PathLike,
        name: str | None = None,
        pooling: str = "auto",
        local_files_only: bool = False,
        license: str = "",
    ) -> None:
        from transformers import AutoImageProcessor, AutoModel
        from transformers.utils import logging as hf_logging

        if pooling not in ("auto", "pooler", "mean", "cls"):
            raise BackboneError(
                f"pooling must be 'auto', 'pooler', 'mean' or 'cls'; got {pooling!r}."
            )
        verbosity = hf_logging.get_verbosity()
        try:
            # The load report about an untrained pooler is handled below, so keep it quiet.
            hf_logging.set_verbosity_error()
            with quiet_hf_loading():
                model, info = AutoModel.from_pretrained(
                    str(path), local_files_only=local_files_only, output_loading_info=True
                )
                processor = AutoImageProcessor.from_pretrained(
                    str(path), local_files_only=local_files_only, **_image_processor_kwargs()
                )
        except HF_LOAD_ERRORS as e:
            reason = unsafe_weights_hint(e) or f"{str(e)[:300]}. "
            raise BackboneError(
                f"Could not load a Hugging Face image model from {str(path)!r}: {reason}Expected a "
                "folder with config.json, the weights (model.safetensors or pytorch_model.bin) "
                "and preprocessor_config.json, as written by model.save_pretrained(folder) and "
                "image_processor.save_pretrained(folder) (or a hub id, with network access)."
            ) from None
        finally:
            hf_logging.set_verbosity(verbosity)
        missing = sorted(info.get("missing_keys", []))
        trained_pooler = not any(k.startswith("pooler.") for k in missing)
        other_missing = [k for k in missing if not k.startswith("pooler.")]
        if other_missing:
            log.warning(
                "%s: %d weights were missing from the checkpoint and are random: %s",
                path, len(other_missing), ", ".join(other_missing[:5]),
            )
        model.eval()
        super().__init__(
            name or str(path),
            0,
            {
                "kind": "hf-image",
                "path": str(path),
                "pooling": pooling,
                "processor": json.loads(processor.to_json_string()),
            },
        )
        self.model = model
        self.processor = processor
        self.pooling = pooling
        self._use_pooler = pooling == "pooler" or (pooling == "auto" and trained_pooler)
        self.feature_sizes = self._probe_sizes()
        self.num_features = self.feature_sizes[-1]
        self.license = license
        self.source = str(path)
        self.eval()  # inference by default (dropout off), as from_pretrained leaves the model

    @torch.inference_mode()
    def _probe_sizes(self) -> list[int]:
        """Feature size per layer, from one forward pass on a gray image."""
        from PIL import Image

        pixels = self.processor(images=[Image.new("RGB", (64, 64), (128, 128, 128))],
                                return_tensors="pt")["pixel_values"]
        out = self.model(pixel_values=pixels, output_hidden_states=True)
        hidden = getattr(out, "hidden_states", None) or (out.last_hidden_state,)
        if self._use_pooler and getattr(out, "pooler_output", None) is None:
            if self.pooling == "pooler":
                raise BackboneError(
                    f"{type(self.model).__name__} has no pooler output, so pooling='pooler' "
                    "cannot work; use pooling='mean' or 'cls' (or 'auto')."
                )
            self._use_pooler = False
        sizes = [int(pooled_image_features(h).shape[-1]) for h in hidden[:-1]]
        return [*sizes, int(self._pool(out).shape[-1])]

    def _pool(self, out: Any) -> torch.Tensor:
        if self._use_pooler:
            return out.pooler_output.flatten(1)
        hidden = out.last_hidden_state
        if self.pooling == "cls" and hidden.ndim == 3:
            return hidden[:, 0]
        return pooled_image_features(hidden)

    @property
    def num_feature_layers(self) -> int:
        return len(self.feature_sizes)

    def preprocess(self, inputs: Sequence[Any]) -> dict[str, torch.Tensor]:
        images = load_images(inputs)
        return {"pixel_values": self.processor(images=images, return_tensors="pt")["pixel_values"]}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        last = self.num_feature_layers - 1
        if layer in (-1, last):
            return self._pool(self.model(pixel_values=batch["pixel_values"]))
        out = self.model(pixel_values=batch["pixel_values"], output_hidden_states=True)
        return pooled_image_features(out.hidden_states[layer])

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return split_layer_groups(self.model)

    def reinitialize(self, seed: int = 0) -> Backbone:
        torch.manual_seed(seed)
        reinit_hf_model(self.model)
        self.source = f"random init (seed {seed})"
        self.rebuildable = False
        return self
