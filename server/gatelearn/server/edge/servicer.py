"""The GateLearn servicer: requests in, service calls, responses out.

Each RPC converts its request (`messages`, `exports`, and `recipes` shared with training), calls
the training or the model service, and answers; errors become status codes in one place
(`statuses`).
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from google.protobuf import timestamp_pb2

from gatelearn.core import ParamError
from gatelearn.plugins import KINDS, Registry
from gatelearn.server.checks import (
    check_activations,
    check_name,
    first_nonfinite_row,
    overflowed,
)
from gatelearn.server.edge import messages
from gatelearn.server.edge.ahead import ahead
from gatelearn.server.edge.encoded import packed_answer, rows_answer
from gatelearn.server.edge.explanations import explanation
from gatelearn.server.edge.exports import exported, record_from_export
from gatelearn.server.edge.messages import rows
from gatelearn.server.edge.searches import check_search, search_candidate, search_done
from gatelearn.server.edge.statuses import statuses
from gatelearn.server.edge.sync_context import SyncContext
from gatelearn.server.errors import InvalidRequest
from gatelearn.server.limits import Limits
from gatelearn.server.models.answers import (
    SLACK,
    check_fits,
    evaluate_bytes,
    packed_answer_bytes,
    rows_answer_bytes,
)
from gatelearn.server.models.servable import ServableModel
from gatelearn.server.models.service import Evaluation, ModelService
from gatelearn.server.recipes.requests import check_request_id
from gatelearn.server.recipes.values import check_param_names, params_dict
from gatelearn.server.stores.meta import Metrics
from gatelearn.server.stores.records import ModelSummary
from gatelearn.server.training.search import CandidateProgress
from gatelearn.server.training.service import Searched, Trained, TrainingService
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

__all__ = ["GateLearnService"]

DEFAULT_PREVIEW_ROWS = 16
MAX_PREVIEW_ROWS = 1024
# PredictStream requests read ahead of the one being answered: a stream holds at most
# REQUESTS_AHEAD + 2 requests (each at most max_message_bytes). Read ahead, the client's next
# chunks are taken off the connection while the server computes, so flow control does not hold
# the client back. Answers are made one ahead of the one being sent by the thread running the
# stream, which hands them to the event loop (bridges.py): at most three at a time.
REQUESTS_AHEAD = 1


def _component(entry: Any) -> pb.Component:
    params = []
    for param in entry.component.params:
        spec = pb.ParamSpec(
            name=param.name,
            type=param.type,
            description=param.description,
            choices=list(param.choices),
        )
        if param.default is not None:
            spec.default_value.CopyFrom(messages.to_value(param.default))
        if param.minimum is not None:
            spec.minimum = param.minimum
        if param.maximum is not None:
            spec.maximum = param.maximum
        params.append(spec)
    return pb.Component(
        kind=entry.kind,
        name=entry.name,
        plugin=entry.plugin,
        version=entry.version,
        description=entry.description,
        params=params,
    )


def _metrics(metrics: Metrics) -> pb.Metrics:
    return pb.Metrics(**dataclasses.asdict(metrics))


def _summary(summary: ModelSummary) -> pb.ModelSummary:
    created = timestamp_pb2.Timestamp()
    created.FromNanoseconds(int(summary.created_at * 1e9))
    return pb.ModelSummary(
        name=summary.name,
        version=summary.version,
        task=summary.task,
        sizes=summary.sizes,
        created_at=created,
        metrics=_metrics(summary.metrics),
        aliases=summary.aliases,
    )


def _train_done(trained: Trained, request: pb.TrainRequest) -> pb.TrainDone:
    meta = trained.meta
    return pb.TrainDone(
        model=pb.ModelRef(name=trained.name, version=trained.version),
        metrics=_metrics(meta.metrics),
        stop_reason=meta.stop_reason,
        epochs=meta.epochs,
        member=meta.member_seed - request.seed,
        solved_members=meta.solved_members,
        population=meta.population,
        member_solved_epochs=meta.member_solved_epochs,
        parent=meta.parent,
        fresh_optimizer_state=meta.fresh_optimizer_state,
    )


def _evaluated(model: ServableModel, evaluation: Evaluation) -> pb.EvaluateResponse:
    record, result = model.record, evaluation.score
    return pb.EvaluateResponse(
        model=pb.ModelRef(name=record.name, version=record.version),
        accuracy=result.accuracy,
        min_margin=result.min_margin,
        rows=[
            pb.EvaluatedRow(inputs=i, targets=t, outputs=o, correct=c)
            for i, t, o, c in zip(
                evaluation.inputs.tolist(),
                evaluation.targets.tolist(),
                result.outputs.tolist(),
                result.correct.tolist(),
                strict=True,
            )
        ],
    )


class GateLearnService(gatelearn_pb2_grpc.GateLearnServicer):
    """Trains, stores and serves models; see proto/gatelearn/v1/gatelearn.proto."""

    def __init__(
        self, registry: Registry, limits: Limits, training: TrainingService, models: ModelService
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.training = training
        self.models = models

    # ------------------------------------------------------------ components and tasks
    def ListPlugins(
        self, request: pb.ListPluginsRequest, context: SyncContext
    ) -> pb.ListPluginsResponse:
        with statuses(context):
            if request.kind and request.kind not in KINDS:
                raise InvalidRequest(
                    "kind", f"unknown kind {reprlib.repr(request.kind)} (known: {', '.join(KINDS)})"
                )
        entries = self.registry.entries(request.kind or None)
        return pb.ListPluginsResponse(
            components=[_component(e) for e in entries],
            default_recipe=messages.recipe_message(self.models.default_recipe()),
        )

    def ListTasks(self, request: pb.ListTasksRequest, context: SyncContext) -> pb.ListTasksResponse:
        return pb.ListTasksResponse(tasks=[_component(e) for e in self.registry.entries("task")])

    def DescribeTask(
        self, request: pb.DescribeTaskRequest, context: SyncContext
    ) -> pb.TaskDescription:
        with statuses(context):
            if not request.task.name:
                raise InvalidRequest("task.name", "required")
            preview = min(request.preview_rows or DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS)
            try:
                check_param_names(request.task, "task", self.registry)
            except ParamError as error:
                raise InvalidRequest(f"task.params.{error.param}", error.message) from None
            described = self.models.describe_task(
                request.task.name, params_dict(request.task.params), request.seed, preview
            )
            data, recipe = described.preview, described.default_recipe
            return pb.TaskDescription(
                name=request.task.name,
                inputs=data.n_inputs,
                outputs=data.n_outputs,
                low=data.low,
                high=data.high,
                threshold=data.threshold,
                total_rows=described.total_rows,
                rows_inputs=rows(data.inputs),
                rows_targets=rows(data.targets),
                default_recipe=None if recipe is None else messages.recipe_message(recipe),
            )

    # ------------------------------------------------------------ training
    def Train(self, request: pb.TrainRequest, context: SyncContext) -> Iterator[pb.TrainEvent]:
        with statuses(context):
            # A warm start becomes its complete request (and is refused now if it is wrong).
            accepted = self.training.accept(request)
            for event in self.training.train(accepted, context.is_active):
                if isinstance(event, Trained):
                    yield pb.TrainEvent(done=_train_done(event, accepted.request))
                else:
                    yield pb.TrainEvent(progress=event)

    def Search(self, request: pb.SearchRequest, context: SyncContext) -> Iterator[pb.SearchEvent]:
        with statuses(context):
            plan = check_search(request, self.registry, self.limits)  # refuse bad requests now
            for event in self.training.search(plan, context.is_active):
                if isinstance(event, CandidateProgress):
                    yield pb.SearchEvent(
                        progress=pb.SearchProgress(
                            index=event.index,
                            candidates=len(plan.candidates),
                            training=event.training,
                        )
                    )
                elif isinstance(event, Searched):
                    ref = (
                        pb.ModelRef(name=event.trained.name, version=event.trained.version)
                        if event.trained
                        else None
                    )
                    yield pb.SearchEvent(done=search_done(event.search, ref))
                else:
                    yield pb.SearchEvent(candidate=search_candidate(event))

    # ------------------------------------------------------------ serving
    def _predict(
        self, model: ServableModel, request: pb.PredictRequest, where: str = ""
    ) -> pb.PredictResponse | bytes:
        """Answer one Predict request (or stream chunk) with `model`; `where` goes before the
        fields that errors name (`requests[2].` for a stream's third message). Rows are
        answered already encoded (encoded.py), the gRPC layer sending the bytes as they are."""
        if request.HasField("packed"):
            return self._predict_packed(model, request, where)
        inputs = messages.rows_array(
            request.rows,
            model.n_inputs,
            f"{where}rows",
            self.limits.max_predict_rows,
            "max_predict_rows",
            model.record.meta.dtype,
        )
        self._check_work(model, len(inputs), f"{where}rows")
        answer = rows_answer_bytes(len(inputs), model.record.meta.sizes[-1])
        check_fits("Predict", answer, f"{where}rows", self.limits)
        outputs = model.outputs(inputs)
        if (bad := first_nonfinite_row(outputs)) is not None:
            raise overflowed(f"{where}rows[{bad}]")
        return rows_answer(model, outputs, model.labels(model.above(outputs)))

    def _predict_packed(
        self, model: ServableModel, request: pb.PredictRequest, where: str
    ) -> bytes:
        """`_predict` of packed rows: outputs packed in the request's dtype, labels as bits
        or packed (encoded.py)."""
        if request.rows:
            raise InvalidRequest(f"{where}rows", "give rows or packed, not both")
        limit, limit_name = self.limits.max_predict_rows, "max_predict_rows"
        inputs, dtype = messages.packed_array(
            request.packed,
            model.n_inputs,
            f"{where}packed",
            limit,
            limit_name,
            model.record.meta.dtype,
        )
        self._check_work(model, len(inputs), f"{where}packed")
        outputs_per_row, itemsize = model.record.meta.sizes[-1], np.dtype(dtype).itemsize
        answer = packed_answer_bytes(len(inputs), outputs_per_row, itemsize, request.label_bits)
        check_fits("Predict", answer, f"{where}packed", self.limits)
        outputs = model.outputs(inputs)
        answered = messages.in_packed_dtype(outputs, dtype)
        if (bad := first_nonfinite_row(answered)) is not None:
            raise overflowed(f"{where}packed.data: row {bad}", dtype)
        above = model.above(outputs)  # of the float64 outputs, as unpacked labels are
        if request.label_bits:
            bits = messages.label_bits(above, model.low, model.high)
            return packed_answer(model, answered, dtype, None, bits)
        labels = messages.in_packed_dtype(model.labels(above), dtype)
        return packed_answer(model, answered, dtype, labels, None)

    def _check_work(self, model: ServableModel, rows: int, field: str) -> None:
        """Refuse rows that would keep a request thread computing past max_activations values
        (a wide model's 100,000-row Predict ran for minutes)."""
        check_activations(rows, model.units, 1, self.limits, field, counted="rows")

    def Predict(
        self, request: pb.PredictRequest, context: SyncContext
    ) -> pb.PredictResponse | bytes:
        with statuses(context):
            return self._predict(self.models.servable(request.model, request.version), request)

    def PredictStream(
        self, requests: Iterator[pb.PredictRequest], context: SyncContext
    ) -> Iterator[pb.PredictResponse | bytes]:
        with statuses(context):
            # The next chunks are read, and answered, while the event loop sends the one before.
            read = ahead(requests, REQUESTS_AHEAD, context.add_callback)
            yield from self._stream_answers(read)

    def _stream_answers(
        self, requests: Iterator[pb.PredictRequest]
    ) -> Iterator[pb.PredictResponse | bytes]:
        """PredictStream's answers, one per request, all from the model the first names."""
        model: ServableModel | None = None
        first = ("", 0)
        for index, request in enumerate(requests):
            where = f"requests[{index}]."
            named = (request.model, request.version)
            if model is None:
                model, first = self.models.servable(*named, f"{where}model"), named
            elif (request.model or request.version) and named != first:
                # Resolved again only when written differently; version 0: the stream's,
                # and a version without a model names the stream's model.
                reference = request.model or first[0]
                name, version = self.models.resolve(reference, request.version, f"{where}model")
                if name != model.record.name or version not in (0, model.record.version):
                    raise InvalidRequest(
                        f"{where}model",
                        f"a stream serves one model: {model.record.name}:{model.record.version}",
                    )
            yield self._predict(model, request, where)

    def Evaluate(self, request: pb.EvaluateRequest, context: SyncContext) -> pb.EvaluateResponse:
        with statuses(context):
            model = self.models.servable(request.model, request.version)
            if not request.HasField("table"):
                return _evaluated(model, self.models.evaluate_own_task(model))
            limit, limit_name = self.limits.max_predict_rows, "max_predict_rows"
            inputs = messages.rows_array(
                request.table.inputs,
                model.n_inputs,
                "table.inputs",
                limit,
                limit_name,
                model.record.meta.dtype,
            )
            n_out = model.record.meta.sizes[-1]
            bits = messages.rows_array(
                request.table.outputs, n_out, "table.outputs", limit, limit_name
            )
            self._check_work(model, len(inputs), "table.inputs")
            answer = evaluate_bytes(len(inputs), model.n_inputs, n_out)
            check_fits("Evaluate", answer, "table.inputs", self.limits)
            return _evaluated(model, self.models.evaluate_table(model, inputs, bits))

    # ------------------------------------------------------------ the store
    def ListModels(
        self, request: pb.ListModelsRequest, context: SyncContext
    ) -> pb.ListModelsResponse:
        with statuses(context):  # the store may be unreachable: UNAVAILABLE
            summaries = self.models.list(request.name)
        return pb.ListModelsResponse(models=[_summary(r) for r in summaries])

    def GetModel(self, request: pb.GetModelRequest, context: SyncContext) -> pb.ModelDetail:
        with statuses(context):
            record = self.models.stored(request.name, request.version)
            meta = record.meta
            detail = pb.ModelDetail(
                summary=_summary(self.models.summary(record)),
                activations=[a.name for a in meta.activations],
                bias=meta.bias,
                member_seed=meta.member_seed,
                dtype=meta.dtype,
                parent=meta.parent,
                history=pb.History(**dataclasses.asdict(meta.history)),
                member_solved_epochs=meta.member_solved_epochs,
            )
            if record.request:
                detail.request.ParseFromString(record.request)
            if meta.recipe:
                detail.recipe.CopyFrom(messages.recipe_message(meta.recipe))
            if meta.loss:
                detail.loss.CopyFrom(messages.component_ref(meta.loss.name, meta.loss.params))
            if meta.search:
                detail.search.CopyFrom(
                    search_done(meta.search, pb.ModelRef(name=record.name, version=record.version))
                )
            return detail

    def DeleteModel(
        self, request: pb.DeleteModelRequest, context: SyncContext
    ) -> pb.DeleteModelResponse:
        with statuses(context):
            deleted = self.models.delete(request.name, request.version)
            return pb.DeleteModelResponse(deleted_versions=deleted)

    def ExportModel(self, request: pb.ExportModelRequest, context: SyncContext) -> pb.ExportedModel:
        with statuses(context):
            return exported(
                self.models.stored(request.name, request.version), self.limits.max_message_bytes
            )

    def ImportModel(self, request: pb.ImportModelRequest, context: SyncContext) -> pb.ModelRef:
        with statuses(context):
            name = check_name(
                request.name or request.model.name,
                self.limits,
                "name" if request.name else "model.name",
            )
            request_id = check_request_id(request.request_id)
            record = record_from_export(request.model, name, self.limits)
            name, version = self.models.import_record(
                record, request.model.ByteSize() + SLACK, request_id
            )
            return pb.ModelRef(name=name, version=version)

    # ------------------------------------------------------------ explaining
    def Explain(self, request: pb.ExplainRequest, context: SyncContext) -> pb.Explanation:
        with statuses(context):
            answer = explanation(self.models.explain(request.model, request.version))
            check_fits("Explain", answer.ByteSize(), "model", self.limits)
            return answer

    # ------------------------------------------------------------ aliases
    def SetAlias(self, request: pb.SetAliasRequest, context: SyncContext) -> pb.SetAliasResponse:
        with statuses(context):
            previous = self.models.set_alias(request.name, request.alias, request.version)
            return pb.SetAliasResponse(
                model=pb.ModelRef(name=request.name, version=request.version),
                previous_version=previous,
            )

    def DeleteAlias(
        self, request: pb.DeleteAliasRequest, context: SyncContext
    ) -> pb.DeleteAliasResponse:
        with statuses(context):
            version = self.models.delete_alias(request.name, request.alias)
            return pb.DeleteAliasResponse(model=pb.ModelRef(name=request.name, version=version))
