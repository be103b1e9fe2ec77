"""A progress bar for training, fed by the Train stream's progress events.

On a terminal it redraws one line in place with a carriage return; on a pipe or a file it
writes whole lines, at most one per `interval` seconds, so logs stay readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from gatelearn.client.cli._output import held_out_text, share
from gatelearn.client.types import Progress

__all__ = ["ProgressBar", "render"]


def render(progress: Progress, width: int = 24) -> str:
    """`epoch  1200/5000 [#####...............]  24%  loss 0.1234  accuracy 0.75`."""
    done = min(1.0, progress.epoch / progress.epochs) if progress.epochs else 1.0
    filled = round(done * width)
    digits = len(str(progress.epochs))
    line = (
        f"epoch {progress.epoch:>{digits}}/{progress.epochs} "
        f"[{'#' * filled}{'.' * (width - filled)}] {done:4.0%}  "
        f"loss {progress.loss:.4g}  accuracy {share(progress.accuracy)}"
        f"{held_out_text(progress.validation_loss, progress.validation_accuracy)}"
    )
    if progress.population > 1:
        line += f"  solved {progress.solved_members}/{progress.population}"
    return line


class ProgressBar:
    """Shows progress events on `stream`; call `close` when the run ends."""

    def __init__(
        self, stream: TextIO, *, interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.in_place = stream.isatty()
        self._last: float | None = None
        self._drawn = 0  # length of the line currently drawn in place

    def update(self, progress: Progress) -> None:
        now = self.clock()
        if not self.in_place and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        line = render(progress)
        if self.in_place:
            self.stream.write("\r" + line.ljust(self._drawn))
            self._drawn = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Erase the in-place line, so what follows starts on a clean line."""
        if self.in_place and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0
