"""The Python client: one method per RPC, plain results, one exception type.

    with Client("127.0.0.1:50051") as client:
        outcome = client.train("my-xor", "xor")
        print(client.predict("my-xor", [[0, 1]]).labels)

It needs no NumPy: everything goes over the wire as the generated protobuf messages. Wherever
a method takes a model `name` and a `version`, the name may also be "NAME:VERSION" or
"NAME@ALIAS" (an alias set with `set_alias`), e.g. `client.predict("my-xor@stable", rows)`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from gatelearn.api.constants import DEFAULT_ADDRESS
from gatelearn.client._channel import SERVICE_NAME, channel_options, target, target_options
from gatelearn.client._chunk_rows import (
    DEFAULT_CHUNK_ROWS,
    FITTED_KEPT,
    MAX_REFITS,
    chunk_rows_to_send,
    rows_that_fit,
)
from gatelearn.client._nesting import MAX_STRUCT_DEPTH, too_deep
from gatelearn.client._packed import DEFAULT_STREAMS, ChunkFailure, chunk_request, predict_chunks
from gatelearn.client._request_ids import new_request_id, request_id_problem
from gatelearn.client.types import (
    Component,
    Evaluation,
    Explanation,
    ModelDetail,
    ModelRef,
    ModelSummary,
    Prediction,
    Progress,
    SearchCandidate,
    SearchProgress,
    SearchResult,
    TaskDescription,
    TrainOutcome,
    recipe_dict,
)
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

__all__ = [
    "ADDRESS_ENV",
    "DEFAULT_ADDRESS",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_STREAMS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TRAIN_TIMEOUT",
    "Client",
    "ComponentSpec",
    "GateLearnError",
    "TOKEN_ENV",
    "TrainOptions",
]

ADDRESS_ENV = "GATELEARN_ADDRESS"
TOKEN_ENV = "GATELEARN_AUTH_TOKEN"
DEFAULT_TIMEOUT = 30.0  # seconds, every call but Train
DEFAULT_TRAIN_TIMEOUT = 3600.0  # seconds, a whole training
DEFAULT_RETRIES = 4  # retries of a call that failed UNAVAILABLE
DEFAULT_RETRY_BACKOFF = 0.2  # seconds, the longest wait before the first retry

# A component by name, or by name with parameters: "adam" or ("adam", {"lr": 0.1}).
ComponentSpec = str | tuple[str, Mapping[str, Any]]
Rows = Sequence[Sequence[float]]


class GateLearnError(Exception):
    """An RPC failed. `code` is the gRPC status code; `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> GateLearnError:
        code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = error.details() if isinstance(error, grpc.Call) else str(error)
        return cls(code, details or code.name)


@dataclass(frozen=True)
class TrainOptions:
    """Loop settings for `Client.train`; None leaves the server's default."""

    epochs: int | None = None
    batch_size: int = 0
    shuffle: bool | None = None
    weight_decay: float = 0.0
    stop_when_solved: bool | None = None
    margin: float | None = None
    loss_target: float | None = None
    patience: int = 0
    min_delta: float = 0.0
    progress_interval_ms: int = 0
    record_every: int = 0
    validation_share: float = 0.0

    def to_pb(self) -> pb.TrainOptions:
        given = {k: v for k, v in self.__dict__.items() if v is not None}
        return pb.TrainOptions(**given)


def _plain(value: Any) -> Any:
    """`value` with NumPy arrays and scalars (anything with `tolist`) turned into Python
    lists and numbers, inside dicts, lists and tuples too, as protobuf wants them."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _ref(spec: ComponentSpec, field: str) -> pb.ComponentRef:
    """The ComponentRef for `spec`, sent as the request's `field`."""
    name, params = (spec, {}) if isinstance(spec, str) else spec
    params = _plain(dict(params))
    _check_depth({"params": params}, field)
    ref = pb.ComponentRef(name=name)
    ref.params.update(params)
    return ref


def _check_depth(value: Any, path: str) -> None:
    """Refuse parameters in `value` nested deeper than the server would read."""
    if (where := too_deep(value, path)) is not None:
        raise GateLearnError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{where}: Struct and list values nest at most {MAX_STRUCT_DEPTH} "
            f"levels deep (limit max_struct_depth)",
        )


_DTYPES = {"float64": pb.FLOAT64, "float32": pb.FLOAT32}


def _dtype(name: str | None) -> pb.Dtype:
    """A dtype name as the enum, None as unset (the server's default)."""
    if name is None:
        return pb.DTYPE_UNSPECIFIED
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)} or None, got {name!r}")
    return _DTYPES[name]


def _request_id(given: str | None) -> str:
    """`given` if the server would take it as a request id; a new one when it is None."""
    if given is None:
        return new_request_id()
    if (problem := request_id_problem(given)) is not None:
        raise GateLearnError(grpc.StatusCode.INVALID_ARGUMENT, problem)
    return given


def _with_new_request_id(request: pb.TrainRequest) -> pb.TrainRequest:
    """A copy of `request` with a new request id (the caller's message stays as it was)."""
    copy = pb.TrainRequest()
    copy.CopyFrom(request)
    copy.request_id = new_request_id()
    return copy


def _rows(rows: Rows) -> list[dict[str, Any]]:
    """Rows of numbers (lists, or a NumPy array) as Row fields: the message holding them makes
    each Row in place, where Rows made apart are copied in (twice the cost of a small Predict's
    request)."""
    rows = rows.tolist() if hasattr(rows, "tolist") else rows  # one call, not one a number
    return [{"values": row.tolist() if hasattr(row, "tolist") else row} for row in rows]


def _tensor(array: Any) -> pb.Tensor:
    """A vector or a matrix (nested lists or a NumPy array) as a row-major Tensor."""
    array = _plain(array)
    if array and isinstance(array[0], Sequence):
        return pb.Tensor(
            shape=[len(array), len(array[0])], values=[v for row in array for v in row]
        )
    return pb.Tensor(shape=[len(array)], values=list(array))


def _table(inputs: Rows, outputs: Rows) -> pb.TruthTable:
    return pb.TruthTable(inputs=_rows(inputs), outputs=_rows(outputs))


def _data(inputs: Any, targets: Any) -> pb.DataRows:
    """X and y as DataRows: NumPy arrays or nested lists; y may be one label a row."""
    inputs, targets = _plain(inputs), _plain(targets)
    columns = [row if isinstance(row, Sequence) else [row] for row in targets]
    return pb.DataRows(inputs=_rows(inputs), targets=_rows(columns))


class Client:
    """A connection to a gatelearn server. Use it as a context manager, or call `close`."""

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        train_timeout: float | None = DEFAULT_TRAIN_TIMEOUT,
        token: str | None = None,
        tls_ca: Path | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        max_message_bytes: int = 16 * 2**20,
        retries: int = DEFAULT_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
    ) -> None:
        """Connect to `address` (default $GATELEARN_ADDRESS, else 127.0.0.1:50051).

        `address` is one `host:port`, several comma-separated `IP:port` (the replicas of one
        service), or any gRPC target URI such as `dns:///host:port`. Calls go round robin to
        the replicas that are up and report themselves healthy.

        A call that fails UNAVAILABLE (no replica reachable, or a connection lost) is retried
        up to `retries` times (at most 4; 0 = never), on another replica when there is one,
        after a random wait of up to `retry_backoff` seconds that doubles at each retry (at
        most 8 times), all within the call's timeout. Every RPC is retried: the reads, Train
        and ImportModel (their request ids let a server recognise a retry) and DeleteModel.
        A Train stream is retried only until its first event arrives; a request over 256 KiB
        is not retried (gRPC's retry buffer).

        `max_message_bytes` bounds messages both ways; the default is the server's default
        limit, so every answer a default server gives can be received.

        `token` (default $GATELEARN_AUTH_TOKEN) is sent as a bearer token on every call.
        With `tls_ca` (the server's CA; None trusts the system's) or a client certificate
        (`tls_cert` and `tls_key`), the connection uses TLS.
        """
        self.address = address or os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS
        self.timeout = timeout
        self.train_timeout = train_timeout
        self.max_message_bytes = max_message_bytes
        # predict_array's chunk rows that fitted after a refusal, by (model, version, row
        # bytes): a later call starts from them rather than be refused once more (at most
        # FITTED_KEPT kept).
        self._fitted_rows: dict[tuple[str, int, int], int] = {}
        self._fitted_lock = threading.Lock()
        token = token or os.environ.get(TOKEN_ENV)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            *channel_options(retries, retry_backoff),
            *target_options(self.address),
        ]
        where = target(self.address)
        if tls_ca or tls_cert or tls_key:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=tls_ca.read_bytes() if tls_ca else None,
                private_key=tls_key.read_bytes() if tls_key else None,
                certificate_chain=tls_cert.read_bytes() if tls_cert else None,
            )
            self._channel = grpc.secure_channel(where, credentials, options)
        else:
            self._channel = grpc.insecure_channel(where, options)
        self._stub = gatelearn_pb2_grpc.GateLearnStub(self._channel)
        # predict_array's streams take requests already encoded (chunk_request_bytes).
        self._encoded_predict_stream = self._channel.stream_stream(
            f"/{SERVICE_NAME}/PredictStream",
            request_serializer=None,
            response_deserializer=pb.PredictResponse.FromString,
            _registered_method=True,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(
                request, timeout=self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as error:
            raise GateLearnError.from_rpc(error) from None

    # ------------------------------------------------------------ components and tasks
    def plugins(self, kind: str = "") -> list[Component]:
        """Every registered component (of one kind, if given)."""
        response = self._call("ListPlugins", pb.ListPluginsRequest(kind=kind))
        return [Component.from_pb(c) for c in response.components]

    def default_recipe(self) -> dict[str, Any]:
        """The settings a training that names only a 2-input task gets, every default filled in
        (the shape of `ModelDetail.recipe`, without the task, and without hidden, which the
        server chooses from the task: the sizes its plugin declares, else one layer of max(8,
        4 x the task's inputs) units; tasks
        of 256 rows or more also get rprop and more epochs: `describe_task` shows a task's)."""
        response = self._call("ListPlugins", pb.ListPluginsRequest())
        recipe = recipe_dict(response.default_recipe)  # its task unset, so absent
        del recipe["hidden"]  # unset too, though a repeated field reads as []
        return recipe

    def tasks(self) -> list[Component]:
        return [Component.from_pb(t) for t in self._call("ListTasks", pb.ListTasksRequest()).tasks]

    def describe_task(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        preview_rows: int = 0,
    ) -> TaskDescription:
        request = pb.DescribeTaskRequest(
            task=_ref((name, params or {}), "task"), seed=seed, preview_rows=preview_rows
        )
        return TaskDescription.from_pb(self._call("DescribeTask", request))

    # ------------------------------------------------------------ training
    def train_request(
        self,
        name: str,
        task: ComponentSpec | None = None,
        *,
        table: tuple[Rows, Rows] | None = None,
        data: tuple[Any, Any] | None = None,
        hidden: Sequence[int] | None = None,
        activations: Sequence[ComponentSpec] = (),
        bias: bool | None = None,
        loss: ComponentSpec | None = None,
        optimizer: ComponentSpec | None = None,
        initializer: ComponentSpec | None = None,
        weights: Sequence[Any] | None = None,
        biases: Sequence[Any] | None = None,
        options: TrainOptions | None = None,
        seed: int = 0,
        population: int = 1,
        dtype: str | None = None,
        request_id: str | None = None,
        start_from: str = "",
        lr: float | None = None,
        **loop: Any,
    ) -> pb.TrainRequest:
        """The TrainRequest that `train` sends; see `train` for the arguments.

        Rows, weights, biases and parameter values may be NumPy arrays or lists. `lr` is the
        optimizer's learning rate (the task's default optimizer's when none is named); any
        field of `TrainOptions` may be given as a keyword too (`epochs=20000`), over `options`.
        It carries `request_id`, or a new random one: send the same request again to retry
        it, build a new one for a new training. `dtype` None leaves it to the server (float64,
        or a warm start's stored one)."""
        if unknown := sorted(set(loop) - set(TrainOptions.__dataclass_fields__)):
            raise TypeError(f"train() got unexpected keyword arguments: {', '.join(unknown)}")
        if loop:
            options = replace(options or TrainOptions(), **loop)
        if lr is not None:
            chosen, params = (
                (optimizer, {}) if isinstance(optimizer, str) else optimizer or ("", {})
            )
            optimizer = (chosen, {**params, "lr": lr})
        request = pb.TrainRequest(
            model_name=name,
            seed=seed,
            population=population,
            request_id=_request_id(request_id),
            start_from=start_from,
            activations=[_ref(a, f"activations[{i}]") for i, a in enumerate(activations)],
            dtype=_dtype(dtype),
        )
        if table is not None:
            request.table.CopyFrom(_table(*table))
        elif data is not None:
            request.data.CopyFrom(_data(*data))
        elif task is not None:
            request.task.CopyFrom(_ref(task, "task"))
        if hidden is not None:
            request.hidden.SetInParent()
            request.hidden.units.extend(hidden)
        if bias is not None:
            request.bias = bias
        for field, spec in (("loss", loss), ("optimizer", optimizer), ("initializer", initializer)):
            if spec is not None:
                getattr(request, field).CopyFrom(_ref(spec, field))
        if weights is not None:
            request.weights.weights.extend(_tensor(w) for w in weights)
            request.weights.biases.extend(_tensor(b) for b in (() if biases is None else biases))
        if options is not None:
            request.options.CopyFrom(options.to_pb())
        return request

    def train_events(
        self, request: pb.TrainRequest
    ) -> Generator[Progress | TrainOutcome, None, None]:
        """Stream a training: progress events, then the outcome. Closing the iterator early
        cancels the training on the server, which then saves nothing.

        A request without a request id is sent with a new one. gRPC retries the call after
        UNAVAILABLE only until the first event arrives; a stream broken later fails."""
        if not request.request_id:
            request = _with_new_request_id(request)
        with contextlib.closing(self._stream("Train", request)) as events:
            for event in events:
                if event.HasField("progress"):
                    yield Progress.from_pb(event.progress)
                else:
                    yield TrainOutcome.from_pb(event.done)

    def _stream(self, method: str, request: Any) -> Generator[Any, None, None]:
        """The messages of a server-streaming call with the training timeout; closing it
        cancels the call."""
        call = getattr(self._stub, method)(
            request, timeout=self.train_timeout, metadata=self._metadata
        )
        try:
            yield from call
        except grpc.RpcError as error:
            raise GateLearnError.from_rpc(error) from None
        finally:
            call.cancel()

    def train(
        self,
        name: str,
        task: ComponentSpec | None = None,
        *,
        on_progress: Callable[[Progress], bool | None] | None = None,
        **settings: Any,
    ) -> TrainOutcome:
        """Train a model and save it under `name`; return the saved version and its metrics.

        `task` is a task name or (name, params); or give `table=(inputs, outputs)`, or
        `data=(X, y)`: real-valued rows X and labels y (NumPy arrays or lists; y one label a
        row, or one row of labels a row; all 0/1 or all -1/+1). `start_from="NAME:VERSION"`
        (or "NAME" for the latest) continues that stored version, its optimizer state
        included, with the settings given here on top (no task needed). Other
        settings are those of `train_request`, e.g. `epochs=20000, lr=0.1`.

        `on_progress` sees each progress event; returning True cancels the training
        (GateLearnError with code CANCELLED). Events are time-based: the server sends one at
        most every TrainOptions.progress_interval_ms (default 100 ms) of training, so a run
        shorter than that (XOR with the defaults takes a few ms) may send none.
        """
        events = self.train_events(self.train_request(name, task, **settings))
        outcome = None
        try:
            for event in events:
                if isinstance(event, TrainOutcome):
                    outcome = event  # read on to the status: the call ends OK, not cancelled
                elif on_progress is not None and on_progress(event):
                    break
        finally:
            events.close()
        if outcome is None:
            raise GateLearnError(grpc.StatusCode.CANCELLED, "training cancelled by the client")
        return outcome

    # ------------------------------------------------------------ searching
    def search_request(
        self,
        name: str,
        task: ComponentSpec | None = None,
        *,
        max_depth: int | None = None,
        widths: Sequence[int] = (),
        activations: Sequence[ComponentSpec] = (),
        output_activation: ComponentSpec | None = None,
        seeds: int = 0,
        target: float | None = None,
        **settings: Any,
    ) -> pb.SearchRequest:
        """The SearchRequest that `search` sends: candidates of 0 to `max_depth` (default 2)
        hidden layers of `widths` (default 1, 2, 3, 4, 6, 8, 12, 16) with each of the hidden
        `activations` (default tanh), `seeds` networks each (0 = 100), answer the first to
        solve a `target` share (default 0.95) of them. Other settings (the task, table or
        data, loss, optimizer, options with the epoch budget, seed, dtype, request_id) are
        `train`'s: sent again with the same request id, a search whose answer was saved
        answers that model at once."""
        base = self.train_request(name, task, **settings)  # with a request id, as Train's
        base.ClearField("population")  # the search sets it itself
        request = pb.SearchRequest(
            base=base,
            widths=list(widths),
            seeds=seeds,
            activations=[_ref(a, f"activations[{i}]") for i, a in enumerate(activations)],
        )
        if max_depth is not None:
            request.max_depth = max_depth
        if target is not None:
            request.target = target
        if output_activation is not None:
            request.output_activation.CopyFrom(_ref(output_activation, "output_activation"))
        return request

    def search_events(
        self, request: pb.SearchRequest
    ) -> Generator[SearchProgress | SearchCandidate | SearchResult, None, None]:
        """Stream a search: the running candidate's progress and each finished candidate's
        row, then the result. Closing the iterator early cancels the search (nothing saved).
        It has the training timeout."""
        with contextlib.closing(self._stream("Search", request)) as events:
            for event in events:
                kind = event.WhichOneof("event")
                if kind == "progress":
                    yield SearchProgress.from_pb(event.progress)
                elif kind == "candidate":
                    yield SearchCandidate.from_pb(event.candidate)
                else:
                    yield SearchResult.from_pb(event.done)

    def search(
        self, name: str, task: ComponentSpec | None = None, **settings: Any
    ) -> Generator[SearchProgress | SearchCandidate | SearchResult, None, None]:
        """Search for the smallest network that solves `task` and save it under `name`: the
        events of `search_events` for `search_request(name, task, **settings)`; the last one
        is the SearchResult."""
        return self.search_events(self.search_request(name, task, **settings))

    # ------------------------------------------------------------ serving
    def predict(self, name: str, rows: Rows, *, version: int = 0) -> Prediction:
        request = pb.PredictRequest(model=name, version=version, rows=_rows(rows))
        return Prediction.from_pb(self._call("Predict", request))

    def predict_array(
        self,
        name: str,
        rows: Any,
        *,
        version: int = 0,
        chunk_rows: int | None = None,
        streams: int = DEFAULT_STREAMS,
    ) -> tuple[Any, Any]:
        """Outputs and labels for a NumPy array of rows, as NumPy arrays of its dtype.

        Rows travel packed (raw little-endian bytes); more than `chunk_rows` go in chunks over
        `streams` PredictStreams at once, each carrying a contiguous run of chunks, and come
        back in row order from the one model version the first stream resolved. Left out,
        `chunk_rows` is DEFAULT_CHUNK_ROWS, or fewer when a chunk's request would be over
        `max_message_bytes`; and when the server, or this client's message limit, refuses a
        chunk as too large by a limit whose figures the refusal names (max_predict_rows,
        max_activations, max_message_bytes: a wide model's answer), the call goes again in
        chunks that fit, up to MAX_REFITS times, and the next call for that model starts from
        them. The first chunk that fails raises, named by
        its index in the whole call (`requests[5].packed`), and nothing is returned. This is
        the fast path for large batches; it needs NumPy, which the rest of the client does not.
        """
        import numpy as np

        array = np.asarray(rows)
        dtype = "float32" if array.dtype == np.float32 else "float64"
        array = np.ascontiguousarray(array, dtype="<f4" if dtype == "float32" else "<f8")
        if array.ndim != 2:
            raise ValueError(f"rows must be a 2-D array, got shape {array.shape}")
        if (chunk_rows is not None and chunk_rows < 1) or streams < 1:
            raise ValueError(
                f"chunk_rows and streams must be at least 1, got {chunk_rows}, {streams}"
            )
        # Built here so that a version protobuf cannot carry raises ValueError, as every other
        # method's request does, and not UNKNOWN from inside a stream's request iterator.
        pb.PredictRequest(model=name, version=version)
        row_bytes = array.shape[1] * array.itemsize
        fitted = (name, version, row_bytes)
        rows = (
            chunk_rows
            or self._fitted_rows.get(fitted)
            or chunk_rows_to_send(row_bytes, self.max_message_bytes)
        )
        refits = 0
        while True:
            try:
                answers = self._predict_chunks(name, version, array, dtype, rows, streams)
            except GateLearnError as error:
                refit = not chunk_rows and refits < MAX_REFITS
                fits = rows_that_fit(error, min(rows, len(array))) if refit else None
                if fits is None:
                    raise
                rows, refits = fits, refits + 1
                continue
            if refits:
                self._remember_fit(fitted, rows)
            return answers

    def _remember_fit(self, key: tuple[str, int, int], rows: int) -> None:
        """Keep the chunk rows that fitted for `key`, forgetting the oldest past FITTED_KEPT."""
        with self._fitted_lock:
            if key not in self._fitted_rows and len(self._fitted_rows) >= FITTED_KEPT:
                del self._fitted_rows[next(iter(self._fitted_rows))]
            self._fitted_rows[key] = rows

    def _predict_chunks(
        self, name: str, version: int, array: Any, dtype: str, chunk_rows: int, streams: int
    ) -> tuple[Any, Any]:
        """predict_array's call, for rows already checked and packed as `dtype`."""
        from gatelearn.client._answers import Answers

        chunks = [
            array[start : start + chunk_rows] for start in range(0, max(len(array), 1), chunk_rows)
        ]
        answers = Answers(len(array), array.dtype)
        try:
            if len(chunks) == 1:
                response = self._stub.Predict(
                    chunk_request(chunks[0], dtype, name, version),
                    timeout=self.timeout,
                    metadata=self._metadata,
                )
                answers.add(0, response)
            else:
                predict_chunks(
                    lambda requests: self._encoded_predict_stream(
                        requests, timeout=self.timeout, metadata=self._metadata
                    ),
                    chunks,
                    dtype,
                    (name, version),
                    answers.add,
                    streams,
                )
        except grpc.RpcError as error:
            raise GateLearnError.from_rpc(error) from None
        except ChunkFailure as failure:
            raise GateLearnError(failure.code, failure.details) from None
        return answers.arrays()

    def evaluate(
        self, name: str, *, version: int = 0, table: tuple[Rows, Rows] | None = None
    ) -> Evaluation:
        """Measure a model on its own task, or on `table=(inputs, outputs)`."""
        request = pb.EvaluateRequest(model=name, version=version)
        if table is not None:
            request.table.CopyFrom(_table(*table))
        return Evaluation.from_pb(self._call("Evaluate", request))

    # ------------------------------------------------------------ the store
    def models(self, name: str = "") -> list[ModelSummary]:
        """The latest version of every model, or every version of `name`."""
        response = self._call("ListModels", pb.ListModelsRequest(name=name))
        return [ModelSummary.from_pb(m) for m in response.models]

    def model(self, name: str, *, version: int = 0) -> ModelDetail:
        detail = self._call("GetModel", pb.GetModelRequest(name=name, version=version))
        return ModelDetail.from_pb(detail)

    def delete(self, name: str, *, version: int = 0) -> list[int]:
        """Delete one version, or every version when `version` is 0; return those deleted.

        Retried after UNAVAILABLE like every call: should the first attempt have deleted and
        its answer been lost, the retry answers NOT_FOUND; either way the version is gone."""
        response = self._call("DeleteModel", pb.DeleteModelRequest(name=name, version=version))
        return list(response.deleted_versions)

    def export_model(self, name: str, *, version: int = 0) -> dict[str, Any]:
        """A model's weights, activations and task as JSON-ready data."""
        exported = self._call("ExportModel", pb.ExportModelRequest(name=name, version=version))
        return json_format.MessageToDict(exported)

    def set_alias(self, name: str, alias: str, version: int) -> int:
        """Point `alias` of model `name` at `version`, creating or moving it; return the
        version it named before (0 when it is new)."""
        request = pb.SetAliasRequest(name=name, alias=alias, version=version)
        return int(self._call("SetAlias", request).previous_version)

    def delete_alias(self, name: str, alias: str) -> int:
        """Remove `alias` of model `name`; return the version it named. A retry whose first
        attempt removed it answers NOT_FOUND."""
        request = pb.DeleteAliasRequest(name=name, alias=alias)
        return int(self._call("DeleteAlias", request).model.version)

    def import_model(
        self, name: str, model: Mapping[str, Any], *, request_id: str | None = None
    ) -> ModelRef:
        """Store exported (or hand-written) weights under `name`; return the new version.

        The request carries `request_id`, or a new random one."""
        request_id = _request_id(request_id)
        plain = _plain(dict(model))
        _check_depth(plain, "model")
        exported = pb.ExportedModel()
        try:
            json_format.ParseDict(plain, exported)
        except json_format.ParseError as error:
            raise GateLearnError(grpc.StatusCode.INVALID_ARGUMENT, f"model: {error}") from None
        ref = self._call(
            "ImportModel", pb.ImportModelRequest(name=name, model=exported, request_id=request_id)
        )
        return ModelRef.from_pb(ref)

    # ------------------------------------------------------------ explaining
    def explain(self, name: str, *, version: int = 0) -> Explanation:
        """What a model computes: its truth table and minimal formula per output, its
        first-layer units, the tasks it equals (or for real inputs its half-planes and region).
        """
        return Explanation.from_pb(
            self._call("Explain", pb.ExplainRequest(model=name, version=version))
        )
