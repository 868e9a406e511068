"""Domain-adaptation losses as small modules: gradient reversal, DANN, CDAN(+E), (MK-)MMD.

Every loss takes features (and, for CDAN, classifier logits) of a source batch and a target
batch and returns a scalar to *add* to the source classification loss. Adversarial losses
route the features through :class:`GradientReverse`, so a single backward pass trains the
discriminator to tell the domains apart and the feature extractor to make them alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "GradientReverse",
    "grad_reverse",
    "dann_lambda",
    "information_maximization_loss",
    "DomainDiscriminator",
    "DomainAdversarialLoss",
    "ConditionalDomainAdversarialLoss",
    "MultiLinearMap",
    "RandomizedMultiLinearMap",
    "GaussianKernel",
    "MultipleKernelMMD",
    "entropy",
]


class _GradientReverseFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:  # noqa: D102
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return -ctx.coeff * grad, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Identity forward; gradient multiplied by ``-coeff`` backward."""
    return _GradientReverseFn.apply(x, float(coeff))


class GradientReverse(nn.Module):
    """The gradient reversal layer of DANN.

    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015,
    https://arxiv.org/abs/1409.7495.

    The forward pass is the identity; the backward pass multiplies the incoming gradient by
    ``-coeff``. ``coeff`` is an attribute, so a schedule can change it between steps.

    Shape:
        any ``(*)`` -> the same ``(*)``.
    """

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        self.coeff = float(coeff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.coeff)


def dann_lambda(progress: float, gamma: float = 10.0, max_value: float = 1.0) -> float:
    """DANN's adaptation-weight schedule ``max_value * (2 / (1 + exp(-gamma p)) - 1)``.

    ``progress`` ``p`` runs from 0 (start of training) to 1 (end); the weight rises from 0 to
    about ``max_value``, which keeps the noisy early discriminator from wrecking the features.
    """
    p = min(max(float(progress), 0.0), 1.0)
    return float(max_value) * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


