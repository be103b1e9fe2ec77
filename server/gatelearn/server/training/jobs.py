"""One training job, from a TrainRequest to a model record: the part a worker process runs.

The worker checks every request it runs (`recipes.requests.check_request`), before it builds
anything: for a cold start it is the only check when the call succeeds (the server checks a warm
start, which it merges, and a request it must refuse before another error). Only the worker
draws the initial weights. `run_job` trains, reports
progress, honours a cancel, and turns every way a run can end into a frame for the server: a
saved-model record, or a domain error (`errors`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable

from gatelearn.core import ParamError, Progress, StopReason, train
from gatelearn.plugins import Registry
from gatelearn.server.culprits import failure
from gatelearn.server.errors import (
    Cancelled,
    DomainError,
    FailedPrecondition,
    InvalidRequest,
    to_json,
)
from gatelearn.server.limits import Limits
from gatelearn.server.models.servable import record_from_training
from gatelearn.server.recipes.requests import check_request
from gatelearn.server.stores.records import pack_arrays
from gatelearn.server.training.frames import Kind, pack_record, unpack_job
from gatelearn.server.training.warm import start_network
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["CANCEL_POLL", "failed_frame", "progress_message", "run_job"]

CANCEL_POLL = 0.05  # seconds: how often a running training looks for a cancel


def progress_message(progress: Progress, population: int) -> pb.TrainProgress:
    """A progress event reporting the best member (and the best on held-out rows, if any)."""
    message = pb.TrainProgress(
        epoch=progress.epoch,
        epochs=progress.epochs,
        loss=float(progress.loss.min()),
        accuracy=float(progress.accuracy.max()),
        solved_members=progress.solved,
        population=population,
    )
    if progress.validation_loss is not None and progress.validation_accuracy is not None:
        message.validation_loss = float(progress.validation_loss.min())
        message.validation_accuracy = float(progress.validation_accuracy.max())
    return message


def failed_frame(error: DomainError) -> tuple[Kind, bytes]:
    """The FAILED frame that ends a job with `error`."""
    return Kind.FAILED, json.dumps(to_json(error)).encode()


def _plugin_failed(error: BaseException, registry: Registry) -> tuple[Kind, bytes]:
    """The FAILED frame for what a component raised, naming its plugin (`culprits.failure`)."""
    return failed_frame(
        FailedPrecondition(
            f"training failed: {failure(error, registry, 'training')}; nothing was saved"
        )
    )


def run_job(
    payload: bytes,
    registry: Registry,
    limits: Limits,
    cancelled: Callable[[], bool],
    send_progress: Callable[[pb.TrainProgress], None],
) -> tuple[Kind, bytes]:
    """Train the TRAIN frame `payload` (`pack_job`); return the frame that ends the job.
    `cancelled()` is asked every CANCEL_POLL seconds of training whether the server stopped it."""
    request_bytes, start_bytes = unpack_job(payload)
    request = pb.TrainRequest.FromString(request_bytes)
    try:
        checked, task = check_request(request, registry, limits)
    except DomainError as error:
        return failed_frame(error)
    except ParamError as error:
        return failed_frame(InvalidRequest(error.param, error.message))
    # A task's plugin code runs here too (its rows are built to be checked).
    except BaseException as error:
        return _plugin_failed(error, registry)
    recipe = checked.recipe
    interval = recipe.config.progress_interval
    next_send = time.monotonic() + interval

    def on_progress(progress: Progress) -> bool:
        nonlocal next_send
        if cancelled():
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
        start = start_network(prepared.network, start_bytes) if start_bytes else None
        result = train(
            prepared.network,
            prepared.data,
            prepared.loss,
            prepared.optimizer,
            config,
            on_progress,
            start,
        )
    except ParamError as error:  # rows the task built that this run cannot hold
        return failed_frame(InvalidRequest(error.param, error.message))
    # BaseException too: a plugin raising KeyboardInterrupt or SystemExit (the worker ignores
    # SIGINT, so no key press raises them here) must fail its training, not end the worker.
    except BaseException as error:
        return _plugin_failed(error, registry)
    if result.stop_reason == StopReason.CANCELLED:
        return failed_frame(Cancelled("training cancelled; nothing was saved"))
    if result.stop_reason == StopReason.DIVERGED:
        parts = [
            ("loss", recipe.loss.name),
            ("optimizer", recipe.optimizer.name),
            *(("activation", c.name) for c in recipe.layer_activations()),
        ]
        components = ", ".join(
            f"{kind} {name!r} (plugin {registry.entry(kind, name).plugin!r})"
            for kind, name in dict.fromkeys(parts)
        )
        if result.epochs == 0:
            what = (
                "training diverged before any update: the network's outputs or loss were "
                "NaN or infinite"
            )
            hint = "one of these components produced them"
        else:
            what = f"training diverged at epoch {result.epochs}: the loss became NaN or infinite"
            hint = "try a smaller learning rate"
        return failed_frame(
            FailedPrecondition(f"{what}; components: {components}; nothing was saved ({hint})")
        )
    record = record_from_training(
        request.model_name,
        prepared,
        result,
        task,
        request_bytes,
        request.start_from,
        start is not None and start.optimizer is None,
        checked.settings(),
    )
    return Kind.DONE, pack_record(
        record.meta.to_text(), pack_arrays(record.weights, record.biases, record.state)
    )
