"""A run's learning curve as a PNG (``curve.png`` in the run folder), drawn at the end of every training run.

RL: success rate against env steps, from the periodic evaluations (``curve.csv``) and the final one. BC takes no
env steps, so its figure shows what it has: the loss per epoch (train and held-out, each DAgger round's fit) and
the final success beside it (and each DAgger round's validation success).

matplotlib is imported when a figure is drawn, and draws on its Agg canvas: loading a policy (``embodia eval``)
imports this module's importer and needs no plotting, and no global backend is switched under the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embodia.agents.learn.bc import BCHistory

DPI = 110
PANEL_SIZE_IN = (5.2, 3.8)
SUCCESS_LIMITS = (-0.03, 1.03)  # a little room, so 0% and 100% points are not cut by the frame
LOG_SCALE_RATIO = 10.0  # losses spanning more than a decade are drawn on a log scale


def _figure(panels: int, title: str) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(PANEL_SIZE_IN[0] * panels, PANEL_SIZE_IN[1]), layout="constrained")
    figure.suptitle(title)
    return figure, list(figure.subplots(1, panels, squeeze=False)[0])


def _success_axis(ax: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(*SUCCESS_LIMITS)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("success rate")
    ax.grid(alpha=0.3)


def _save(figure: Any, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure).print_png(str(path), metadata={"Software": "embodia"})
    return path


def _final_label(final: dict[str, Any]) -> str:
    return f"final: {final['success_rate']:.0%} over {final['episodes']} episodes"


def plot_rl_curve(path: Path, title: str, curve: Sequence[dict[str, float]], final: dict[str, Any] | None) -> Path:
    """Success rate against env steps: the ``curve.csv`` rows, and the final evaluation (None: interrupted)."""
    figure, (ax,) = _figure(1, title)
    ax.plot([row["env_steps"] for row in curve], [row["success_rate"] for row in curve], marker="o",
            label="periodic evaluation")  # fmt: skip
    if final is not None:
        ax.plot([final["env_steps"]], [final["success_rate"]], marker="*", markersize=14, linestyle="none",
                label=_final_label(final))  # fmt: skip
    ax.set_xlabel("env steps")
    _success_axis(ax)
    ax.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_bc_curve(
    path: Path, title: str, fits: Sequence[BCHistory], final: dict[str, Any], validation: Sequence[float] = ()
) -> Path:
    """Loss per epoch of each fit (one for BC, one per DAgger round) and the success: the final evaluation, and
    the rounds' ``validation`` success rates when there are rounds."""
    from matplotlib.ticker import MaxNLocator

    figure, (loss_ax, success_ax) = _figure(2, title)
    for k, fit in enumerate(fits):
        name = f"round {k} " if len(fits) > 1 else ""
        epochs = range(1, len(fit.train_loss) + 1)
        (line,) = loss_ax.plot(epochs, fit.train_loss, label=f"{name}train")
        loss_ax.plot(epochs, fit.holdout_loss, linestyle="--", color=line.get_color(), label=f"{name}held-out")
        if 0 <= fit.best_epoch < len(fit.holdout_loss):
            loss_ax.plot([fit.best_epoch + 1], [fit.holdout_loss[fit.best_epoch]], marker="o", linestyle="none",
                         color=line.get_color(), label="kept weights" if k == 0 else None)  # fmt: skip
    losses = [value for fit in fits for value in fit.train_loss + fit.holdout_loss]
    if losses and min(losses) > 0 and max(losses) > LOG_SCALE_RATIO * min(losses):
        loss_ax.set_yscale("log")
    loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set(xlabel="epoch", ylabel="loss (mean squared action error)", title="loss per epoch")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend(loc="best", fontsize="small")
    if validation:
        success_ax.plot(range(len(validation)), validation, marker="o", label="validation per round")
        success_ax.axhline(final["success_rate"], linestyle="--", color="black", label=_final_label(final))
        success_ax.set_xticks(range(len(validation)))
        success_ax.set(xlabel="DAgger round", title="success")
        success_ax.legend(loc="best", fontsize="small")
    else:
        success_ax.bar([0], [final["success_rate"]], width=0.5)
        success_ax.annotate(f"{final['success_rate']:.0%}", (0, final["success_rate"]), ha="center",
                            xytext=(0, 4), textcoords="offset points")  # fmt: skip
        success_ax.set_xticks([0], [f"final evaluation\n({final['episodes']} episodes)"])
        success_ax.set_xlim(-1, 1)
        success_ax.set_title("success")
    _success_axis(success_ax)
    return _save(figure, path)
