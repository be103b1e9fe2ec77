"""The training loop: backpropagation over a population, with every buffer allocated up front.

Each epoch first runs a forward pass over all rows with the current weights; that pass decides
whether to stop (solved, loss target, patience, epoch limit, cancelled) and, in full-batch mode,
is also the pass the gradients come from. So a run that stops returns exactly the weights its
final metrics describe, and `epochs` counts the updates applied.

With a validation share, a seeded share of the rows is held out: the run trains on the rest,
measures the held-out rows' loss and accuracy alongside, and `patience` watches their loss.

A run hands on its `RunState` (the optimizer's state, the minibatch order), and a run given one
as `start` continues from it: N epochs and then M more from the state give the very weights of
one N + M epoch run, bit for bit (the stop conditions' own counters, such as patience's, start
afresh).
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core._calls import Call, calls_of, run_calls
from gatelearn.core.components import Dataset, Loss, Optimizer
from gatelearn.core.forward import ForwardPass, flat, matrices
from gatelearn.core.network import Network
from gatelearn.core.recorder import HistoryRecorder
from gatelearn.core.state import OptimizerState, RunState, ShuffleState

__all__ = [
    "AUTO_RECORDS",
    "DEFAULT_EPOCHS",
    "History",
    "Progress",
    "ProgressCallback",
    "StopReason",
    "TrainConfig",
    "TrainResult",
    "split_validation",
    "train",
]

Array = NDArray[np.floating[Any]]

# The history a run keeps by default: every epoch while it is short, then thinned evenly to
# between half this and this many points. Recording costs a loss and an accuracy pass, so a
# long run must not record every epoch: a 5000-epoch XOR run takes about twice as long so,
# and about 1.1 times as long with this default as with a fixed ~200 points.
AUTO_RECORDS = 256
DEFAULT_EPOCHS = 5000  # the epoch limit of a config that sets none


class StopReason(enum.StrEnum):
    """Why a run ended."""

    SOLVED = "solved"  # every member has had every output past the threshold by the margin
    LOSS_TARGET = "loss_target"  # every member's loss at or below the target
    PATIENCE = "patience"  # no member's loss improved for `patience` epochs
    EPOCHS = "epochs"  # the epoch limit
    CANCELLED = "cancelled"  # the progress callback asked to stop
    DIVERGED = "diverged"  # every member's loss became NaN or infinite


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Zero or None switches an optional stop condition off."""

    epochs: int | None = None  # None: DEFAULT_EPOCHS (a recipe sets the task's own budget)
    batch_size: int = 0  # rows per update; 0 means all rows (full batch)
    shuffle: bool = True  # reshuffle rows every epoch when batch_size < rows
    shuffle_seed: int = 0  # seeds the row order
    weight_decay: float = 0.0  # L2: adds weight_decay * W to every weight gradient
    stop_when_solved: bool = True
    margin: float = 0.25  # fraction of (high - low) an output must clear the threshold by
    loss_target: float | None = None
    patience: int = 0  # epochs without a loss improvement of min_delta; 0 = off
    validation_share: float = 0.0  # rows held out (0 to 0.5), drawn with shuffle_seed
    min_delta: float = 0.0
    record_every: int = 0  # history interval in epochs; 0 = every epoch, to AUTO_RECORDS points
    max_records: int = 0  # history points kept (at least 2); beyond, thinned evenly; 0 = all
    progress_interval: float = 0.1  # seconds between progress callbacks, at most

    @property
    def epoch_limit(self) -> int:
        """The most updates the run applies: `epochs`, or DEFAULT_EPOCHS when unset."""
        return DEFAULT_EPOCHS if self.epochs is None else self.epochs

    @property
    def history_interval(self) -> int:
        """Epochs between history records before any thinning: `record_every`, or 1."""
        return self.record_every or 1

    @property
    def history_limit(self) -> int:
        """Records kept before the history is thinned (0: never thinned). Without a
        `record_every` at most AUTO_RECORDS, so a long run records rarely after its start."""
        limit = max(self.max_records, 2) if self.max_records else 0
        if self.record_every:
            return limit
        return min(limit, AUTO_RECORDS) if limit else AUTO_RECORDS

    @property
    def history_points(self) -> int:
        """The most points a history of this run can hold."""
        points = self.epoch_limit // self.history_interval + 2
        return min(points, self.history_limit) if self.history_limit else points


