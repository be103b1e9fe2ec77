"""The GateLearn servicer: requests in, domain calls, responses out.

Each RPC converts its request (`convert`), calls the registry, a training worker or the store,
and answers; errors become status codes in one place (`_statuses`). Training runs in a worker
process (`pool`); the Train call relays its progress, notices a cancelled call or a passed
deadline within `CANCEL_POLL` seconds, and saves the model only when the job completed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import queue
import reprlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
from google.protobuf import timestamp_pb2

from gatelearn.core import Dataset, ParamError, Task
from gatelearn.plugins import KINDS, Registry, UnknownComponentError
from gatelearn.server import convert
from gatelearn.server.answers import SLACK, check_fits, evaluate_bytes
from gatelearn.server.cache import ModelCache
from gatelearn.server.convert import RequestError, invalid, rows
from gatelearn.server.frames import Kind, unpack_record
from gatelearn.server.jobs import CANCEL_POLL, check_request, task_exists
from gatelearn.server.limits import Limits
from gatelearn.server.models import ServableModel, UnservableModelError, score, servable
from gatelearn.server.pool import Worker, WorkerPool
from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import CorruptModelError, ModelNotFoundError, StoreFullError
from gatelearn.server.stores.meta import Metrics, ModelMeta, TaskMeta
from gatelearn.server.stores.records import ModelRecord, ModelSummary
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

__all__ = ["GateLearnService"]

DEFAULT_PREVIEW_ROWS = 16
MAX_PREVIEW_ROWS = 1024
MAX_DETAILS = 1024  # characters of a status message
CANCEL_GRACE = 0.3  # seconds a worker gets to stop a cancelled job before it is killed


@contextlib.contextmanager
def _statuses(context: grpc.ServicerContext) -> Iterator[None]:
    """Answer domain errors with the status code their meaning calls for."""
    try:
        yield
    except RequestError as error:
        _abort(context, error.code, error.message)
    except ParamError as error:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
    except ModelNotFoundError as error:
        _abort(context, grpc.StatusCode.NOT_FOUND, str(error))
    except CorruptModelError as error:
        _abort(context, grpc.StatusCode.DATA_LOSS, str(error))
    except StoreFullError as error:
        _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
    except (UnservableModelError, UnknownComponentError) as error:
        # A stored model needs a plugin that is no longer installed.
        _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(error))


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    """End the call with `code`; a message that echoes long client input is cut short, as
    status details travel in metadata whose size clients limit."""
    if len(message) > MAX_DETAILS:
        message = message[:MAX_DETAILS - 1] + "…"
    context.abort(code, message)


def _overflowed(field: str, dtype: str = "") -> RequestError:
    """Outputs past the float range (of `dtype`, when answered packed): the rows that caused
    it are the client's, so INVALID_ARGUMENT naming the first such row."""
    answered = f" as {dtype}" if dtype else ""
    return invalid(field, f"output is not finite{answered}: the model's values overflowed on "
                          f"these inputs (too large for its weights); nothing was answered")


def _cancel(worker: Worker) -> bool:
    """Stop the worker's job; True when it stopped in time and can take the next one."""
    if not worker.send(Kind.CANCEL):
        return False
    deadline = time.monotonic() + CANCEL_GRACE
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = worker.frames.get(timeout=left)
        except queue.Empty:
            break
        if frame is None:
            return False
        if frame[0] in (Kind.DONE, Kind.FAILED):
            return True
    return False


@dataclass
class _Job:
    """A Train call's work on a worker; `reusable` says whether the worker ended it cleanly."""

    worker: Worker
    request: pb.TrainRequest
    reusable: bool = False
    released: bool = False

    @property
    def payload(self) -> bytes:
        return self.request.SerializeToString()

    def release(self, pool: WorkerPool) -> None:
        """Give the worker back to `pool`, once."""
        if not self.released:
            self.released = True
            pool.release(self.worker, self.reusable)


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


def _metrics(metrics: Metrics) -> pb.Metrics:
    return pb.Metrics(**dataclasses.asdict(metrics))


