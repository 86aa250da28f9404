"""The smoothed loss curves: an exponential moving average with the bias correction of
TensorBoard and Adam. A plain average started from the first (high) loss lags behind the
losses for hundreds of batches; started from 0 and divided by 1 - smoothing**n, it is the
first loss at first and follows the losses from the first batches, with the same
smoothing strength once n is large."""
from __future__ import annotations


class SmoothedLoss:
    """Feed losses one by one with add(); each call gives the smoothed value so far."""

    def __init__(self, smoothing: float):
        self.smoothing = smoothing
        self._average = 0.0
        self._count = 0

    def add(self, loss: float) -> float:
        self._count += 1
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        return self._average / (1 - self.smoothing ** self._count)


def batch_loss_smoothing(batches_per_epoch: int, strongest: float = 0.95) -> float:
    """The smoothing of the batch-loss curve for a run of `batches_per_epoch`: an average
    over about a fifth of an epoch, at most 1 / (1 - strongest) batches (20). At 0.95 a
    run of 12 batches an epoch ended with the smoothed loss at twice the losses: it
    trails them by about 20 batches."""
    span = min(1 / (1 - strongest), max(1.0, batches_per_epoch / 5))
    return 1 - 1 / span