def entropy(probs: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Row entropies of probability vectors.

    Shape:
        ``(B, C)`` -> ``(B,)``.
    """
    return -(probs * torch.log(probs + eps)).sum(dim=1)


def information_maximization_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean prediction entropy minus the entropy of the mean prediction (to be minimised):
    the differentiable negative of the ``im`` validator
    (:func:`~transferkit.adapt.validators.information_maximization`).

    The first term makes each target prediction confident; the second keeps the predictions
    spread over the classes, so confidence cannot be bought by sending every row to one
    class (Krause et al. 2010; used on target data by SHOT, Liang et al. 2020).

    Shape:
        ``(B, C)`` logits -> scalar.
    """
    probs = torch.softmax(logits.float(), dim=1)
    return entropy(probs).mean() - entropy(probs.mean(dim=0, keepdim=True)).squeeze(0)


class DomainDiscriminator(nn.Module):
    """A two-hidden-layer MLP giving the logit of "this feature came from the source".

    Args:
        in_features: feature size.
        hidden: width of both hidden layers.
        batch_norm: BatchNorm after each hidden layer (as in TLlib); else dropout 0.5 (as in
            the DANN paper).

    Shape:
        ``(B, in_features)`` -> ``(B, 1)`` logits.
    """

    def __init__(self, in_features: int, hidden: int = 1024, batch_norm: bool = True) -> None:
        super().__init__()

        def block(a: int, b: int) -> list[nn.Module]:
            if batch_norm:
                return [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
            return [nn.Linear(a, b), nn.ReLU(), nn.Dropout(0.5)]

        self.net = nn.Sequential(*block(in_features, hidden), *block(hidden, hidden),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _domain_bce(logits: torch.Tensor, n_source: int, weight: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.zeros_like(logits)
    labels[:n_source] = 1.0
    loss = F.binary_cross_entropy_with_logits(
        logits.float(), labels.float(), weight=None if weight is None else weight.view_as(logits))
    acc = ((logits.detach() > 0).float() == labels).float().mean()
    return loss, acc


class DomainAdversarialLoss(nn.Module):
    """DANN: a discriminator behind a gradient reversal layer tells source from target.

    Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016,
    https://arxiv.org/abs/1505.07818.

    The returned binary cross-entropy trains the discriminator; the reversed gradient trains
    the feature extractor to confuse it. Set :attr:`grl`'s ``coeff`` each step from
    :func:`dann_lambda`. After a call, ``domain_accuracy`` holds the discriminator's accuracy
    on the batch (0.5 means the domains look alike).

    Args:
        discriminator: maps ``(B, F)`` features to ``(B, 1)`` logits.

    Shape:
        ``f_s (Bs, F)``, ``f_t (Bt, F)`` -> scalar.
    """

    def __init__(self, discriminator: nn.Module) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.grl = GradientReverse(1.0)
        self.domain_accuracy = torch.tensor(float("nan"))

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
        d = self.discriminator(self.grl(torch.cat([f_s, f_t], dim=0)))
        loss, self.domain_accuracy = _domain_bce(d, len(f_s))
        return loss


class MultiLinearMap(nn.Module):
    """The multilinear map ``f ⊗ g`` (flattened outer product) of CDAN.

    Shape:
        ``f (B, F)``, ``g (B, C)`` -> ``(B, F * C)``.
    """

    def forward(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return torch.bmm(g.unsqueeze(2), f.unsqueeze(1)).flatten(1)


class RandomizedMultiLinearMap(nn.Module):
    """CDAN's randomized multilinear map ``(f R_f) ⊙ (g R_g) / sqrt(d)``.

    It approximates the inner products of ``f ⊗ g`` in ``d`` dimensions, for when ``F * C``
    is too large (many classes, wide features). ``R_f`` and ``R_g`` are fixed Gaussian
    matrices (buffers), drawn once from ``seed``.

    Shape:
        ``f (B, F)``, ``g (B, C)`` -> ``(B, d)``.
    """

    def __init__(self, in_features: int, n_classes: int, out_features: int = 1024,
                 seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.register_buffer("Rf", torch.randn(in_features, out_features, generator=gen))
        self.register_buffer("Rg", torch.randn(n_classes, out_features, generator=gen))
        self.out_features = int(out_features)

    def forward(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return (f @ self.Rf) * (g @ self.Rg) / math.sqrt(self.out_features)


class ConditionalDomainAdversarialLoss(nn.Module):
    """CDAN: adversarial alignment of features *conditioned on* the classifier's predictions.

    Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018,
    https://arxiv.org/abs/1705.10667.

    The discriminator sees the multilinear map of features ``f`` and (detached) softmax
    predictions ``g``, so it aligns the joint distribution of features and classes rather
    than the features alone. With ``entropy_conditioning`` (CDAN+E) each example's domain loss
    is weighted by ``1 + exp(-H(g))``, normalised to mean 1: confident predictions count more,
    uncertain (likely wrong) ones less.

    Args:
        discriminator: maps the mapped features to ``(B, 1)`` logits; its input size must be
            ``F * C`` (exact map) or ``randomized_dim``.
        in_features: ``F``.
        n_classes: ``C``.
        entropy_conditioning: CDAN+E weighting.
        randomized: use :class:`RandomizedMultiLinearMap`; ``None`` chooses it when
            ``F * C > 4096`` (as the paper does for large class counts).
        randomized_dim: output size of the randomized map.
        seed: seed of the randomized map.

    Shape:
        ``logits_s (Bs, C)``, ``f_s (Bs, F)``, ``logits_t (Bt, C)``, ``f_t (Bt, F)`` -> scalar.
    """

    def __init__(self, discriminator: nn.Module, in_features: int, n_classes: int,
                 entropy_conditioning: bool = True, randomized: bool | None = None,
                 randomized_dim: int = 1024, seed: int = 0) -> None:
        super().__init__()
        if randomized is None:
            randomized = in_features * n_classes > 4096
        self.discriminator = discriminator
        self.map: nn.Module = (
            RandomizedMultiLinearMap(in_features, n_classes, randomized_dim, seed)
            if randomized else MultiLinearMap())
        self.randomized = bool(randomized)
        self.entropy_conditioning = bool(entropy_conditioning)
        self.grl = GradientReverse(1.0)
        self.domain_accuracy = torch.tensor(float("nan"))

    @staticmethod
    def map_size(in_features: int, n_classes: int, randomized: bool | None = None,
                 randomized_dim: int = 1024) -> int:
        """Input size the discriminator needs for these settings."""
        if randomized is None:
            randomized = in_features * n_classes > 4096
        return randomized_dim if randomized else in_features * n_classes

    def forward(self, logits_s: torch.Tensor, f_s: torch.Tensor, logits_t: torch.Tensor,
                f_t: torch.Tensor) -> torch.Tensor:
        f = torch.cat([f_s, f_t], dim=0)
        g = F.softmax(torch.cat([logits_s, logits_t], dim=0).float(), dim=1).detach().to(f.dtype)
        h = self.grl(self.map(f, g))
        d = self.discriminator(h)
        weight = None
        if self.entropy_conditioning:
            weight = 1.0 + torch.exp(-entropy(g.float()))
            weight = weight / weight.sum() * len(weight)
        loss, self.domain_accuracy = _domain_bce(d, len(f_s), weight)
        return loss


class GaussianKernel(nn.Module):
    """``k(x, y) = exp(-|x - y|^2 / (2 alpha sigma^2))`` with ``sigma^2`` the batch's mean
    squared distance (so ``alpha`` is a bandwidth relative to the data's scale).

    Shape:
        ``(N, F)`` -> ``(N, N)`` kernel matrix.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sq = torch.cdist(x, x).pow(2)
        sigma2 = sq.detach().mean().clamp(min=1e-12)
        return torch.exp(-sq / (2 * self.alpha * sigma2))


class MultipleKernelMMD(nn.Module):
    """(Multi-kernel) maximum mean discrepancy between source and target features: DAN.

    Long, Cao, Wang & Jordan, "Learning Transferable Features with Deep Adaptation Networks",
    ICML 2015, https://arxiv.org/abs/1502.02791; the MMD itself: Gretton et al., "A Kernel
    Two-Sample Test", JMLR 2012.

    The biased estimate ``mean K_ss + mean K_tt - 2 mean K_st`` with the kernel an equally
    weighted sum of Gaussian kernels (default bandwidths ``2^-3 .. 2^1`` times the batch
    scale, as TLlib's DAN). One kernel gives the plain MMD.

    Args:
        kernels: the kernels to sum; default five Gaussians.

    Shape:
        ``f_s (Bs, F)``, ``f_t (Bt, F)`` -> scalar (non-negative up to rounding).
    """

    def __init__(self, kernels: list[nn.Module] | None = None) -> None:
        super().__init__()
        self.kernels = nn.ModuleList(kernels or [GaussianKernel(2.0**k) for k in range(-3, 2)])

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
        n = len(f_s)
        x = torch.cat([f_s, f_t], dim=0).float()
        K = sum(k(x) for k in self.kernels)
        return K[:n, :n].mean() + K[n:, n:].mean() - 2 * K[:n, n:].mean()


def moment_distance(f_s: torch.Tensor, domains: torch.Tensor, f_t: torch.Tensor,
                    order: int = 2) -> torch.Tensor:
    """M3SDA's moment distance: the mean, over every pair of domains (each source and the
    target), of the distances between their first ``order`` feature moments, each distance
    the root-mean-square difference per feature dimension (the Euclidean distance divided by
    ``sqrt(F)``), so that the loss does not grow with the bottleneck's width and stays on the
    cross-entropy's scale (the paper's code instead weighs the summed distance by 5e-4).

    Peng, Bai, Xia, Huang, Saenko & Wang, "Moment Matching for Multi-Source Domain
    Adaptation", ICCV 2019, https://arxiv.org/abs/1812.01754 (their ``k = 2``). Sources with
    fewer than two rows in the batch are left out of that step.

    Shape:
        ``f_s (Bs, F)``, ``domains (Bs,)`` source indices, ``f_t (Bt, F)`` -> scalar.
    """
    groups = [f_s[domains == d].float() for d in torch.unique(domains)]
    groups = [g for g in groups if len(g) >= 2] + [f_t.float()]
    if len(groups) < 2:
        return f_s.new_zeros(())
    moments = [[(g ** k).mean(0) for k in range(1, order + 1)] for g in groups]
    total, pairs = f_s.new_zeros((), dtype=torch.float32), 0
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            total = total + sum(torch.linalg.vector_norm(a - b) / a.numel() ** 0.5
                                for a, b in zip(moments[i], moments[j], strict=True))
            pairs += 1
    return total / pairs
