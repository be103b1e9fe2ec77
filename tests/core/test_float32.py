"""A float32 run computes in float32 throughout: no buffer or constant a prepared call reads or
writes is float64, since one would silently upcast the call (a float64 loop, then a cast back),
which is what makes float32 worth choosing on CPUs without AVX-512."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from conftest import train_prepared

from gatelearn.core import StopReason, TrainConfig, split_validation
from gatelearn.core.training import _Trainer
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "swish", "linear")
OPTIMIZERS = (
    Choice("gd", {"lr": 0.5}),  # lr 1 skips the scaling, so it would not bind lr at all
    Choice("momentum"),
    Choice("adam"),
    Choice("rmsprop"),
    Choice("adagrad"),
)


def reachable_arrays(obj: Any, seen: set[int] | None = None) -> list[Any]:
    """Every NumPy array or scalar a prepared call can reach: its bound arguments, the calls
    it runs, what its closure holds, the array a bound method belongs to."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (np.ndarray, np.generic)):
        return [obj]
    parts: list[Any] = []
    if isinstance(obj, functools.partial):
        parts = [obj.func, *obj.args, *obj.keywords.values()]
    elif isinstance(obj, (list, tuple)):
        parts = list(obj)
    elif isinstance(getattr(obj, "__self__", None), np.ndarray):
        parts = [obj.__self__]
    elif getattr(obj, "__closure__", None):
        parts = [cell.cell_contents for cell in obj.__closure__]
    return [array for part in parts for array in reachable_arrays(part, seen)]


@pytest.mark.parametrize("loss", ["bce", "mse", "sse_half"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[o.name for o in OPTIMIZERS])
def test_every_prepared_call_of_a_float32_run_touches_only_float32(
    registry: Registry, loss: str, optimizer: Choice
) -> None:
    # Every built-in, the last one as the output's; bce's 0/1 labels need a sigmoid there.
    names = (*ACTIVATIONS[:-1], "sigmoid") if loss == "bce" else ACTIVATIONS
    recipe = Recipe(
        task=Choice("parity", {"n": 3}),
        hidden=(3,) * (len(names) - 1),
        activations=tuple(Choice(name) for name in names),
        loss=Choice(loss),
        optimizer=optimizer,
        population=3,
        dtype="float32",
        config=TrainConfig(batch_size=3, weight_decay=0.01, validation_share=0.25),
    )
    prepared = prepare(recipe, registry)
    data, held = split_validation(prepared.data, recipe.config.validation_share, 0)
    trainer = _Trainer(
        prepared.network, data, prepared.loss, prepared.optimizer, recipe.config, held
    )
    assert trainer.held is not None
    calls = [trainer.step, trainer.margin_calls, trainer.decay_calls, trainer.held.forward.calls]
    calls += [trainer.sides.rows_right_calls, trainer.held.sides.signed_calls]
    calls += [(each.forward, each.backward) for each in trainer.passes.values()]
    arrays = reachable_arrays(calls)
    floats = [array for array in arrays if array.dtype.kind == "f"]
    assert len(floats) > 20  # the walk reached the buffers, not just the call lists
    assert {array.dtype for array in floats} == {np.dtype(np.float32)}


def test_bce_in_float32_stays_finite_when_outputs_saturate(registry: Registry) -> None:
    # Trained far past solving, sigmoid outputs round to exactly 1.0 in float32, where
    # 1 - 1e-12 is 1.0 too: the clipped output must still stay below 1.
    config = TrainConfig(epochs=20000, stop_when_solved=False, record_every=1000)
    prepared = prepare(Recipe(population=8, dtype="float32", config=config), registry)
    result = train_prepared(prepared)
    assert result.stop_reason == StopReason.EPOCHS
    assert np.isfinite(result.loss).all()
    assert result.solved.all()