@dataclass(frozen=True)
class Progress:
    """What a progress callback sees: the state after `epoch` updates."""

    epoch: int
    epochs: int
    loss: Array  # per member, in the run's dtype
    accuracy: NDArray[np.float64]  # per member: share of rows with every output right
    solved: int  # members solved so far (0 when solving is not checked)
    validation_loss: Array | None = None  # per member, on the held-out rows, if any
    validation_accuracy: NDArray[np.float64] | None = None


@dataclass
class History:
    """Loss and accuracy of every member at the recorded epochs."""

    epochs: NDArray[np.int64]
    loss: NDArray[np.float64]  # (records, P)
    accuracy: NDArray[np.float64]  # (records, P)


@dataclass
class TrainResult:
    network: Network
    epochs: int
    stop_reason: StopReason
    loss: NDArray[np.float64]  # (P,)
    accuracy: NDArray[np.float64]  # (P,)
    min_margin: NDArray[np.float64]  # (P,) smallest signed distance past the threshold
    solved_epoch: NDArray[np.int64]  # (P,) first epoch each member was solved, -1 if never
    solved: NDArray[np.bool_]  # (P,) at the end, every output past the threshold by the margin
    history: History = field(repr=False)
    validation_loss: NDArray[np.float64] | None = None  # (P,) on the held-out rows, if any
    validation_accuracy: NDArray[np.float64] | None = None  # (P,)
    state: RunState = field(default_factory=RunState, repr=False)  # to continue the run


ProgressCallback = Callable[[Progress], bool | None]


# ndarray.any without its Python-level wrapper, for checks made every epoch.
_any = np.logical_or.reduce


def split_validation(data: Dataset, share: float, seed: int) -> tuple[Dataset, Dataset | None]:
    """The rows to train on and the held-out rows: round(share x rows) of them, at least one
    when `share` > 0, picked by a generator seeded from `seed` (None held out for share 0)."""
    if not share:
        return data, None
    rows = len(data.inputs)
    held = max(1, round(share * rows))
    if not 0 < share <= 0.5 or rows < 2:
        raise ValueError(f"validation share {share} of {rows} rows: needs 0 to 0.5 and 2 rows")
    # Its own stream, so the minibatch order (seeded by `seed` alone) does not follow it.
    order = np.random.default_rng([seed, 1]).permutation(rows)
    kept, out = np.sort(order[held:]), np.sort(order[:held])

    def part(rows: NDArray[np.intp]) -> Dataset:
        return Dataset(data.inputs[rows], data.targets[rows], data.low, data.high)

    return part(kept), part(out)


class _Sides:
    """Which side of the threshold each output of a pass is on, as prepared calls: the signed
    distances past it (positive when on the label's side), the rows with every output right,
    and the share of them."""

    def __init__(self, output: Array, data: Dataset) -> None:
        dtype, rows, population = output.dtype, output.shape[0], output.shape[2]
        sign = np.where(data.targets >= data.threshold, 1.0, -1.0)[:, :, None].astype(dtype)
        self.signed = np.empty_like(output)
        self.signed_calls: list[Call] = [
            partial(np.subtract, output, np.array(data.threshold, dtype), self.signed),
            partial(np.multiply, self.signed, sign, self.signed),
        ]
        # min, the comparison and the mean as the ufuncs they run (a mean of booleans sums in
        # float64): the same bits without NumPy's Python wrappers, which cost more than the
        # work on a truth table.
        row_min = np.empty((rows, population), dtype=dtype)
        self.rows_right = np.empty((rows, population), dtype=bool)
        self.rows_right_calls: list[Call] = [
            partial(np.minimum.reduce, self.signed, 1, None, row_min),
            partial(np.greater, row_min, 0, self.rows_right),
        ]

    def count_right(
        self, out: NDArray[np.float64] | None = None, signed_ready: bool = False
    ) -> NDArray[np.float64]:
        """Count of rows whose every output is on its label's side, per member, as float64
        (into `out` if given); `signed_ready` when `signed_calls` have just run on this output."""
        if not signed_ready:
            run_calls(self.signed_calls)
        run_calls(self.rows_right_calls)
        return np.add.reduce(self.rows_right, axis=0, dtype=np.float64, out=out)

    def share_right(self) -> NDArray[np.float64]:
        """Share of rows whose every output is on its label's side, per member."""
        return self.count_right() / len(self.rows_right)


