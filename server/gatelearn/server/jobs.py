"""One training job, from a TrainRequest to a model record: the part a worker process runs.

`check_request` is also what the server calls to refuse a bad request before it takes a
worker; only the worker draws the initial weights. `run_job` trains, reports progress,
honours a cancel flag, and turns every way a run can end into a frame for the server: a
saved-model record, or a status code and message.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import grpc

from gatelearn.core import Component, ParamError, Progress, StopReason, train
from gatelearn.plugins import Registry, UnknownComponentError
from gatelearn.plugins.recipe import Checked, check
from gatelearn.server import convert
from gatelearn.server.answers import SLACK, check_fits, evaluate_bytes, history_bytes, layers_bytes
from gatelearn.server.convert import RequestError
from gatelearn.server.frames import Kind, pack_record
from gatelearn.server.limits import Limits
from gatelearn.server.models import record_from_training
from gatelearn.server.stores.records import pack_arrays
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["CANCEL_POLL", "check_request", "progress_message", "run_job", "task_exists"]

CANCEL_POLL = 0.05  # seconds: how often a running training looks at its cancel flag


def task_exists(registry: Registry, name: str, field: str = "task") -> None:
    """Raise NOT_FOUND unless a task of that name is installed."""
    try:
        registry.entry("task", name)
    except UnknownComponentError as error:
        raise RequestError(grpc.StatusCode.NOT_FOUND, f"{field}: {error}") from None


def check_request(request: pb.TrainRequest, registry: Registry,
                  limits: Limits) -> tuple[Checked, dict[str, Any]]:
    """Check a Train request completely and build its components and data; the task as the
    model will record it."""
    recipe, task = convert.recipe_from_request(request, limits)
    if not task.get("table"):
        task_exists(registry, recipe.task.name)
    try:
        checked = check(recipe, registry)
    except ParamError as error:
        raise ParamError(_request_field(error.param, request), error.message) from None
    convert.check_training_size(checked, limits)
    _check_answers(request, checked, limits)
    task["seed"] = recipe.seed
    return checked, task


def _check_answers(request: pb.TrainRequest, checked: Checked, limits: Limits) -> None:
    """Refuse a training whose model could not be read back in one message."""
    sizes = checked.sizes
    check_fits("Evaluate", evaluate_bytes(checked.rows, sizes[0], sizes[-1]), "task", limits)
    source = request.table if request.HasField("table") else request.task
    parts = (source.ByteSize() + sum(ref.ByteSize() for ref in request.activations)
             + SLACK)
    check_fits("ExportModel", layers_bytes(sizes, checked.recipe.bias) + parts,
               "hidden.units", limits)
    config = checked.recipe.config
    points = min(limits.max_history_points, config.epochs // config.history_interval + 2)
    check_fits("GetModel", request.ByteSize() + history_bytes(points) + SLACK, "request",
               limits)


_OPTIONS = frozenset(pb.TrainOptions.DESCRIPTOR.fields_by_name)


def _request_field(param: str, request: pb.TrainRequest) -> str:
    """The TrainRequest field a recipe parameter came from: `margin` is `options.margin`,
    an inline table's `task.outputs` is `table.outputs`, explicit `initializer.weights[0]`
    given in `weights` is `weights.weights[0]`."""
    if param in _OPTIONS:
        return f"options.{param}"
    head, _, rest = param.partition(".")
    if head == "task" and request.HasField("table"):
        return f"table.{rest}" if rest else "table"
    if head == "initializer" and request.HasField("weights") and rest:
        return f"weights.{rest}"
    return param


def progress_message(progress: Progress, population: int) -> pb.TrainProgress:
    """A progress event reporting the best member."""
    return pb.TrainProgress(epoch=progress.epoch, epochs=progress.epochs,
                            loss=float(progress.loss.min()),
                            accuracy=float(progress.accuracy.max()),
                            solved_members=progress.solved, population=population)


def _failed(code: grpc.StatusCode, message: str) -> tuple[Kind, bytes]:
    return Kind.FAILED, json.dumps({"code": code.name, "message": message}).encode()


def _culprit(error: BaseException, registry: Registry) -> str:
    """Name the component (and its plugin) whose code raised `error`, if one did."""
    frames = traceback.extract_tb(error.__traceback__)
    tb = error.__traceback__
    culprit = ""
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, Component):
            for entry in registry.entries():
                if entry.component is type(owner):
                    culprit = f"plugin {entry.plugin!r} ({entry.kind} {entry.name!r})"
        tb = tb.tb_next
    where = culprit or (f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "training")
    return f"{where} raised {type(error).__name__}: {error}"


def run_job(payload: bytes, registry: Registry, limits: Limits, cancel: threading.Event,
            send_progress: Callable[[pb.TrainProgress], None]) -> tuple[Kind, bytes]:
    """Train the serialized TrainRequest `payload`; return the frame that ends the job."""
    request = pb.TrainRequest.FromString(payload)
    try:
        checked, task = check_request(request, registry, limits)
    except RequestError as error:
        return _failed(error.code, error.message)
    except ParamError as error:
        return _failed(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    recipe = checked.recipe
    interval = recipe.config.progress_interval
    next_send = time.monotonic() + interval

    def on_progress(progress: Progress) -> bool:
        nonlocal next_send
        if cancel.is_set():
            return True
        if time.monotonic() >= next_send:
            send_progress(progress_message(progress, recipe.population))
            next_send = time.monotonic() + interval
        return False

    # The loop calls back often enough to notice a cancel quickly; events go out at the
    # interval the client asked for.
    config = dataclasses.replace(recipe.config, progress_interval=min(interval, CANCEL_POLL))
    try:
        prepared = checked.prepared()
        result = train(prepared.network, prepared.data, prepared.loss, prepared.optimizer,
                       config, on_progress)
    except Exception as error:
        return _failed(grpc.StatusCode.FAILED_PRECONDITION,
                       f"training failed: {_culprit(error, registry)}; nothing was saved")
    if result.stop_reason == StopReason.CANCELLED:
        return _failed(grpc.StatusCode.CANCELLED, "training cancelled; nothing was saved")
    if result.stop_reason == StopReason.DIVERGED:
        parts = [("loss", recipe.loss.name), ("optimizer", recipe.optimizer.name),
                 *(("activation", c.name) for c in recipe.layer_activations())]
        components = ", ".join(f"{kind} {name!r} (plugin {registry.entry(kind, name).plugin!r})"
                               for kind, name in dict.fromkeys(parts))
        if result.epochs == 0:
            what = ("training diverged before any update: the network's outputs or loss were "
                    "NaN or infinite")
            hint = "one of these components produced them"
        else:
            what = f"training diverged at epoch {result.epochs}: the loss became NaN or infinite"
            hint = "try a smaller learning rate"
        return _failed(grpc.StatusCode.FAILED_PRECONDITION,
                       f"{what}; components: {components}; nothing was saved ({hint})")
    record = record_from_training(request.model_name, prepared, result, task, payload)
    return Kind.DONE, pack_record(record.meta.to_json(),
                                  pack_arrays(record.weights, record.biases))
