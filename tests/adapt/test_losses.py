"""The loss modules: gradient reversal, DANN / CDAN(+E) losses, MMD, the lambda schedule."""

import math

import pytest
import torch

from transferkit.adapt.losses import (
    ConditionalDomainAdversarialLoss,
    DomainAdversarialLoss,
    DomainDiscriminator,
    GradientReverse,
    MultiLinearMap,
    MultipleKernelMMD,
    RandomizedMultiLinearMap,
    dann_lambda,
    entropy,
    information_maximization_loss,
)
from transferkit.adapt.selftrain import ConfidencePseudoLabelLoss


@pytest.mark.parametrize("coeff", [1.0, 0.3])
def test_gradient_reverse_is_identity_forward_and_flips_the_gradient(coeff):
    x = torch.randn(4, 3, requires_grad=True)
    grl = GradientReverse(coeff)
    y = grl(x)
    assert torch.equal(y, x)
    w = torch.randn(4, 3)
    (y * w).sum().backward()
    assert torch.allclose(x.grad, -coeff * w)


def test_dann_loss_trains_discriminator_forward_and_features_backward():
    torch.manual_seed(0)
    disc = DomainDiscriminator(4, 8, batch_norm=False).eval()
    loss_fn = DomainAdversarialLoss(disc)
    fs, ft = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4, requires_grad=True)
    loss_fn(fs, ft).backward()
    g_features = fs.grad.clone()
    g_disc = [p.grad.clone() for p in disc.parameters()]
    # The same loss without reversal: identical discriminator gradients, opposite feature ones.
    for p in disc.parameters():
        p.grad = None
    fs2, ft2 = fs.detach().requires_grad_(True), ft.detach().requires_grad_(True)
    d = disc(torch.cat([fs2, ft2]))
    target = torch.cat([torch.ones(6, 1), torch.zeros(6, 1)])
    torch.nn.functional.binary_cross_entropy_with_logits(d, target).backward()
    assert torch.allclose(g_features, -fs2.grad, atol=1e-7)
    for a, p in zip(g_disc, disc.parameters(), strict=True):
        assert torch.allclose(a, p.grad, atol=1e-7)
    assert 0.0 <= float(loss_fn.domain_accuracy) <= 1.0


def test_dann_lambda_schedule():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert dann_lambda(0.5, max_value=2.0) == pytest.approx(2 * (2 / (1 + math.exp(-5)) - 1))
    values = [dann_lambda(p / 10) for p in range(11)]
    assert values == sorted(values)  # rises monotonically


def test_cdan_map_sizes_and_randomized_map_for_many_classes():
    f, g = torch.randn(5, 7), torch.softmax(torch.randn(5, 3), 1)
    assert MultiLinearMap()(f, g).shape == (5, 21)
    assert torch.allclose(MultiLinearMap()(f, g)[:, :7], g[:, :1] * f)
    assert RandomizedMultiLinearMap(7, 3, 16)(f, g).shape == (5, 16)
    # 256 features x 31 classes = 7936 > 4096: the randomized map is chosen automatically.
    assert ConditionalDomainAdversarialLoss.map_size(256, 31) == 1024
    assert ConditionalDomainAdversarialLoss.map_size(256, 10) == 2560
    loss = ConditionalDomainAdversarialLoss(DomainDiscriminator(1024, 32), 256, 31)
    assert loss.randomized


def test_cdan_entropy_conditioning_weights_confident_rows_more():
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, 16, batch_norm=False).eval()
    plain = ConditionalDomainAdversarialLoss(disc, 4, 2, entropy_conditioning=False)
    cond = ConditionalDomainAdversarialLoss(disc, 4, 2, entropy_conditioning=True)
    f = torch.randn(4, 4)
    confident = torch.tensor([[9.0, -9.0], [0.0, 0.0], [9.0, -9.0], [0.0, 0.0]])
    a = plain(confident[:2], f[:2], confident[2:], f[2:])
    b = cond(confident[:2], f[:2], confident[2:], f[2:])
    assert torch.isfinite(a) and torch.isfinite(b) and not torch.isclose(a, b)
    p = torch.softmax(confident, 1)
    w = 1 + torch.exp(-entropy(p))
    assert w[0] > w[1]  # confident rows get the larger weight


def test_mmd_small_for_same_distribution_large_for_shifted():
    torch.manual_seed(0)
    mmd = MultipleKernelMMD()
    a, b = torch.randn(200, 5), torch.randn(200, 5)
    same = float(mmd(a, b))
    shifted = float(mmd(a, b + 1.5))
    assert abs(same) < 0.05 and shifted > 5 * max(same, 1e-3)


def test_pseudo_label_loss_masks_unconfident_rows():
    loss = ConfidencePseudoLabelLoss(threshold=0.9)
    logits = torch.tensor([[5.0, 0.0], [0.1, 0.0]], requires_grad=True)
    out = loss(logits)
    assert float(loss.mask_rate) == 0.5
    out.backward()
    assert torch.all(logits.grad[1] == 0) and torch.any(logits.grad[0] != 0)


def test_information_maximization_rewards_confident_balanced_predictions_only():
    n = 4
    confident_balanced = torch.eye(n) * 30.0          # each row sure, every class used
    confident_collapsed = torch.zeros(n, n)
    confident_collapsed[:, 0] = 30.0                   # each row sure, one class for all
    unsure = torch.zeros(n, n)                          # uniform predictions
    assert float(information_maximization_loss(confident_balanced)) == pytest.approx(-math.log(n),
                                                                                abs=1e-3)
    assert float(information_maximization_loss(confident_collapsed)) == pytest.approx(0.0, abs=1e-3)
    assert float(information_maximization_loss(unsure)) == pytest.approx(0.0, abs=1e-3)
    # Descending it from unsure predictions makes rows confident without collapsing them.
    logits = (torch.randn(64, n, generator=torch.Generator().manual_seed(0)) * 0.1
              ).requires_grad_()
    opt = torch.optim.SGD([logits], lr=50.0)  # the mean spreads the gradient over 64 rows
    for _ in range(200):
        opt.zero_grad()
        information_maximization_loss(logits).backward()
        opt.step()
    probs = torch.softmax(logits.detach(), 1)
    assert float(probs.max(1).values.mean()) > 0.9
    assert len(set(probs.argmax(1).tolist())) == n