class _HeldOut:
    """The held-out rows: a forward pass over them with the run's current weights."""

    def __init__(self, network: Network, data: Dataset, loss: Loss) -> None:
        dtype = network.dtype
        self.loss = loss
        self.forward = ForwardPass(network, np.ascontiguousarray(data.inputs, dtype=dtype))
        self.targets = data.targets[:, :, None].astype(dtype)
        self.sides = _Sides(self.forward.output, data)

    def loss_now(self) -> Array:
        """Each member's loss on the held-out rows, running the forward pass first."""
        self.forward.run()
        return self.loss.checked_value(self.forward.output, self.targets)

    def measure(self) -> tuple[Array, NDArray[np.float64]]:
        """Each member's loss and accuracy on the held-out rows."""
        loss = self.loss_now()
        return loss, self.sides.share_right()


def _flattened(state: OptimizerState) -> OptimizerState:
    """`state` in the layout of an elementwise binding: each name's arrays as one flat array."""
    return OptimizerState(
        {
            name: [np.concatenate([a.ravel() for a in arrays])]
            for name, arrays in state.arrays.items()
        },
        state.steps,
    )


def _views(buffer: Array, shapes: list[tuple[int, ...]]) -> list[Array]:
    """Consecutive pieces of the flat `buffer`, one view of each shape."""
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)  # not np.prod: its Python wrapper costs ~3 us a call
        views.append(buffer[start : start + size].reshape(shape))
        start += size
    return views


class _Pass:
    """Buffers for one batch size: the forward pass, and the backward pass as prepared calls
    reading the forward pass's `z` and `a`.

    Every array is allocated here and every call is bound to its arrays with `partial`, so an
    epoch is a walk over two lists of ready calls. The weight gradients mirror the forward
    products: plain matrices at P = 1, one product over all members side by side for the first
    layer at P > 1, `einsum` per member after it.
    """

    def __init__(self, trainer: _Trainer, rows: int) -> None:
        network = trainer.network
        single, dtype = network.population == 1, network.dtype
        self.inputs = np.empty((rows, network.sizes[0]), dtype=dtype)
        self.targets = np.empty((rows, network.sizes[-1], 1), dtype=dtype)
        forward = ForwardPass(network, self.inputs)
        self.forward, self.output = forward.calls, forward.output
        delta = [np.empty_like(z) for z in forward.z]
        deriv = [np.empty_like(z) for z in forward.z]

        self.backward: list[Call] = calls_of(
            trainer.loss.gradient, self.output, self.targets, delta[-1]
        )
        loss_calls = len(self.backward)
        for index, layer in enumerate(network.layers):
            source = self.inputs if index == 0 else forward.a[index - 1]
            z, a = forward.z[index], forward.a[index]
            grad_w, grad_b = trainer.grad_w[index], trainer.grad_b[index]
            if single:
                source_m = source if index == 0 else matrices(source)
                weight_grad = partial(source_m.T.dot, matrices(delta[index]), matrices(grad_w))
            elif index == 0:
                weight_grad = partial(source.T.dot, flat(delta[index]), flat(grad_w))
            else:
                weight_grad = partial(np.einsum, "rip,rop->iop", source, delta[index], out=grad_w)
            backward: list[Call] = [
                *calls_of(layer.activation.derivative, z, a, deriv[index]),
                partial(np.multiply, delta[index], deriv[index], delta[index]),
                weight_grad,
            ]
            if grad_b is not None:
                backward.append(partial(np.add.reduce, delta[index], 0, None, grad_b))
            if index and single:
                backward.append(
                    partial(
                        matrices(delta[index]).dot,
                        matrices(layer.weights).T,
                        matrices(delta[index - 1]),
                    )
                )
            elif index:
                backward.append(
                    partial(
                        np.einsum, "rop,iop->rip", delta[index], layer.weights, out=delta[index - 1]
                    )
                )
            # Layers are walked output first: after the loss gradient, this layer's calls go
            # before those of the layers below it.
            self.backward[loss_calls:loss_calls] = backward
        self.backward.extend(trainer.decay_calls)