def _summary(summary: ModelSummary) -> pb.ModelSummary:
    created = timestamp_pb2.Timestamp()
    created.FromNanoseconds(int(summary.created_at * 1e9))
    return pb.ModelSummary(name=summary.name, version=summary.version, task=summary.task,
                           sizes=summary.sizes, created_at=created,
                           metrics=_metrics(summary.metrics))


def _task_source(task: TaskMeta, target: pb.ExportedModel) -> None:
    """Fill an export's task oneof from a record's task."""
    if task.table:
        target.table.inputs.extend(rows(task.params["inputs"]))
        target.table.outputs.extend(rows(task.params["outputs"]))
    else:
        target.task.name = task.name
        target.task.params.update(task.params)


class GateLearnService(gatelearn_pb2_grpc.GateLearnServicer):
    """Trains, stores and serves models; see proto/gatelearn/v1/gatelearn.proto."""

    def __init__(self, registry: Registry, store: Store, limits: Limits,
                 pool: WorkerPool) -> None:
        self.registry = registry
        self.store = store
        self.limits = limits
        self.pool = pool
        self.models = ModelCache(store, registry, limits.cached_models, limits.cached_bytes)
        self._shutdown_at = float("inf")  # monotonic time at which running trainings stop

    def shut_down_after(self, grace: float) -> None:
        """Let running trainings go on for `grace` seconds more, then cancel them."""
        self._shutdown_at = time.monotonic() + grace

    # ------------------------------------------------------------ components and tasks
    def ListPlugins(self, request: pb.ListPluginsRequest,
                    context: grpc.ServicerContext) -> pb.ListPluginsResponse:
        if request.kind and request.kind not in KINDS:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   f"kind: unknown kind {reprlib.repr(request.kind)} (known: "
                   f"{', '.join(KINDS)})")
        entries = self.registry.entries(request.kind or None)
        return pb.ListPluginsResponse(components=[_component(e) for e in entries])

    def ListTasks(self, request: pb.ListTasksRequest,
                  context: grpc.ServicerContext) -> pb.ListTasksResponse:
        return pb.ListTasksResponse(tasks=[_component(e) for e in self.registry.entries("task")])

    def DescribeTask(self, request: pb.DescribeTaskRequest,
                     context: grpc.ServicerContext) -> pb.TaskDescription:
        with _statuses(context):
            if not request.task.name:
                raise invalid("task.name", "required")
            task_exists(self.registry, request.task.name, "task.name")
            preview = min(request.preview_rows or DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS)
            _, total, data = self._sized_task(request.task.name,
                                              convert.params_dict(request.task.params),
                                              "task", request.seed, preview)
            return pb.TaskDescription(
                name=request.task.name, inputs=data.n_inputs, outputs=data.n_outputs,
                low=data.low, high=data.high, threshold=data.threshold, total_rows=total,
                rows_inputs=rows(data.inputs), rows_targets=rows(data.targets))

    def _sized_task(self, name: str, params: dict[str, Any], field: str, seed: int,
                    preview: int) -> tuple[Task, int, Dataset]:
        """Build a task, its row count and its first `preview` rows, refusing it (naming
        `field`) when it is over the limits, before any more rows exist."""
        try:
            task = self.registry.build("task", name, params)
        except ParamError as error:
            raise invalid(f"{field}.params.{error.param}", error.message) from None
        total = task.row_count()
        sample = task.preview(np.random.default_rng(seed), preview)
        convert.check_task_size(total, sample, self.limits, field)
        return task, total, sample

    # ------------------------------------------------------------ training
    def Train(self, request: pb.TrainRequest,
              context: grpc.ServicerContext) -> Iterator[pb.TrainEvent]:
        with _statuses(context):
            check_request(request, self.registry, self.limits)  # refuse bad requests now
            if self.store.count() >= self.limits.max_models:  # early, not to waste a training;
                raise StoreFullError(self.limits.max_models)  # the save checks exactly
            worker = self.pool.acquire()
            if worker is None:
                raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   f"{self.limits.max_concurrent_trainings} trainings are "
                                   f"running (limit max_concurrent_trainings); try again later")
            job = _Job(worker, request)
            try:
                yield from self._run(job, context)
            except GeneratorExit:
                # gRPC dropped the stream (the client cancelled between events): stop the job
                # cleanly so the worker can be reused.
                if not job.released:
                    job.reusable = _cancel(job.worker)
                raise
            finally:
                job.release(self.pool)

    def _run(self, job: _Job, context: grpc.ServicerContext) -> Iterator[pb.TrainEvent]:
        """Hand the job to its worker and relay what comes back until the job ends."""
        if not job.worker.send(Kind.TRAIN, job.payload):
            raise RequestError(grpc.StatusCode.UNAVAILABLE,
                               "a training worker was restarting; try again")
        give_up = time.monotonic() + self.limits.max_training_seconds
        while True:
            now = time.monotonic()
            if now > give_up:
                job.reusable = _cancel(job.worker)
                raise RequestError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                   f"training ran longer than {self.limits.max_training_seconds}"
                                   f" s (limit max_training_seconds); nothing was saved")
            if now > self._shutdown_at:
                job.reusable = _cancel(job.worker)
                raise RequestError(grpc.StatusCode.CANCELLED, "the server is shutting down: "
                                   "training cancelled; nothing was saved")
            try:
                frame = job.worker.frames.get(timeout=CANCEL_POLL)
            except queue.Empty:
                if not context.is_active():
                    job.reusable = _cancel(job.worker)
                    raise RequestError(grpc.StatusCode.CANCELLED,
                                       "training cancelled; nothing was saved") from None
                continue
            if frame is None:
                raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                                   f"the training worker {job.worker.how_it_ended()}; nothing "
                                   f"was saved")
            kind, payload = frame
            if kind == Kind.PROGRESS:
                yield pb.TrainEvent(progress=pb.TrainProgress.FromString(payload))
                continue
            job.reusable = True
            if kind == Kind.FAILED:
                failure = json.loads(payload)
                raise RequestError(grpc.StatusCode[failure["code"]], failure["message"])
            done = self._save(job, payload, context)
            job.release(self.pool)  # free the slot before the client can ask for the next
            yield done
            return

    def _save(self, job: _Job, payload: bytes, context: grpc.ServicerContext) -> pb.TrainEvent:
        meta_json, blob = unpack_record(payload)
        meta = ModelMeta.from_json(meta_json)
        if not context.is_active():
            raise RequestError(grpc.StatusCode.CANCELLED, "training cancelled; nothing was saved")
        name = job.request.model_name
        version = self.store.save_packed(name, meta, blob, job.payload,
                                         max_models=self.limits.max_models)
        self.models.saved(name, version)
        return pb.TrainEvent(done=pb.TrainDone(
            model=pb.ModelRef(name=name, version=version), metrics=_metrics(meta.metrics),
            stop_reason=meta.stop_reason, epochs=meta.epochs,
            member=meta.member_seed - job.request.seed,
            solved_members=meta.solved_members, population=meta.population,
            member_solved_epochs=meta.member_solved_epochs))

    # ------------------------------------------------------------ serving
    def _servable(self, name: str, version: int, field: str = "model") -> ServableModel:
        if not name:
            raise invalid(field, "required")
        return self.models.get(name, version)

    def _predict(self, model: ServableModel, request: pb.PredictRequest,
                 where: str = "") -> pb.PredictResponse:
        """Answer one Predict request (or stream chunk) with `model`; `where` goes before the
        fields that errors name (`requests[2].` for a stream's third message)."""
        limit, limit_name = self.limits.max_predict_rows, "max_predict_rows"
        record = model.record
        response = pb.PredictResponse(model=pb.ModelRef(name=record.name, version=record.version),
                                      threshold=model.threshold)
        if request.HasField("packed"):
            if request.rows:
                raise invalid(f"{where}rows", "give rows or packed, not both")
            inputs, dtype = convert.packed_array(request.packed, model.n_inputs, f"{where}packed",
                                                 limit, limit_name)
            outputs, labels = model.predict(inputs)
            outputs = convert.in_packed_dtype(outputs, dtype)
            if (bad := convert.first_nonfinite_row(outputs)) is not None:
                raise _overflowed(f"{where}packed.data: row {bad}", dtype)
            response.packed_outputs.CopyFrom(convert.pack(outputs, dtype))
            response.packed_labels.CopyFrom(convert.pack(labels, dtype))
        else:
            inputs = convert.rows_array(request.rows, model.n_inputs, f"{where}rows", limit,
                                        limit_name)
            outputs, labels = model.predict(inputs)
            if (bad := convert.first_nonfinite_row(outputs)) is not None:
                raise _overflowed(f"{where}rows[{bad}]")
            response.outputs.extend(rows(outputs))
            response.labels.extend(rows(labels))
        return response

    def Predict(self, request: pb.PredictRequest,
                context: grpc.ServicerContext) -> pb.PredictResponse:
        with _statuses(context):
            return self._predict(self._servable(request.model, request.version), request)

    def PredictStream(self, requests: Iterator[pb.PredictRequest],
                      context: grpc.ServicerContext) -> Iterator[pb.PredictResponse]:
        with _statuses(context):
            model: ServableModel | None = None
            for index, request in enumerate(requests):
                where = f"requests[{index}]."
                if model is None:
                    model = self._servable(request.model, request.version, f"{where}model")
                elif request.model and (request.model, request.version or model.record.version) \
                        != (model.record.name, model.record.version):
                    raise invalid(f"{where}model", "a stream serves one model: "
                                  f"{model.record.name}:{model.record.version}")
                yield self._predict(model, request, where)

    def _own_task_data(self, record: ModelRecord) -> tuple[np.ndarray, np.ndarray]:
        task = record.meta.task
        if task is None:
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"model {record.name!r} records no task; send a table")
        built, _, _ = self._sized_task(task.name, task.params, "model.task", task.seed, 1)
        data = built.dataset(np.random.default_rng(task.seed))
        return data.inputs, data.targets

    def Evaluate(self, request: pb.EvaluateRequest,
                 context: grpc.ServicerContext) -> pb.EvaluateResponse:
        with _statuses(context):
            model = self._servable(request.model, request.version)
            if request.HasField("table"):
                inputs = convert.rows_array(request.table.inputs, model.n_inputs, "table.inputs",
                                            self.limits.max_predict_rows, "max_predict_rows")
                n_out = model.record.meta.sizes[-1]
                bits = convert.rows_array(request.table.outputs, n_out, "table.outputs",
                                          self.limits.max_predict_rows, "max_predict_rows")
                if len(bits) != len(inputs):
                    raise invalid("table.outputs", f"needs one row per input row "
                                                   f"({len(inputs)}), got {len(bits)}")
                if not np.isin(bits, (0.0, 1.0)).all():
                    raise invalid("table.outputs", "values must be 0 or 1")
                targets = np.where(bits == 1.0, model.high, model.low)  # 0 = low, 1 = high
            else:
                inputs, targets = self._own_task_data(model.record)
                sizes = model.record.meta.sizes
                if (inputs.shape[1], targets.shape[1]) != (sizes[0], sizes[-1]):
                    raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                                       f"the model maps {sizes[0]} inputs to {sizes[-1]} "
                                       f"outputs, but its task now has {inputs.shape[1]} and "
                                       f"{targets.shape[1]} (was the task's plugin changed?); "
                                       f"send a table")
            result = score(model, inputs, targets)
            if (bad := convert.first_nonfinite_row(result.outputs)) is not None:
                if request.HasField("table"):
                    raise _overflowed(f"table.inputs[{bad}]")
                raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                                   f"the model's output on row {bad} of its own task is not "
                                   f"finite; send a table")
            record = model.record
            return pb.EvaluateResponse(
                model=pb.ModelRef(name=record.name, version=record.version),
                accuracy=result.accuracy, min_margin=result.min_margin,
                rows=[pb.EvaluatedRow(inputs=i, targets=t, outputs=o, correct=c)
                      for i, t, o, c in zip(inputs.tolist(), targets.tolist(),
                                            result.outputs.tolist(), result.correct.tolist(),
                                            strict=True)])

    # ------------------------------------------------------------ the store
    def _stored(self, name: str, version: int) -> ModelRecord:
        """A stored version, weights included; `name` is required."""
        if not name:
            raise invalid("name", "required")
        return self.store.load(name, version)

    def ListModels(self, request: pb.ListModelsRequest,
                   context: grpc.ServicerContext) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[_summary(r) for r in self.store.list(request.name)])

    def GetModel(self, request: pb.GetModelRequest,
                 context: grpc.ServicerContext) -> pb.ModelDetail:
        with _statuses(context):
            record = self._stored(request.name, request.version)
            meta = record.meta
            detail = pb.ModelDetail(
                summary=_summary(record.summary()), activations=[a.name for a in meta.activations],
                bias=meta.bias, member_seed=meta.member_seed, dtype=meta.dtype,
                history=pb.History(**dataclasses.asdict(meta.history)))
            if record.request:
                detail.request.ParseFromString(record.request)
            return detail

    def DeleteModel(self, request: pb.DeleteModelRequest,
                    context: grpc.ServicerContext) -> pb.DeleteModelResponse:
        with _statuses(context):
            if not request.name:
                raise invalid("name", "required")
            deleted = self.store.delete(request.name, request.version)
            self.models.forget(request.name)
            return pb.DeleteModelResponse(deleted_versions=deleted)

    def ExportModel(self, request: pb.ExportModelRequest,
                    context: grpc.ServicerContext) -> pb.ExportedModel:
        with _statuses(context):
            record = self._stored(request.name, request.version)
            meta = record.meta
            exported = pb.ExportedModel(format_version=convert.EXPORT_FORMAT, name=record.name,
                                        version=record.version, low=meta.low,
                                        high=meta.high, dtype=meta.dtype,
                                        seed=meta.task.seed if meta.task else 0)
            for index, weights in enumerate(record.weights):
                layer = exported.layers.add()
                layer.weights.shape.extend(weights.shape)
                layer.weights.values.extend(weights.ravel().tolist())
                if record.biases is not None:
                    layer.bias.shape.extend(record.biases[index].shape)
                    layer.bias.values.extend(record.biases[index].tolist())
                activation = meta.activations[index]
                layer.activation.name = activation.name
                layer.activation.params.update(activation.params)
            if meta.task:
                _task_source(meta.task, exported)
            return exported

    def ImportModel(self, request: pb.ImportModelRequest,
                    context: grpc.ServicerContext) -> pb.ModelRef:
        with _statuses(context):
            name = convert.check_name(request.name or request.model.name, self.limits)
            record = convert.record_from_export(request.model, name, self.limits)
            for index, activation in enumerate(record.meta.activations):
                field = f"model.layers[{index}].activation"
                try:
                    self.registry.build("activation", activation.name, activation.params)
                except UnknownComponentError as error:
                    raise invalid(f"{field}.name", str(error)) from None
                except ParamError as error:
                    raise invalid(f"{field}.params.{error.param}", error.message) from None
            model = servable(record, self.registry)
            task = record.meta.task
            if task is not None and not task.table:
                task_exists(self.registry, task.name, "model.task.name")
            inputs, targets = self._own_task_data(record)
            check_fits("Evaluate", evaluate_bytes(*inputs.shape, targets.shape[1]), "model",
                       self.limits)
            check_fits("ExportModel", request.model.ByteSize() + SLACK, "model", self.limits)
            if inputs.shape[1] != model.n_inputs or targets.shape[1] != record.meta.sizes[-1]:
                raise invalid("model.layers", f"the network maps {model.n_inputs} inputs to "
                                              f"{record.meta.sizes[-1]} outputs; its task has "
                                              f"{inputs.shape[1]} and {targets.shape[1]}")
            measured = score(model, inputs, targets)
            metrics = measured.metrics()
            if not all(np.isfinite(v) for v in (*dataclasses.astuple(metrics),
                                                 *measured.outputs.ravel())):
                raise invalid("model.layers", "the network's outputs on its task are not finite")
            record.meta = dataclasses.replace(record.meta, metrics=metrics)
            saved = self.store.save(record, max_models=self.limits.max_models)
            self.models.saved(saved.name, saved.version)
            return pb.ModelRef(name=saved.name, version=saved.version)
