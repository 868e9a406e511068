"""``simclr``: contrastive pre-training of an image encoder (SimCLR, Chen et al. 2020,
https://arxiv.org/abs/2002.05709).

Each image gives two random views (:mod:`.image_views`); the encoder's pooled features pass
a new projection head, and NT-Xent pulls the two views of an image together against the
other images of the batch. Only the encoder is kept. Its BatchNorm layers follow the
fine-tuning policy of the engine: those of frozen groups stay in eval mode (their statistics
fixed), those that train are re-estimated on the clean images when their running averages
are stale (EfficientNet's momentum of 0.01), so the saved encoder normalises the images it
will encode, not their augmented views.
"""

from __future__ import annotations

import zlib
from typing import Any

import torch

from ..data.augment.images import image_key
from ..exceptions import DataError
from .contrastive import ProjectionHead, check_temperature, nt_xent
from .image_views import ContrastiveViews, require_kornia
from .objectives import PretextObjective, register_objective

__all__ = ["SimCLR"]


def content_generator(x: torch.Tensor) -> torch.Generator:
    """A generator seeded by a batch's pixels: held-out images get the same views each epoch,
    so changes of the held-out loss are the model's, not the noise's."""
    digest = zlib.crc32(x.detach().cpu().contiguous().numpy().tobytes())
    return torch.Generator().manual_seed(int(digest))


@register_objective("simclr", "image", "contrastive: two random views of each image (crop, "
                    "flip, colour, blur), NT-Xent over the batch")
class SimCLR(PretextObjective):
    """Two augmented views per image, a projection head, NT-Xent.

    Args:
        backbone: the image backbone to pre-train (read for its preprocessing and width).
        temperature: the softmax temperature of the cosine similarities.
        projection_dim: output width of the projection head.
        projection_hidden: hidden width of the projection head (default: the feature width).
        crop_scale: share of the image area a random crop keeps (``"0.3-1.0"``).
        hflip: probability of a horizontal flip (0 for digits and text in images).
        jitter: colour jitter strength ``s`` (brightness and contrast only on gray images).
        blur: probability of a Gaussian blur.

    Shape:
        ``forward(backbone, batch)``: ``x`` ``(B, C, H, W)`` clean and ``views``
        ``(2B, C, H, W)`` -> the scalar NT-Xent loss.
    """

    modality = "image"
    default_lr = 3e-4
    default_batch_size = 32
    min_batch = 2

    def __init__(self, backbone: Any, temperature: float = 0.5, projection_dim: int = 128,
                 projection_hidden: int | None = None, crop_scale: Any = (0.3, 1.0),
                 hflip: float = 0.5, jitter: float = 0.5, blur: float = 0.5) -> None:
        super().__init__()
        require_kornia("simclr")
        self.temperature = check_temperature(temperature)
        self.views = ContrastiveViews(backbone, crop_scale=crop_scale, hflip=hflip,
                                      jitter=jitter, blur=blur)
        width = int(backbone.num_features)
        self.head = ProjectionHead(width, width if projection_hidden is None
                                   else projection_hidden, projection_dim)
        self.preprocess = backbone.preprocess
        self.backbone_name = str(getattr(backbone, "name", type(backbone).__name__))

    def collate(self, rows: Any, held_out: bool = False) -> dict[str, torch.Tensor]:
        inputs = self.preprocess(rows)
        try:
            key = image_key(inputs)
        except Exception:
            raise DataError(f"simclr expected {self.backbone_name!r} to turn the images into a "
                            f"(N, C, H, W) tensor; got {sorted(inputs)}. Fix: use an image "
                            "backbone such as 'lenet' or 'efficientnet-lite0'.") from None
        x = inputs[key]
        # Training views draw from the global generator, which the engine reseeds per epoch
        # (the same seed gives the same views, and a resumed run draws what it would have).
        gen = content_generator(x) if held_out else torch.Generator().manual_seed(
            int(torch.randint(0, 2**62, (1,))))
        return {key: x, "views": self.views.pair(x, gen)}

    def _key(self, batch: dict[str, torch.Tensor]) -> str:
        return next(k for k in batch if k != "views")

    def forward(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        z = self.head(backbone.forward_features({self._key(batch): batch["views"]}))
        return nt_xent(z, self.temperature)

    def encode_inputs(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return backbone.forward_features({self._key(batch): batch[self._key(batch)]})

    def tokens(self, batch: dict[str, torch.Tensor]) -> int:
        return 0  # images have no tokens; the record counts images seen

    def settings(self) -> dict[str, Any]:
        views = {k: list(v) if isinstance(v, tuple) else v for k, v in self.views.values.items()}
        return {"temperature": self.temperature, **views,
                "projection": [m.out_features for m in self.head.net if hasattr(m, "out_features")],
                "head": "new projection MLP, discarded"}