class _Trainer:
    """One run: the network's arrays, the gradients, and the prepared passes."""

    def __init__(
        self,
        network: Network,
        data: Dataset,
        loss: Loss,
        optimizer: Optimizer,
        config: TrainConfig,
        held: Dataset | None = None,
        start: RunState | None = None,
    ) -> None:
        self.network = network
        self.loss = loss
        self.config = config
        layers = network.layers
        # Every parameter lives in one flat buffer and every gradient in another; while the run
        # lasts, the layers hold C-ordered views of them, as the prepared products need.
        self.callers_arrays = [(layer.weights, layer.bias) for layer in layers]
        arrays = [layer.weights for layer in layers]
        arrays += [layer.bias for layer in layers if layer.bias is not None]
        shapes = [array.shape for array in arrays]
        self.params = np.concatenate([array.ravel() for array in arrays])
        self.grads = np.zeros_like(self.params)
        self.shapes = shapes
        param_views, grad_views = _views(self.params, shapes), _views(self.grads, shapes)
        self.grad_w = grad_views[: len(layers)]
        self.grad_b: list[Array | None] = []
        biases = iter(zip(param_views[len(layers) :], grad_views[len(layers) :], strict=True))
        for layer, weights in zip(layers, param_views[: len(layers)], strict=True):
            layer.weights = weights
            if layer.bias is None:
                self.grad_b.append(None)
            else:
                layer.bias, grad_b = next(biases)
                self.grad_b.append(grad_b)
        self.decay_calls: list[Call] = []
        if config.weight_decay:
            for layer, grad in zip(layers, self.grad_w, strict=True):
                scratch = np.empty_like(grad)
                self.decay_calls += [
                    partial(np.multiply, layer.weights, config.weight_decay, scratch),
                    partial(np.add, grad, scratch, grad),
                ]
        self.optimizer = optimizer
        resume = None if start is None else start.optimizer
        if resume is not None and optimizer.state_names is None:
            raise ValueError(
                f"optimizer {optimizer.name!r} declares no state, so a run with it "
                f"cannot be continued"
            )
        if optimizer.elementwise:  # a few calls over all parameters, not a few per array
            optimizer.resume = None if resume is None else _flattened(resume)
            self.step = [optimizer.bind([self.params], [self.grads])]
        else:
            optimizer.resume = resume
            self.step = [optimizer.bind(param_views, grad_views)]
        if optimizer.state_names is not None and optimizer.state is None:
            raise ValueError(
                f"optimizer {optimizer.name!r} declares state {optimizer.state_names}"
                f" but its bind did not take it from start_state"
            )

        self.rows = len(data.inputs)
        self.batch = min(config.batch_size or self.rows, self.rows)
        self.full = _Pass(self, self.rows)
        self.full.inputs[...] = data.inputs
        self.full.targets[...] = data.targets[:, :, None]
        self.passes: dict[int, _Pass] = {self.rows: self.full}
        for size in {self.batch, self.rows % self.batch}:
            if size and size not in self.passes:
                self.passes[size] = _Pass(self, size)
        self.order = np.arange(self.rows)
        self.rng = np.random.default_rng(config.shuffle_seed)
        shuffle = None if start is None else start.shuffle
        if shuffle is not None and len(shuffle.order) == self.rows:
            self.order[...] = shuffle.order
            self.rng.bit_generator.state = shuffle.generator_state()

        self.held = None if held is None else _HeldOut(network, held, loss)
        self.sides = _Sides(self.full.output, data)
        self.min_margin = np.empty(network.population, dtype=network.dtype)
        self.solved_now = np.zeros(network.population, dtype=bool)
        self.margin_calls: list[Call] = [
            *self.sides.signed_calls,
            partial(np.minimum.reduce, self.sides.signed, (0, 1), None, self.min_margin),
            partial(
                np.greater,
                self.min_margin,
                np.array(config.margin * (data.high - data.low), network.dtype),
                self.solved_now,
            ),
        ]
        self.frozen = [
            (
                np.empty_like(layer.weights),
                None if layer.bias is None else np.empty_like(layer.bias),
            )
            for layer in layers
        ]
        self.frozen_members = np.zeros(network.population, dtype=bool)

    def hand_back(self) -> None:
        """Copy the trained values into the arrays the layers came with and put those back, so
        references the caller kept stay live."""
        for layer, (weights, bias) in zip(self.network.layers, self.callers_arrays, strict=True):
            weights[...] = layer.weights
            layer.weights = weights
            if bias is not None and layer.bias is not None:
                bias[...] = layer.bias
                layer.bias = bias

    def run_state(self) -> RunState:
        """The optimizer's state in the stored layout and, with minibatches, the row order."""
        optimizer = self.optimizer
        state = optimizer.state if optimizer.state_names is not None else None
        if state is not None and optimizer.elementwise:
            state = OptimizerState(
                {
                    name: [view.copy() for view in _views(flat, self.shapes)]
                    for name, (flat,) in state.arrays.items()
                },
                state.steps,
            )
        elif state is not None:
            state = OptimizerState(
                {name: [a.copy() for a in arrays] for name, arrays in state.arrays.items()},
                state.steps,
            )
        shuffle = ShuffleState.of(self.order, self.rng) if self.batch < self.rows else None
        return RunState(state, shuffle)

    def update_minibatches(self) -> None:
        """One epoch of updates on batches of `self.batch` rows."""
        if self.config.shuffle:
            self.rng.shuffle(self.order)
        full = self.full
        for start in range(0, self.rows, self.batch):
            rows = self.order[start : start + self.batch]
            p = self.passes[len(rows)]
            np.take(full.inputs, rows, axis=0, out=p.inputs)
            np.take(full.targets, rows, axis=0, out=p.targets)
            run_calls(p.forward)
            run_calls(p.backward)
            run_calls(self.step)

    def check_solved(self) -> bool:
        """Compute each member's smallest signed margin and whether it clears the requested
        margin (the one meaning of "solved"); True when any member does."""
        run_calls(self.margin_calls)
        return bool(_any(self.solved_now))

    def freeze(self, members: NDArray[np.bool_]) -> None:
        """Keep a copy of `members` as they are now: the moment each was solved.

        A solved member goes on computing with the others (masking it out would cost every
        epoch), but it is handed back as it was when solved, which is exactly where it would
        have stopped had it trained alone.
        """
        if self.network.population == 1:
            return  # a single network stops right here anyway
        for layer, (weights, bias) in zip(self.network.layers, self.frozen, strict=True):
            weights[..., members] = layer.weights[..., members]
            if bias is not None and layer.bias is not None:
                bias[..., members] = layer.bias[..., members]
        self.frozen_members |= members

    def thaw(self) -> bool:
        """Put the frozen members back; True if there were any."""
        members = self.frozen_members
        if not members.any():
            return False
        for layer, (weights, bias) in zip(self.network.layers, self.frozen, strict=True):
            layer.weights[..., members] = weights[..., members]
            if bias is not None and layer.bias is not None:
                layer.bias[..., members] = bias[..., members]
        return True

    def accuracy(self) -> NDArray[np.float64]:
        """Share of rows whose every output is on its label's side, per member."""
        return self.sides.share_right()

    def held_out(self) -> tuple[Array | None, NDArray[np.float64] | None]:
        """Each member's loss and accuracy on the held-out rows; None, None without any."""
        return (None, None) if self.held is None else self.held.measure()

    def run(self, on_progress: ProgressCallback | None) -> TrainResult:
        config, full = self.config, self.full
        population = self.network.population
        history = HistoryRecorder(
            population,
            config.history_interval,
            config.history_limit,
            self.rows,
            self.sides.count_right,
        )
        full_batch = self.batch == self.rows
        need_loss = config.loss_target is not None or config.patience > 0
        solved_epoch = np.full(population, -1, dtype=np.int64)
        unsolved = np.ones(population, dtype=bool)
        newly = np.empty(population, dtype=bool)
        best_loss = np.full(population, np.inf)
        stale = 0
        next_progress = time.monotonic() + config.progress_interval
        # With nothing to check between record epochs, whole stretches of full-batch epochs run
        # as one flat cycle of calls: backward, step, then the next epoch's forward.
        quiet = full_batch and on_progress is None and not need_loss and not config.stop_when_solved
        cycle = [*full.backward, *self.step, *full.forward]
        epoch = 0
        run_calls(full.forward)
        while True:
            reason: StopReason | None = None
            # Until a member solves, the check is all there is to do: a single network's
            # epochs skip the bookkeeping below (about 0.8 us each).
            if config.stop_when_solved and self.check_solved():
                np.logical_and(self.solved_now, unsolved, out=newly)
                if _any(newly):  # rare: allocating here is fine
                    solved_epoch[newly] = epoch
                    self.freeze(newly)
                    unsolved &= ~newly
                if not _any(unsolved):
                    reason = StopReason.SOLVED
            if need_loss:
                loss = self.loss.checked_value(full.output, full.targets)
                if config.loss_target is not None and (loss <= config.loss_target).all():
                    reason = reason or StopReason.LOSS_TARGET
                if config.patience:
                    watched = loss if self.held is None else self.held.loss_now()
                    improved = watched < best_loss - config.min_delta
                    np.minimum(best_loss, watched, out=best_loss)
                    stale = 0 if improved.any() else stale + 1
                    if stale >= config.patience:
                        reason = reason or StopReason.PATIENCE
            if epoch >= config.epoch_limit:
                reason = reason or StopReason.EPOCHS
            if epoch % history.interval == 0 or reason is not None:
                loss = self.loss.checked_value(full.output, full.targets)
                if not _any(np.isfinite(loss)):
                    reason = StopReason.DIVERGED
                history.record(epoch, loss, reason is not None, config.stop_when_solved)
            if on_progress is not None and reason is None and time.monotonic() >= next_progress:
                progress = Progress(
                    epoch,
                    config.epoch_limit,
                    self.loss.checked_value(full.output, full.targets),
                    self.accuracy(),
                    int((solved_epoch >= 0).sum()),
                    *self.held_out(),
                )
                if on_progress(progress):
                    reason = StopReason.CANCELLED
                next_progress = time.monotonic() + config.progress_interval
            if reason is not None:
                break
            if quiet:
                every = history.interval
                stretch = min(config.epoch_limit, (epoch // every + 1) * every) - epoch
                for _ in range(stretch):
                    for call in cycle:
                        call()
                epoch += stretch
                continue
            if full_batch:
                run_calls(full.backward)
                run_calls(self.step)
            else:
                self.update_minibatches()
            epoch += 1
            run_calls(full.forward)

        if self.thaw():
            run_calls(full.forward)
            history.replace_last(epoch, self.loss.checked_value(full.output, full.targets))
        if history.last_epoch != epoch:
            history.record(epoch, self.loss.checked_value(full.output, full.targets), True)
        self.check_solved()
        held_loss, held_accuracy = self.held_out()
        recorded = History(*history.arrays())
        return TrainResult(
            network=self.network,
            epochs=epoch,
            stop_reason=reason,
            loss=recorded.loss[-1],
            accuracy=recorded.accuracy[-1],
            min_margin=self.min_margin.astype(np.float64),
            solved_epoch=solved_epoch,
            solved=self.solved_now.copy(),
            history=recorded,
            validation_loss=None if held_loss is None else held_loss.astype(np.float64),
            validation_accuracy=held_accuracy,
            state=self.run_state(),
        )


def train(
    network: Network,
    data: Dataset,
    loss: Loss,
    optimizer: Optimizer,
    config: TrainConfig | None = None,
    on_progress: ProgressCallback | None = None,
    start: RunState | None = None,
) -> TrainResult:
    """Train `network` in place on `data`; see `TrainConfig` for the knobs. Its layers keep
    their weight and bias arrays, which hold the trained values afterwards.

    `on_progress` is called at most every `config.progress_interval` seconds; returning True
    cancels the run, which then ends with `StopReason.CANCELLED` and the weights reached so far.
    With `config.validation_share`, the held-out rows are those `split_validation` picks.
    `start` continues a run from the state it handed on (`TrainResult.state`): its optimizer
    state (a ValueError for an optimizer declaring none) and its minibatch order, when the rows
    are as many.
    """
    config = config or TrainConfig()
    if data.n_inputs != network.sizes[0] or data.n_outputs != network.sizes[-1]:
        raise ValueError(
            f"network has {network.sizes[0]} inputs and {network.sizes[-1]} outputs; the data "
            f"has {data.n_inputs} and {data.n_outputs}"
        )
    data, held = split_validation(data, config.validation_share, config.shuffle_seed)
    trainer = _Trainer(network, data, loss, optimizer, config, held, start)
    try:
        with np.errstate(over="ignore", under="ignore"):
            return trainer.run(on_progress)
    finally:
        trainer.hand_back()
