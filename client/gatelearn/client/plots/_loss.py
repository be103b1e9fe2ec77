"""The `loss` picture: a model's training curve, and its population's epochs-to-solve.

Loss and accuracy at the epochs GetModel's history recorded (a log scale for the loss on
request); for a population, a histogram of the epoch at which each member was first solved.
"""

from __future__ import annotations

from typing import Any

from gatelearn.client.client import Client
from gatelearn.client.plots._figures import FALSE_COLOUR, TRUE_COLOUR, CannotPlot, new_figure

__all__ = ["plot_loss"]


def plot_loss(client: Client, name: str, *, version: int = 0, log: bool = False) -> Any:
    """A Figure of model `name`'s loss and accuracy against epochs; `log`: the loss on a log
    scale. A population training adds the distribution of its members' epochs-to-solve."""
    detail = client.model(name, version=version)
    history, summary = detail.history, detail.summary
    if not history.epochs:
        raise CannotPlot(f"{summary.ref} has no recorded history (imported without one)")
    solved_epochs = detail.member_solved_epochs
    panels = 3 if len(solved_epochs) > 1 else 2
    figure = new_figure(6.4, 2.2 * panels + 0.4)
    axes = figure.subplots(panels, 1)
    loss_axes, accuracy_axes = axes[0], axes[1]
    loss_axes.plot(history.epochs, history.loss, color=FALSE_COLOUR)
    loss_axes.set(ylabel="loss", title=f"{summary.ref} ({summary.task})")
    if log:
        loss_axes.set_yscale("log")
    accuracy_axes.plot(history.epochs, history.accuracy, color=TRUE_COLOUR)
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", ylim=(-0.05, 1.05))
    solved = summary.metrics.solved_epoch
    if solved >= 0:
        for panel in (loss_axes, accuracy_axes):
            panel.axvline(solved, color="gray", linestyle=":", label=f"solved at {solved}")
        loss_axes.legend(fontsize=8)
    accuracy_axes.sharex(loss_axes)
    if panels == 3:
        _epochs_to_solve(axes[2], solved_epochs)
    return figure


def _epochs_to_solve(axes: Any, solved_epochs: list[int]) -> None:
    solved = [epoch for epoch in solved_epochs if epoch >= 0]
    axes.hist(solved, bins=min(30, max(1, len(solved))), color=TRUE_COLOUR)
    axes.set(
        xlabel="epoch first solved",
        ylabel="members",
        title=f"{len(solved)} of {len(solved_epochs)} members solved",
    )
