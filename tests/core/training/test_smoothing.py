"""The smoothed loss: bias-corrected, so it follows the losses at once and smooths as strongly later."""
import pytest

from pytorchgui.core.training.smoothing import SmoothedLoss


def test_a_constant_loss_is_smoothed_to_itself_from_the_first_value():
    smoothed = SmoothedLoss(0.95)
    assert [smoothed.add(0.5) for _ in range(5)] == pytest.approx([0.5] * 5)


def test_after_many_losses_it_smooths_as_the_plain_average_does():
    smoothed, plain = SmoothedLoss(0.95), 0.0
    for step in range(400):
        loss = 1.0 if step % 2 else 0.0
        value = smoothed.add(loss)
        plain = 0.95 * plain + 0.05 * loss
    assert value == pytest.approx(plain, rel=1e-6) and 0.45 < value < 0.55  # a zigzag reads as its middle
