"""What a training run shows while it trains: a progress bar whose postfix is the latest loss and evaluated
success, and (for behaviour cloning, which stable-baselines3 does not log) the same numbers in TensorBoard.

RL runs get their TensorBoard scalars from stable-baselines3 (``tb/run_<n>``); a BC run writes ``tb/bc`` here,
with ``eval/success_rate`` under the tag the RL runs use, so both show up side by side in one TensorBoard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm


def postfix(success: float | None = None, loss: float | None = None, holdout: float | None = None) -> str:
    """The bar's postfix, e.g. ``loss 0.0123, held-out 0.015, success 42%``: only what is known so far."""
    parts = [f"loss {loss:.3g}"] if loss is not None else []
    parts += [f"held-out {holdout:.3g}"] if holdout is not None else []
    parts += [f"success {success:.0%}"] if success is not None else []
    return ", ".join(parts)


class Progress(BaseCallback):
    """A progress bar over env steps, from where a resumed run left off; its postfix is the success rate of the
    last evaluation (``evaluated``), so a resumed run starts from the last row of its curve."""

    def __init__(self, total: int, enabled: bool, label: str, success: float | None = None) -> None:
        super().__init__()
        self.total, self.enabled, self.label, self.success, self.bar = total, enabled, label, success, None

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.num_timesteps, desc=self.label, unit="step",
                        disable=not self.enabled, dynamic_ncols=True)  # fmt: skip
        if self.success is not None:
            self.bar.set_postfix_str(postfix(self.success))

    def evaluated(self, result: dict[str, Any]) -> None:
        self.success = result["success_rate"]
        if self.bar is not None:
            self.bar.set_postfix_str(postfix(self.success))

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class BCProgress:
    """A BC run's bar (over epochs, or DAgger rounds) and its TensorBoard scalars in ``log_dir``: ``bc/train_loss``
    and ``bc/holdout_loss`` per epoch (counted on across DAgger rounds), ``dagger/validation_success`` per round,
    ``eval/success_rate`` of the final evaluation. A context manager, so an interrupted run still closes both."""

    def __init__(self, log_dir: Path, label: str, total: int, unit: str, enabled: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter  # needs tensorboard, as SB3 does for RL: to train only

        self.label, self.enabled = label, enabled
        self.bar = tqdm(total=total, desc=label, unit=unit, disable=not enabled, dynamic_ncols=True)
        self.writer = SummaryWriter(log_dir=str(log_dir))
        self.epochs = 0
        self.shown: dict[str, float] = {}

    def __enter__(self) -> BCProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
        self.writer.close()

    def _show(self, **values: float) -> None:
        self.shown.update(values)
        self.bar.set_postfix_str(postfix(**self.shown))

    def _log_epoch(self, train_loss: float, holdout_loss: float) -> None:
        self.writer.add_scalar("bc/train_loss", train_loss, self.epochs)
        self.writer.add_scalar("bc/holdout_loss", holdout_loss, self.epochs)
        self.epochs += 1

    def epoch(self, epoch: int, train_loss: float, holdout_loss: float) -> None:
        """``train_bc``'s ``on_epoch``: one step of the bar."""
        self._log_epoch(train_loss, holdout_loss)
        self.bar.update(1)
        self._show(loss=train_loss, holdout=holdout_loss)

    def round(self, i: int, fit: Any, validation_success: float) -> None:
        """A DAgger round: its fit's epochs (a ``BCHistory``), and the bar shows the kept epoch and validation."""
        for train_loss, holdout_loss in zip(fit.train_loss, fit.holdout_loss, strict=True):
            self._log_epoch(train_loss, holdout_loss)
        self.writer.add_scalar("dagger/validation_success", validation_success, i)
        self.bar.update(1)
        best = fit.best_epoch
        self._show(loss=fit.train_loss[best], holdout=fit.holdout_loss[best], success=validation_success)
        if self.enabled:  # the rounds stay readable above the bar
            self.bar.write(f"{self.label} round {i}: validation success {validation_success:.0%}")

    def evaluated(self, success: float) -> None:
        """The final evaluation (BC uses no env steps, as ``eval.json`` says: logged at step 0)."""
        self.writer.add_scalar("eval/success_rate", success, 0)
        self._show(success=success)
