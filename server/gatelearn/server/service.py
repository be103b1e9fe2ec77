"""The GateLearn servicer: requests in, domain calls, responses out.

Each RPC converts its request (`convert`), calls the registry, the recipe runner or the store,
and answers; errors become status codes in one place (`_statuses`). Training runs on a thread
of its own so that the stream can deliver progress while it goes and notice a cancelled call.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
from google.protobuf import timestamp_pb2

from gatelearn.core import ParamError, Progress, StopReason, TrainResult
from gatelearn.plugins import KINDS, Registry, UnknownComponentError
from gatelearn.plugins.recipe import Prepared, prepare, run
from gatelearn.server import convert
from gatelearn.server.convert import RequestError, invalid, rows
from gatelearn.server.limits import Limits
from gatelearn.server.models import (
    ServableModel,
    UnservableModelError,
    record_from_training,
    score,
    servable,
)
from gatelearn.server.store import ModelNotFoundError, ModelRecord, Store
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

__all__ = ["GateLearnService"]

log = logging.getLogger("gatelearn.server")

DEFAULT_PREVIEW_ROWS = 16
MAX_PREVIEW_ROWS = 1024


@contextlib.contextmanager
def _statuses(context: grpc.ServicerContext) -> Iterator[None]:
    """Answer domain errors with the status code their meaning calls for."""
    try:
        yield
    except RequestError as error:
        context.abort(error.code, error.message)
    except ParamError as error:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    except ModelNotFoundError as error:
        context.abort(grpc.StatusCode.NOT_FOUND, str(error))
    except (UnservableModelError, UnknownComponentError) as error:
        # A stored model needs a plugin that is no longer installed.
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))


def _component(entry: Any) -> pb.Component:
    params = []
    for param in entry.component.params:
        spec = pb.ParamSpec(name=param.name, type=param.type, description=param.description,
                            choices=list(param.choices))
        if param.default is not None:
            spec.default_value.CopyFrom(convert.to_value(param.default))
        if param.minimum is not None:
            spec.minimum = param.minimum
        if param.maximum is not None:
            spec.maximum = param.maximum
        params.append(spec)
    return pb.Component(kind=entry.kind, name=entry.name, plugin=entry.plugin,
                        version=entry.version, description=entry.description, params=params)


def _metrics(meta: dict[str, Any]) -> pb.Metrics:
    return pb.Metrics(**meta["metrics"]) if "metrics" in meta else pb.Metrics(solved_epoch=-1)


def _summary(record: ModelRecord) -> pb.ModelSummary:
    created = timestamp_pb2.Timestamp()
    created.FromNanoseconds(int(record.created_at * 1e9))
    return pb.ModelSummary(name=record.name, version=record.version,
                           task=record.meta["task"]["name"] if record.meta.get("task") else "",
                           sizes=record.meta["sizes"], created_at=created,
                           metrics=_metrics(record.meta))


def _task_source(task: dict[str, Any], target: pb.ExportedModel) -> None:
    """Fill an export's task oneof from a record's task."""
    if task.get("table"):
        params = task["params"]
        target.table.inputs.extend(rows(params["inputs"]))
        target.table.outputs.extend(rows(params["outputs"]))
    else:
        target.task.name = task["name"]
        target.task.params.update(task["params"])


class GateLearnService(gatelearn_pb2_grpc.GateLearnServicer):
    """Trains, stores and serves models; see proto/gatelearn/v1/gatelearn.proto."""

    def __init__(self, registry: Registry, store: Store, limits: Limits) -> None:
        self.registry = registry
        self.store = store
        self.limits = limits
        self._training_slots = threading.BoundedSemaphore(limits.max_concurrent_trainings)
        self._stopping = threading.Event()

    def shutdown(self) -> None:
        """Ask running trainings to stop; they end as cancelled and save nothing."""
        self._stopping.set()

    # ------------------------------------------------------------ components and tasks
    def ListPlugins(self, request: pb.ListPluginsRequest,
                    context: grpc.ServicerContext) -> pb.ListPluginsResponse:
        if request.kind and request.kind not in KINDS:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"kind: unknown kind {request.kind!r} (known: {', '.join(KINDS)})")
        entries = self.registry.entries(request.kind or None)
        return pb.ListPluginsResponse(components=[_component(e) for e in entries])

    def ListTasks(self, request: pb.ListTasksRequest,
                  context: grpc.ServicerContext) -> pb.ListTasksResponse:
        return pb.ListTasksResponse(tasks=[_component(e) for e in self.registry.entries("task")])

    def _task_exists(self, name: str, field: str = "task") -> None:
        try:
            self.registry.entry("task", name)
        except UnknownComponentError as error:
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"{field}: {error}") from None

    def DescribeTask(self, request: pb.DescribeTaskRequest,
                     context: grpc.ServicerContext) -> pb.TaskDescription:
        with _statuses(context):
            if not request.task.name:
                raise invalid("task.name", "required")
            self._task_exists(request.task.name, "task.name")
            preview = request.preview_rows or DEFAULT_PREVIEW_ROWS
            if preview > MAX_PREVIEW_ROWS:
                raise invalid("preview_rows", f"at most {MAX_PREVIEW_ROWS}, got {preview}")
            try:
                task = self.registry.build("task", request.task.name,
                                           convert.params_dict(request.task.params))
            except ParamError as error:
                raise invalid(f"task.params.{error.param}", error.message) from None
            data = task.dataset(np.random.default_rng(request.seed))
            convert.check_dataset(data, self.limits)
            return pb.TaskDescription(
                name=request.task.name, inputs=data.n_inputs, outputs=data.n_outputs,
                low=data.low, high=data.high, threshold=data.threshold,
                total_rows=len(data.inputs), rows_inputs=rows(data.inputs[:preview]),
                rows_targets=rows(data.targets[:preview]))

    # ------------------------------------------------------------ training
    def _prepare(self, request: pb.TrainRequest) -> tuple[Prepared, dict[str, Any]]:
        recipe, task = convert.recipe_from_request(request, self.limits)
        if not task.get("table"):
            self._task_exists(recipe.task.name)
        prepared = prepare(recipe, self.registry)
        convert.check_dataset(prepared.data, self.limits)
        task["seed"] = recipe.seed
        return prepared, task

    def Train(self, request: pb.TrainRequest,
              context: grpc.ServicerContext) -> Iterator[pb.TrainEvent]:
        with _statuses(context):
            prepared, task = self._prepare(request)
            if not self._training_slots.acquire(blocking=False):
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"{self.limits.max_concurrent_trainings} trainings are running "
                              f"(limit max_concurrent_trainings); try again later")
            try:
                if self.store.count() >= self.limits.max_models:
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"the store holds {self.limits.max_models} model versions "
                                  f"(limit max_models); delete some first")
                yield from self._train(prepared, task, request, context)
            finally:
                self._training_slots.release()

    def _train(self, prepared: Prepared, task: dict[str, Any], request: pb.TrainRequest,
               context: grpc.ServicerContext) -> Iterator[pb.TrainEvent]:
        events: queue.Queue[pb.TrainProgress | TrainResult | BaseException] = queue.Queue()
        population = prepared.recipe.population

        def on_progress(progress: Progress) -> bool:
            events.put(pb.TrainProgress(
                epoch=progress.epoch, epochs=progress.epochs,
                loss=float(np.min(progress.loss)), accuracy=float(np.max(progress.accuracy)),
                solved_members=progress.solved, population=population))
            return self._stopping.is_set() or not context.is_active()

        def work() -> None:
            try:
                events.put(run(prepared, on_progress))
            except BaseException as error:  # handed to the RPC thread, which reports it
                events.put(error)

        threading.Thread(target=work, name=f"train-{request.model_name}", daemon=True).start()
        while True:
            item = events.get()
            if isinstance(item, pb.TrainProgress):
                yield pb.TrainEvent(progress=item)
                continue
            break
        if isinstance(item, BaseException):
            log.exception("training %r failed", request.model_name, exc_info=item)
            context.abort(grpc.StatusCode.ABORTED, f"training failed: {item}")
        result = item
        if result.stop_reason == StopReason.CANCELLED:
            context.abort(grpc.StatusCode.CANCELLED, "training cancelled; nothing was saved")
        if result.stop_reason == StopReason.DIVERGED:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"training diverged at epoch {result.epochs} (the loss became NaN or "
                          f"infinite); nothing was saved. Try a smaller learning rate")
        record = record_from_training(request.model_name, prepared, result, task,
                                      request.SerializeToString())
        saved = self.store.save(record)
        meta = saved.meta
        yield pb.TrainEvent(done=pb.TrainDone(
            model=pb.ModelRef(name=saved.name, version=saved.version), metrics=_metrics(meta),
            stop_reason=meta["stop_reason"], epochs=meta["epochs"],
            member=meta["member_seed"] - prepared.recipe.seed,
            solved_members=int(np.sum(result.min_margin > 0)), population=population))

    # ------------------------------------------------------------ serving
    def _servable(self, name: str, version: int) -> ServableModel:
        if not name:
            raise invalid("model", "required")
        return servable(self.store.load(name, version), self.registry)

    def Predict(self, request: pb.PredictRequest,
                context: grpc.ServicerContext) -> pb.PredictResponse:
        with _statuses(context):
            model = self._servable(request.model, request.version)
            inputs = convert.rows_array(request.rows, model.n_inputs, "rows",
                                        self.limits.max_predict_rows, "max_predict_rows")
            outputs, labels = model.predict(inputs)
            record = model.record
            return pb.PredictResponse(model=pb.ModelRef(name=record.name, version=record.version),
                                      outputs=rows(outputs), labels=rows(labels),
                                      threshold=model.threshold)

    def _own_task_data(self, record: ModelRecord) -> tuple[np.ndarray, np.ndarray]:
        task = record.meta.get("task")
        if not task:
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"model {record.name!r} records no task; send a table")
        try:
            built = self.registry.build("task", task["name"], task["params"])
        except ParamError as error:
            raise invalid(f"model.task.params.{error.param}", error.message) from None
        data = built.dataset(np.random.default_rng(task.get("seed", 0)))
        return data.inputs, data.targets

    def Evaluate(self, request: pb.EvaluateRequest,
                 context: grpc.ServicerContext) -> pb.EvaluateResponse:
        with _statuses(context):
            model = self._servable(request.model, request.version)
            if request.HasField("table"):
                inputs = convert.rows_array(request.table.inputs, model.n_inputs, "table.inputs",
                                            self.limits.max_predict_rows, "max_predict_rows")
                n_out = model.record.meta["sizes"][-1]
                targets = convert.rows_array(request.table.outputs, n_out, "table.outputs",
                                             self.limits.max_predict_rows, "max_predict_rows")
                if len(targets) != len(inputs):
                    raise invalid("table.outputs", f"needs one row per input row "
                                                   f"({len(inputs)}), got {len(targets)}")
            else:
                inputs, targets = self._own_task_data(model.record)
            result = score(model, inputs, targets)
            record = model.record
            return pb.EvaluateResponse(
                model=pb.ModelRef(name=record.name, version=record.version),
                accuracy=result.accuracy, min_margin=result.min_margin,
                rows=[pb.EvaluatedRow(inputs=i, targets=t, outputs=o, correct=c)
                      for i, t, o, c in zip(inputs.tolist(), targets.tolist(),
                                            result.outputs.tolist(), result.correct.tolist(),
                                            strict=True)])

    # ------------------------------------------------------------ the store
    def ListModels(self, request: pb.ListModelsRequest,
                   context: grpc.ServicerContext) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[_summary(r) for r in self.store.list(request.name)])

    def GetModel(self, request: pb.GetModelRequest,
                 context: grpc.ServicerContext) -> pb.ModelDetail:
        with _statuses(context):
            if not request.name:
                raise invalid("name", "required")
            record = self.store.load(request.name, request.version)
            meta = record.meta
            detail = pb.ModelDetail(
                summary=_summary(record), activations=[a["name"] for a in meta["activations"]],
                bias=meta["bias"], member_seed=meta.get("member_seed", 0), dtype=meta["dtype"],
                history=pb.History(**meta.get("history", {})))
            if record.request:
                detail.request.ParseFromString(record.request)
            return detail

    def DeleteModel(self, request: pb.DeleteModelRequest,
                    context: grpc.ServicerContext) -> pb.DeleteModelResponse:
        with _statuses(context):
            if not request.name:
                raise invalid("name", "required")
            deleted = self.store.delete(request.name, request.version)
            return pb.DeleteModelResponse(deleted_versions=deleted)

    def ExportModel(self, request: pb.ExportModelRequest,
                    context: grpc.ServicerContext) -> pb.ExportedModel:
        with _statuses(context):
            if not request.name:
                raise invalid("name", "required")
            record = self.store.load(request.name, request.version)
            meta = record.meta
            exported = pb.ExportedModel(format_version=convert.EXPORT_FORMAT, name=record.name,
                                        version=record.version, low=meta["low"],
                                        high=meta["high"], dtype=meta["dtype"],
                                        seed=meta.get("member_seed", 0))
            for index, weights in enumerate(record.weights):
                layer = exported.layers.add()
                layer.weights.shape.extend(weights.shape)
                layer.weights.values.extend(weights.ravel().tolist())
                if record.biases is not None:
                    layer.bias.shape.extend(record.biases[index].shape)
                    layer.bias.values.extend(record.biases[index].tolist())
                activation = meta["activations"][index]
                layer.activation.name = activation["name"]
                layer.activation.params.update(activation["params"])
            if meta.get("task"):
                _task_source(meta["task"], exported)
            return exported

    def ImportModel(self, request: pb.ImportModelRequest,
                    context: grpc.ServicerContext) -> pb.ModelRef:
        with _statuses(context):
            name = convert.check_name(request.name, self.limits)
            record = convert.record_from_export(request.model, name, self.limits)
            model = servable(record, self.registry)  # its activations must be installed here
            if not record.meta["task"].get("table"):
                self._task_exists(record.meta["task"]["name"], "model.task.name")
            inputs, targets = self._own_task_data(record)
            if inputs.shape[1] != model.n_inputs or targets.shape[1] != record.meta["sizes"][-1]:
                raise invalid("model.layers", f"the network maps {model.n_inputs} inputs to "
                                              f"{record.meta['sizes'][-1]} outputs; its task has "
                                              f"{inputs.shape[1]} and {targets.shape[1]}")
            record.meta["metrics"] = score(model, inputs, targets).metrics()
            if self.store.count() >= self.limits.max_models:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"the store holds {self.limits.max_models} model versions "
                              f"(limit max_models); delete some first")
            saved = self.store.save(record)
            return pb.ModelRef(name=saved.name, version=saved.version)
