"""Warm starts: a Train request continuing a stored version (`TrainRequest.start_from`).

The server turns such a request into a complete one, the stored version's recipe with the
request's settings on top (`warm_request`), and hands the worker the stored weights and run
state as `pack_arrays` bytes beside it; the worker puts them into its network
(`start_network`). The network must stay the same; the optimizer too when its state is kept.
"""

from __future__ import annotations

import numpy as np

from gatelearn.core import Network, RunState
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Checked
from gatelearn.server.errors import FailedPrecondition, InvalidRequest
from gatelearn.server.recipes.tasks import fill_task_source
from gatelearn.server.recipes.values import params_dict
from gatelearn.server.stores.records import ModelRecord, pack_arrays, unpack_arrays, unpack_state
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["check_same_network", "start_blob", "start_network", "warm_request"]


def _base_request(parent: ModelRecord) -> pb.TrainRequest:
    """The request that trained `parent`, or for an import one describing its network, task
    and stored optimizer; without anything that picks initial weights or names the run."""
    meta = parent.meta
    base = pb.TrainRequest()
    if parent.request:
        base.ParseFromString(parent.request)
    else:
        if meta.task is not None:
            fill_task_source(meta.task, base)
            base.seed = meta.task.seed
        for activation in meta.activations:
            base.activations.add(name=activation.name).params.update(activation.params)
        base.bias = meta.bias
        base.dtype = pb.FLOAT32 if meta.dtype == "float32" else pb.FLOAT64
        if meta.optimizer is not None:
            base.optimizer.name = meta.optimizer.name
            base.optimizer.params.update(meta.optimizer.params)
    # The stored network's own sizes: a request that left hidden out got a width from the
    # default rule of its day, which may differ from today's.
    base.ClearField("hidden")
    base.hidden.SetInParent()
    base.hidden.units.extend(meta.sizes[1:-1])
    for run_only in ("weights", "initializer", "population", "request_id", "start_from"):
        base.ClearField(run_only)
    if not base.optimizer.name:  # spelled out, so that params given on top merge into it
        # The one the task's rule chose then (a version stored before recipes used adam).
        base.optimizer.name = meta.recipe["optimizer"]["name"] if meta.recipe else "adam"
    return base


def _refuse_other_network(request: pb.TrainRequest, parent: ModelRecord) -> None:
    """INVALID_ARGUMENT naming the first field `request` sets that changes the network (or
    the initial weights, the population or the rows a warm start continues on)."""
    meta, why = parent.meta, f"differs from the start-from version {parent.name}:{parent.version}"
    if request.HasField("hidden") and tuple(request.hidden.units) != meta.sizes[1:-1]:
        raise InvalidRequest(
            "hidden.units",
            f"{list(request.hidden.units)} {why} "
            f"({list(meta.sizes[1:-1])}); a warm start keeps "
            f"the network",
        )
    stored = [(a.name, a.params) for a in meta.activations]
    # Counted first: no more of them are read than the stored network has.
    if request.activations and (
        len(request.activations) != len(stored)
        or [(a.name, params_dict(a.params)) for a in request.activations] != stored
    ):
        raise InvalidRequest("activations", f"{why} ({', '.join(name for name, _ in stored)})")
    if request.HasField("bias") and request.bias != meta.bias:
        raise InvalidRequest("bias", f"{request.bias} {why} ({meta.bias})")
    dtype = {pb.FLOAT32: "float32", pb.FLOAT64: "float64"}.get(request.dtype)
    if dtype is not None and dtype != meta.dtype:
        raise InvalidRequest("dtype", f"{dtype} {why} ({meta.dtype})")
    for field in ("initializer", "weights"):
        if request.HasField(field):
            raise InvalidRequest(
                field, "not used with start_from: the weights are the start-from version's"
            )
    if request.population > 1:
        raise InvalidRequest(
            "population", f"a warm start continues one network, got {request.population}"
        )


def warm_request(
    request: pb.TrainRequest, parent: ModelRecord, registry: Registry
) -> pb.TrainRequest:
    """The complete request a warm start runs: `parent`'s recipe with `request`'s settings on
    top, `start_from` naming the parent's exact version."""
    _refuse_other_network(request, parent)
    merged = _base_request(parent)
    if request.seed and request.seed != merged.seed:
        raise InvalidRequest(
            "seed",
            f"a warm start keeps the start-from version's seed "
            f"({merged.seed}: its rows and minibatch order go on), got "
            f"{request.seed}",
        )
    keeps_state = parent.state is not None and parent.state.optimizer is not None
    if request.HasField("optimizer"):  # an empty name keeps the stored optimizer
        other = request.optimizer.name not in ("", merged.optimizer.name)
        if other and keeps_state:
            raise InvalidRequest(
                "optimizer.name",
                f"{request.optimizer.name!r}: the start-from version's state "
                f"is {merged.optimizer.name!r}'s; a warm start keeps the "
                f"optimizer (its params may change)",
            )
        if other:
            merged.optimizer.Clear()
        merged.optimizer.MergeFrom(request.optimizer)
    name = merged.optimizer.name
    if (
        name in registry.names("optimizer")
        and getattr(registry.entry("optimizer", name).component, "state_names", None) is None
    ):
        raise FailedPrecondition(
            f"optimizer {name!r} declares no state "
            f"(Optimizer.state_names), so a run with it cannot be "
            f"continued; warm-start with a built-in optimizer"
        )
    merged.options.MergeFrom(request.options)
    if request.HasField("loss"):
        merged.loss.CopyFrom(request.loss)
    source = request.WhichOneof("source")
    if source is not None:
        getattr(merged, source).CopyFrom(getattr(request, source))
    merged.model_name = request.model_name
    merged.request_id = request.request_id
    merged.start_from = f"{parent.name}:{parent.version}"
    return merged


def check_same_network(checked: Checked, request: pb.TrainRequest, parent: ModelRecord) -> None:
    """Refuse a warm start whose task has another width than the parent's network."""
    if tuple(checked.sizes) != parent.meta.sizes:
        inputs, outputs = checked.sizes[0], checked.sizes[-1]
        raise InvalidRequest(
            request.WhichOneof("source") or "task",
            f"has {inputs} inputs and {outputs} outputs; the start-from "
            f"version {parent.name}:{parent.version} maps "
            f"{parent.meta.sizes[0]} to {parent.meta.sizes[-1]}",
        )


def start_blob(parent: ModelRecord, same_rows: bool) -> bytes:
    """The parent's weights and run state for the worker; its minibatch order only when the
    new run trains on the same rows."""
    state = parent.state
    if state is not None and not same_rows:
        state = RunState(state.optimizer)
    return pack_arrays(parent.weights, parent.biases, state)


def start_network(network: Network, blob: bytes) -> RunState:
    """Put `start_blob`'s weights into the (P = 1) `network`; the run state to continue."""
    weights, biases = unpack_arrays(blob, len(network.layers), network.layers[0].bias is not None)
    for index, layer in enumerate(network.layers):
        layer.weights[..., 0] = np.asarray(weights[index], dtype=layer.weights.dtype)
        if biases is not None and layer.bias is not None:
            layer.bias[..., 0] = np.asarray(biases[index], dtype=layer.bias.dtype)
    return unpack_state(blob) or RunState()
