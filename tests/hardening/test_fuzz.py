"""Hypothesis fuzzing of every GateLearn RPC against a real server on loopback.

Two kinds of input:

* request messages built field by field from valid, borderline and invalid values (component
  names from the installed registry and random text, Struct params holding any JSON value
  including NaN and infinities, layer sizes around the limits, ragged and contradictory truth
  tables, tensors whose shape and value count disagree, out-of-range enum values, uint64 seed
  extremes, unknown fields), sent with the generated stubs;
* raw byte strings that still decode as the request message (random, or built from random
  wire-format fields, or mutated encodings of the messages above), sent unchanged through a
  channel method whose request serializer is the identity;
* raw byte strings that do not decode, sent the same way: each must be answered
  INVALID_ARGUMENT naming the message (`request` or `requests[N]`) and its type, with at most
  one log line.

For every call the status must not be INTERNAL or UNKNOWN (gatelearn.proto: "No client input
produces INTERNAL or UNKNOWN"), a non-training call must not hang, and after every 50 calls and
at the end of each test the standard health check must answer SERVING.

GATELEARN_FUZZ_EXAMPLES sets the examples per RPC test (default 60; the raw-bytes test runs
max(100, 5/3 of it)); GATELEARN_FUZZ_UNDECODABLE the examples of the undecodable-bytes test
(default 800); CI=1 derandomizes. The bugs fuzzing found have reproducers at the end.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
import numpy as np
import pytest
from conftest import start_server
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gatelearn.plugins import KINDS, load_registry
from gatelearn.server import Limits
from gatelearn.server.edge.nesting import overgrown
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

# ---------------------------------------------------------------- settings

EXAMPLES = int(os.environ.get("GATELEARN_FUZZ_EXAMPLES", "60"))
RAW_EXAMPLES = max(100, EXAMPLES * 5 // 3)
UNDECODABLE_EXAMPLES = int(os.environ.get("GATELEARN_FUZZ_UNDECODABLE", "800"))
VERBOSE = os.environ.get("GATELEARN_FUZZ_VERBOSE", "") not in ("", "0")  # status details
HEALTH_EVERY = 50  # calls between two health checks

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None,  # nothing written into the working tree
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

LIMITS = Limits(
    max_epochs=2000,
    max_population=16,
    max_units=32,
    max_predict_rows=1000,
    max_task_rows=5000,
    max_concurrent_trainings=2,
    max_models=10000,
    max_search_network_epochs=20_000,
)

FORBIDDEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
TRAIN_TIMEOUT = 15.0  # a training may legitimately outlast this: DEADLINE_EXCEEDED is fine
CALL_TIMEOUT = 30.0  # any other call that takes this long is a hang
SERVICE = pb.DESCRIPTOR.services_by_name["GateLearn"]
U32 = 2**32 - 1
U64 = 2**64 - 1
INF, NAN = math.inf, math.nan

# ---------------------------------------------------------------- seeded models

XOR = "fz-xor"  # trained on xor: 2 inputs, 1 output, labels 0/1
PERCEPTRON = "fz-perceptron"  # article 002's sign perceptron: region, labels -1/1
TABLE = "fz-table"  # imported, inline half-adder table: 2 inputs, 2 outputs
HALF = "fz-half"  # trained on half_adder with no epochs: 2 inputs, 2 outputs
VICTIMS = tuple(f"fz-victim-{i}" for i in range(3))  # for DeleteModel, three versions each
SEEDED = (XOR, PERCEPTRON, TABLE, HALF)


def _tensor(shape: list[int], values: list[float]) -> pb.Tensor:
    return pb.Tensor(shape=shape, values=values)


def _layer(
    shape: list[int], weights: list[float], bias: list[float] | None, activation: str
) -> pb.ExportedLayer:
    layer = pb.ExportedLayer(
        weights=_tensor(shape, weights), activation=pb.ComponentRef(name=activation)
    )
    if bias is not None:
        layer.bias.CopyFrom(_tensor([shape[1]], bias))
    return layer


def _perceptron() -> pb.ExportedModel:
    """Article 002's hand-written sign network (see README.md)."""
    model = pb.ExportedModel(
        low=-1,
        high=1,
        layers=[
            _layer([2, 2], [1, 0, 0, -1], [-1, 1], "sign"),
            _layer([2, 1], [1, 1], [0], "sign"),
        ],
    )
    model.task.name = "region"
    model.task.params.update({"labels": "sign"})
    return model


def _half_adder_table() -> pb.TruthTable:
    bits = [[0, 0], [0, 1], [1, 0], [1, 1]]
    return pb.TruthTable(
        inputs=[pb.Row(values=r) for r in bits],
        outputs=[pb.Row(values=[a ^ b, a & b]) for a, b in bits],
    )


def _table_model() -> pb.ExportedModel:
    """A 2-2 sigmoid layer on the half-adder table (not necessarily right on it)."""
    model = pb.ExportedModel(
        format_version=1,
        low=0,
        high=1,
        dtype="float64",
        layers=[
            _layer([2, 2], [6, 6, 6, 6], [-3, -9], "sigmoid"),
        ],
    )
    model.table.CopyFrom(_half_adder_table())
    return model


def _xor_model() -> pb.ExportedModel:
    """A 2-2-1 tanh/sigmoid network on xor by name."""
    model = pb.ExportedModel(
        layers=[
            _layer([2, 2], [4, -4, 4, -4], [-2, 6], "tanh"),
            _layer([2, 1], [4, 4], [-4], "sigmoid"),
        ]
    )
    model.task.name = "xor"
    return model


BASE_EXPORTS = (_perceptron, _table_model, _xor_model)

# ---------------------------------------------------------------- the server, calls, checks


@dataclass(repr=False)  # hypothesis prints the arguments of a failing example
class Fuzz:
    """The server under test, its channel and stubs, and what the fuzzing saw."""

    server: Any
    channel: grpc.Channel
    stub: gatelearn_pb2_grpc.GateLearnStub
    health: health_pb2_grpc.HealthStub
    log: list[str]
    calls: Counter[str] = field(default_factory=Counter)  # per test
    codes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rpc, status)
    details: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # for VERBOSE
    slowest: list[tuple[float, str, str, str]] = field(default_factory=list)  # for VERBOSE
    tests_done: set[str] = field(default_factory=set)
    last_details: str = ""  # of the last call

    def __repr__(self) -> str:
        return f"Fuzz(port={self.server.port}, calls={self.total})"

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def assert_serving(self) -> None:
        for service in ("", SERVICE.full_name):
            reply = self.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, (
                f"health of {service!r} after {self.total} fuzz calls: {reply}"
            )

    def raw_method(self, rpc: str) -> Callable[..., Any]:
        method = SERVICE.methods_by_name[rpc]
        path = f"/{SERVICE.full_name}/{rpc}"
        make = {
            (False, False): self.channel.unary_unary,
            (False, True): self.channel.unary_stream,
            (True, False): self.channel.stream_unary,
            (True, True): self.channel.stream_stream,
        }[(method.client_streaming, method.server_streaming)]
        return make(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)

    def call(self, test: str, rpc: str, request: Any, *, raw: Any = None) -> tuple[str, Any]:
        """Send `request` (or the bytes `raw`, which decode as it, or do not decode when
        `request` is None) and check the status; return the status name and the response (a
        list of them for a stream).

        For a client-streaming RPC `request` (and `raw`) is a list of messages (of bytes).
        """
        method_descriptor = SERVICE.methods_by_name[rpc]
        streaming = method_descriptor.server_streaming
        timeout = TRAIN_TIMEOUT if rpc in ("Train", "Search") else CALL_TIMEOUT
        method = self.raw_method(rpc) if raw is not None else getattr(self.stub, rpc)
        payload = raw if raw is not None else request
        if method_descriptor.client_streaming:
            payload = iter(payload)
        del self.log[:]
        started = time.monotonic()
        code, details, result = grpc.StatusCode.OK, "", cast(Any, None)
        try:
            result = method(payload, timeout=timeout)
            if streaming:
                result = list(result)
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
        elapsed = time.monotonic() - started
        self.last_details = details
        self.calls[test] += 1
        self.codes[(rpc, code.name)] += 1
        if VERBOSE:
            self.details[(rpc, code.name, details[:110])] += 1
            if len(self.slowest) < 5 or elapsed > self.slowest[-1][0]:
                self.slowest = sorted(
                    [*self.slowest, (elapsed, rpc, code.name, _show(request)[:600])], reverse=True
                )[:5]

        def where() -> str:
            return (
                f"{rpc} ({'raw bytes ' + _hex(raw) if raw is not None else 'stub'}) "
                f"answered {code.name} after {elapsed:.2f}s: {details}\n"
                f"request: {_show(request)}\nserver log:\n" + "\n".join(self.log)
            )

        if code in FORBIDDEN:
            raise AssertionError(where())
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and rpc != "Train":
            raise AssertionError(f"hang: {where()}")
        if code == grpc.StatusCode.OK and rpc == "Train":  # the stream ends with one done event
            events = [pb.TrainEvent.FromString(e) if raw is not None else e for e in result]
            kinds = [e.WhichOneof("event") for e in events]
            assert kinds and kinds[-1] == "done" and kinds.count("done") == 1, (
                f"Train ended OK with events {kinds}: {where()}"
            )
        if code == grpc.StatusCode.OK and rpc == "PredictStream":  # one answer per chunk
            assert len(result) == len(request), f"{len(result)} responses: {where()}"
        if self.total % HEALTH_EVERY == 0:
            self.assert_serving()
        return code.name, result


def _hex(raw: Any) -> str:
    return raw.hex() if isinstance(raw, bytes) else repr([b.hex() for b in raw])


def _show(request: Any) -> str:
    text = repr(request)
    return text if len(text) < 4000 else text[:4000] + f"... ({len(text)} characters)"


class _Collect(logging.Handler):
    """Keeps the server's logged exceptions (grpc logs a servicer's traceback)."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


def _seed(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    done = list(
        stub.Train(
            pb.TrainRequest(
                model_name=XOR,
                task=pb.ComponentRef(name="xor"),
                options=pb.TrainOptions(epochs=2000),
            ),
            timeout=60,
        )
    )
    assert done[-1].done.metrics.solved, done[-1]
    list(
        stub.Train(
            pb.TrainRequest(
                model_name=HALF,
                task=pb.ComponentRef(name="half_adder"),
                options=pb.TrainOptions(epochs=0),
            ),
            timeout=60,
        )
    )
    assert stub.ImportModel(pb.ImportModelRequest(name=PERCEPTRON, model=_perceptron())).version
    assert stub.ImportModel(pb.ImportModelRequest(name=TABLE, model=_table_model())).version
    for victim in VICTIMS:
        for _ in range(3):
            stub.ImportModel(pb.ImportModelRequest(name=victim, model=_xor_model()))


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Fuzz]:
    log: list[str] = []
    handler = _Collect(log)
    loggers = [logging.getLogger(name) for name in ("grpc._server", "gatelearn.server")]
    for logger in loggers:
        logger.addHandler(handler)
    running = start_server(tmp_path_factory.mktemp("fuzz") / "data", limits=LIMITS)
    channel = grpc.insecure_channel(
        f"127.0.0.1:{running.port}",
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )
    stub = gatelearn_pb2_grpc.GateLearnStub(channel)
    _seed(stub)
    state = Fuzz(running, channel, stub, health_pb2_grpc.HealthStub(channel), log)
    try:
        yield state
    finally:
        _report(pytestconfig, state)
        channel.close()
        running.stop(0)
        for logger in loggers:
            logger.removeHandler(handler)


def _report(config: pytest.Config, state: Fuzz) -> None:
    """Print the fuzz summary to the terminal, past output capturing."""
    lines = [
        f"gatelearn fuzz: {state.total} fuzz examples run "
        f"({', '.join(f'{t} {n}' for t, n in state.calls.items())})"
    ]
    by_rpc: dict[str, list[str]] = {}
    for (rpc, code), count in sorted(state.codes.items()):
        by_rpc.setdefault(rpc, []).append(f"{code} {count}")
    lines += [f"  {rpc}: {', '.join(codes)}" for rpc, codes in by_rpc.items()]
    if VERBOSE:
        lines += [
            f"    {n:4d} {rpc} {code} {text!r}"
            for (rpc, code, text), n in sorted(state.details.items())
        ]
        lines += [
            f"  slow: {elapsed:.2f}s {rpc} {code} {text!r}"
            for elapsed, rpc, code, text in state.slowest
        ]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    else:
        for line in lines:
            reporter.write_line(line)


# ---------------------------------------------------------------- value strategies

REGISTRY = load_registry()
NAMES = {kind: REGISTRY.names(kind) for kind in KINDS}
ALL_NAMES = sorted({name for names in NAMES.values() for name in names})
PARAMS = {(entry.kind, entry.name): entry.component.params for entry in REGISTRY.entries()}

EDGE_FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    1e-300,
    5e-324,
    -5e-324,
    1e308,
    -1e308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    INF,
    -INF,
    NAN,
    2.0**53,
    2.0**53 + 2,
    2.0**64,
    -(2.0**63),
    1e6,
    1e6 + 1,
    4294967296.0,
]
numbers = st.one_of(st.floats(), st.sampled_from(EDGE_FLOATS), st.integers(-10, 10).map(float))
safe_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=24)  # UTF-8
weird_text = st.one_of(
    safe_text,
    st.sampled_from(
        [
            "",
            " ",
            "xor ",
            " xor",
            "XOR",
            "x\x00or",
            "xor\n",
            "\u202exor",
            "../x",
            "é",
            "\U0001f642" * 3,
            "%s%n",
            "'; DROP TABLE models;--",
            "a" * 129,
            "tanh\t",
            "null",
            "None",
        ]
    ),
    st.sampled_from([128, 129, 1000, 100_000]).map(lambda n: "n" * n),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | safe_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(safe_text, children, max_size=3)
    ),
    max_leaves=12,
)
u64 = st.one_of(
    st.sampled_from([0, 1, 2, 2**63, U64 - 16, U64 - 15, U64 - 1, U64]), st.integers(0, U64)
)
u32 = st.one_of(st.sampled_from([0, 1, 2, 3, 2**31, U32 - 1, U32]), st.integers(0, U32))
versions = st.one_of(st.just(0), st.just(1), st.sampled_from([2, 3, 4, U32]), st.integers(0, U32))
bit_value = st.one_of(
    st.sampled_from([0.0, 1.0]),
    st.sampled_from([0.0, 1.0]),
    st.sampled_from([0.5, 2.0, -1.0, -0.0, NAN, INF, 1e308, 1.0000000000000002]),
)
bit_json = st.one_of(bit_value, st.sampled_from([True, False, None, "1", [1.0], {"0": 1.0}]))


def bit_rows(values: st.SearchStrategy[Any] = bit_json) -> st.SearchStrategy[Any]:
    """Rows of (mostly) bits: a common width, ragged, empty, or not rows at all."""
    width = st.sampled_from([0, 1, 2, 3, 16, 17])
    common = width.flatmap(
        lambda w: st.lists(st.lists(values, min_size=w, max_size=w), min_size=1, max_size=6)
    )
    ragged = st.lists(st.lists(values, max_size=4), max_size=6)
    return st.one_of(common, ragged, json_values)


def number_rows(width: st.SearchStrategy[int], max_rows: int = 4) -> st.SearchStrategy[Any]:
    return width.flatmap(
        lambda w: st.lists(st.lists(numbers, min_size=w, max_size=w), max_size=max_rows)
    )


def param_value(kind: str, param: Any) -> st.SearchStrategy[Any]:
    """Values for one declared parameter: in range, at and past its bounds, wrong types."""
    options: list[st.SearchStrategy[Any]] = [json_values, st.just(param.default)]
    if param.type in ("int", "float"):
        bounds = [b for b in (param.minimum, param.maximum) if b is not None]
        edges = [
            v
            for b in bounds
            for v in (b, b - 1, b + 1, math.nextafter(b, -INF), math.nextafter(b, INF), b + 0.5)
        ]
        options.append(st.sampled_from(edges or [0.0]))
        low = param.minimum if param.minimum is not None else -1e6
        high = param.maximum if param.maximum is not None else 1e6
        if param.type == "int":
            options.append(st.integers(int(low) - 2, min(int(high) + 2, int(low) + 40)).map(float))
        else:
            options.append(st.floats(low, high))
    elif param.type == "bool":
        options.append(st.booleans())
    elif param.type == "str":
        options.append(st.sampled_from(param.choices or ("x",)))
        options.append(weird_text)
    elif param.name in ("inputs", "outputs"):
        options.append(bit_rows())
    elif param.name == "planes":
        options.append(number_rows(st.sampled_from([0, 2, 3, 4])))
    elif param.name in ("weights", "biases"):
        options += [
            st.lists(number_rows(st.sampled_from([0, 1, 2, 8])), max_size=3),
            st.lists(st.lists(numbers, max_size=8), max_size=3),
        ]
    return st.one_of(*options)


@st.composite
def params_for(draw: st.DrawFn, kind: str, name: str) -> dict[str, Any]:
    """Params for a component: some of its declared ones, maybe an unknown key."""
    declared = PARAMS.get((kind, name), ())
    chosen = draw(
        st.lists(st.sampled_from(declared), unique_by=lambda p: p.name) if declared else st.just([])
    )
    values = {p.name: draw(param_value(kind, p)) for p in chosen}
    if draw(st.integers(0, 5)) == 0:
        values[draw(safe_text)] = draw(json_values)
    return values


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def valid_value(param: Any) -> st.SearchStrategy[Any]:
    """A value within a declared parameter's type and range (cheap for row counts)."""
    if param.type in ("int", "float"):
        low = param.minimum if param.minimum is not None else -1e6
        high = param.maximum if param.maximum is not None else 1e6
        if param.type == "int":
            return st.integers(int(low), min(int(high), int(low) + 300)).map(float)
        return st.floats(low, high)
    if param.type == "bool":
        return st.booleans()
    if param.type == "str":
        return st.sampled_from(param.choices) if param.choices else safe_text
    if param.name == "planes":
        return number_rows(st.just(3)).filter(bool)
    width = 2  # "inputs"/"outputs" of a table; other data params get their default
    if param.name in ("inputs", "outputs"):
        return st.lists(
            st.lists(st.sampled_from([0.0, 1.0]), min_size=width, max_size=width),
            min_size=1,
            max_size=4,
        )
    return st.just(param.default)


@st.composite
def valid_params(draw: st.DrawFn, kind: str, name: str) -> dict[str, Any]:
    declared = [p for p in PARAMS.get((kind, name), ()) if p.default is not None]
    chosen = draw(
        st.lists(st.sampled_from(declared), unique_by=lambda p: p.name) if declared else st.just([])
    )
    return {p.name: draw(valid_value(p)) for p in chosen}


@st.composite
def component_refs(draw: st.DrawFn, kind: str, *, valid: bool = False) -> pb.ComponentRef:
    """A ComponentRef for `kind`: a real name (or another kind's, or random text) with
    declared, random or no params. `valid`: a real name with in-range params."""
    if valid:
        name = draw(st.sampled_from(NAMES[kind]))
    else:
        name = draw(st.one_of(st.sampled_from(NAMES[kind]), st.sampled_from(ALL_NAMES), weird_text))
    ref = pb.ComponentRef(name=name)
    how = draw(
        st.sampled_from(
            ["none", "declared", "declared", "random"] if not valid else ["none", "valid", "valid"]
        )
    )
    if how == "valid":
        ref.params.CopyFrom(_struct(draw(valid_params(kind, name))))
    elif how == "declared":
        ref.params.CopyFrom(_struct(draw(params_for(kind, name))))
    elif how == "random":
        ref.params.CopyFrom(_struct(draw(st.dictionaries(safe_text, json_values, max_size=3))))
    return ref


def cap_sampled_rows(ref: pb.ComponentRef) -> pb.ComponentRef:
    """Used for ImportModel only: a "region" task with more than max_task_rows + 1 points.

    ImportModel does not enforce max_task_rows (test_regression_import_ignores_max_task_rows),
    so a model imported with a million points is scored on a million rows (13 s for a deep
    network): correct statuses, but it would make the suite slow. DescribeTask and Train,
    which refuse such tasks at once, still get every value.
    """
    points = ref.params.fields.get("points")
    if (
        ref.name == "region"
        and points is not None
        and points.WhichOneof("kind") == "number_value"
        and points.number_value > LIMITS.max_task_rows + 1
    ):
        ref.params["points"] = float(LIMITS.max_task_rows + 1)
    return ref


def _rows(values: list[list[float]]) -> list[pb.Row]:
    return [pb.Row(values=v) for v in values]


@st.composite
def truth_tables(draw: st.DrawFn) -> pb.TruthTable:
    """Valid, ragged, contradictory, non-binary, empty and over-the-limit tables."""
    how = draw(st.sampled_from(["valid", "valid", "random", "contradictory", "large"]))
    if how == "valid":
        width = draw(st.sampled_from([1, 2, 2, 3, 16]))
        inputs = draw(
            st.lists(
                st.lists(st.sampled_from([0.0, 1.0]), min_size=width, max_size=width),
                min_size=1,
                max_size=8,
                unique_by=tuple,
            )
        )
        n_out = draw(st.sampled_from([1, 2, 3]))
        outputs = [
            draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n_out, max_size=n_out))
            for _ in inputs
        ]
    elif how == "contradictory":
        inputs = [[0.0, 1.0], [1.0, 1.0], [0.0, 1.0]]
        outputs = [[0.0], [1.0], [1.0]]
    elif how == "large":  # 2**12 rows fit max_task_rows, 2**13 do not
        width = draw(st.sampled_from([12, 13]))
        inputs = [[float((r >> s) & 1) for s in range(width)] for r in range(2**width)]
        outputs = [[float(sum(row) % 2)] for row in inputs]
    else:
        row = st.lists(bit_value | numbers, max_size=5)
        inputs = draw(st.lists(row, max_size=5))
        outputs = draw(st.lists(row, max_size=5))
    return pb.TruthTable(inputs=_rows(inputs), outputs=_rows(outputs))


@st.composite
def tensors(draw: st.DrawFn, shape: list[int] | None = None) -> pb.Tensor:
    """A tensor of the given shape, or of a random one; values matching its shape or not."""
    if shape is None:
        dim = st.one_of(st.integers(0, 4), st.sampled_from([0, 1, 2, 32, 33, U32]))
        shape = draw(st.lists(dim, max_size=3))
    size = math.prod(shape)
    how = draw(st.sampled_from(["match", "match", "match", "random"]))
    if how == "match" and size <= 64:
        values = draw(st.lists(numbers, min_size=size, max_size=size))
    elif how == "match" and size <= 2048:
        values = [draw(st.sampled_from([0.0, 0.1, -1.0, 1e308, NAN]))] * size
    else:
        values = draw(st.lists(numbers, max_size=8))
    return pb.Tensor(shape=shape, values=values)


alias_names = st.one_of(st.sampled_from(["stable", "fz-alias"]), weird_text)
# "NAME:VERSION" and "NAME@ALIAS" references, well formed or not (see gatelearn.proto).
model_references = st.builds(
    lambda name, mark, tail: f"{name}{mark}{tail}",
    st.sampled_from([*SEEDED, ""]),
    st.sampled_from(["@", ":", "@@", "::", ":@"]),
    st.one_of(alias_names, st.sampled_from(["1", "0", "01", "4294967295", "4294967296", "-1"])),
)
model_names = st.one_of(
    st.sampled_from(SEEDED),
    st.sampled_from(SEEDED),
    st.sampled_from(SEEDED),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True),
    weird_text,
    model_references,
)
unit_sizes = st.one_of(
    st.sampled_from([0, 1, 2, 3, LIMITS.max_units, LIMITS.max_units + 1, U32]), st.integers(1, 8)
)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@st.composite
def wire_fields(
    draw: st.DrawFn, numbers_from: st.SearchStrategy[int], wire_types: st.SearchStrategy[int]
) -> bytes:
    """Wire-format fields: a tag and a payload of the wire type, or junk after the tag."""
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        number, wire = draw(numbers_from), draw(wire_types)
        out += _varint(number << 3 | wire)
        if wire == 0:
            out += _varint(draw(st.integers(0, 2**64 - 1)))
        elif wire == 1:
            out += draw(st.binary(min_size=8, max_size=8))
        elif wire == 2:
            body = draw(st.binary(max_size=24))
            out += _varint(len(body)) + body
        elif wire == 5:
            out += draw(st.binary(min_size=4, max_size=4))
        else:  # groups (3, 4) and invalid wire types: whatever follows
            out += draw(st.binary(max_size=6))
    return out


# Field numbers no request message uses: always kept as unknown fields.
unknown_fields = wire_fields(st.integers(1000, 2**29 - 1), st.sampled_from([0, 1, 2, 5]))


@st.composite
def with_unknown(draw: st.DrawFn, messages: st.SearchStrategy[Any]) -> Any:
    """Messages (or lists of them) with unknown fields added to some."""
    drawn = draw(messages)
    for message in drawn if isinstance(drawn, list) else [drawn]:
        if draw(st.integers(0, 3)) == 0:
            message.MergeFromString(draw(unknown_fields))
    return drawn


# ---------------------------------------------------------------- request strategies


@st.composite
def list_plugins_requests(draw: st.DrawFn) -> pb.ListPluginsRequest:
    return pb.ListPluginsRequest(kind=draw(st.one_of(st.sampled_from(["", *KINDS]), weird_text)))


@st.composite
def list_tasks_requests(draw: st.DrawFn) -> pb.ListTasksRequest:
    request = pb.ListTasksRequest()  # no fields: what varies is the unknown ones
    request.MergeFromString(draw(unknown_fields))
    return request


@st.composite
def describe_task_requests(draw: st.DrawFn) -> pb.DescribeTaskRequest:
    request = pb.DescribeTaskRequest(
        seed=draw(u64),
        preview_rows=draw(st.one_of(st.sampled_from([0, 1, 16, 1024, 1025, U32]), u32)),
    )
    if draw(st.integers(0, 9)):
        request.task.CopyFrom(
            draw(st.one_of(component_refs("task", valid=True), component_refs("task")))
        )
    return request


@st.composite
def valid_train_options(draw: st.DrawFn) -> pb.TrainOptions:
    """In-range loop settings, at most 50 epochs."""
    options = pb.TrainOptions(epochs=draw(st.integers(0, 50)))
    if draw(st.booleans()):
        options.batch_size = draw(st.integers(0, 5))
    if draw(st.booleans()):
        options.shuffle = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        options.weight_decay = draw(st.floats(0, 0.01))
    if draw(st.booleans()):
        options.stop_when_solved = draw(st.booleans())
    if draw(st.integers(0, 2)) == 0:
        options.margin = draw(st.floats(0, 1))
    if draw(st.integers(0, 2)) == 0:
        options.loss_target = draw(st.floats(0, 1))
    if draw(st.integers(0, 3)) == 0:
        options.patience = draw(st.integers(1, 10))
        options.min_delta = draw(st.floats(0, 0.1))
    if draw(st.integers(0, 3)) == 0:
        options.progress_interval_ms = draw(st.integers(1, 1000))
    if draw(st.integers(0, 3)) == 0:
        options.record_every = draw(st.integers(1, 10))
    return options


@st.composite
def train_options(draw: st.DrawFn) -> pb.TrainOptions:
    """Loop settings with any values; epochs at most 50 unless at the limit or past it."""
    options = pb.TrainOptions()
    epochs = draw(
        st.one_of(
            st.integers(0, 50),
            st.integers(0, 50),
            st.integers(0, 50),
            st.sampled_from([LIMITS.max_epochs, LIMITS.max_epochs + 1, U32]),
        )
    )
    options.epochs = epochs
    if draw(st.booleans()):
        options.batch_size = draw(st.sampled_from([1, 2, 3, 4, 1000, U32]))
    if draw(st.booleans()):
        options.shuffle = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        options.weight_decay = draw(numbers)
    if draw(st.booleans()):
        options.stop_when_solved = draw(st.booleans())
    if draw(st.integers(0, 2)) == 0:
        options.margin = draw(numbers)
    if draw(st.integers(0, 2)) == 0:
        options.loss_target = draw(numbers)
    if draw(st.integers(0, 3)) == 0:
        options.patience = draw(st.sampled_from([1, 2, 10, U32]))
    if draw(st.integers(0, 3)) == 0:
        options.min_delta = draw(numbers)
    if draw(st.integers(0, 3)) == 0:
        options.progress_interval_ms = draw(st.sampled_from([1, 10, 1000, U32]))
    if draw(st.integers(0, 3)) == 0:
        options.record_every = draw(st.sampled_from([1, 3, 1000, U32]))
    return options


def _layer_sizes(request: pb.TrainRequest) -> list[int] | None:
    """Layer sizes of a request on a named gate with a known arity, else None."""
    arity = {
        "xor": (2, 1),
        "and": (2, 1),
        "or": (2, 1),
        "nand": (2, 1),
        "nor": (2, 1),
        "xnor": (2, 1),
        "implies": (2, 1),
        "not": (1, 1),
        "half_adder": (2, 2),
        "full_adder": (3, 2),
        "region": (2, 1),
    }.get(request.task.name)
    if arity is None or request.WhichOneof("source") != "task":
        return None
    hidden = list(request.hidden.units) if request.HasField("hidden") else [8]
    return [arity[0], *hidden, arity[1]]


CHEAP_TASKS = [name for name in NAMES["task"] if name != "table"]  # table: see truth_tables


@st.composite
def valid_train_requests(draw: st.DrawFn) -> pb.TrainRequest:
    """A well-formed, cheap request: a real task (or a table), at most three hidden layers of
    one to four units, matching activations, in-range components and options, population
    up to four, 0 to 50 epochs."""
    request = pb.TrainRequest(model_name=draw(st.sampled_from(["fz-new", XOR, "Fz.new_2"])))
    if draw(st.integers(0, 3)):
        request.task.name = draw(st.sampled_from(CHEAP_TASKS))
        request.task.params.update(draw(valid_params("task", request.task.name)))
    else:
        table = draw(truth_tables())
        request.table.CopyFrom(table)
    if draw(st.booleans()):
        request.hidden.SetInParent()
        request.hidden.units.extend(draw(st.lists(st.integers(1, 4), max_size=3)))
    layers = len(request.hidden.units) + 1 if request.HasField("hidden") else 2
    if draw(st.booleans()):
        request.activations.extend(
            draw(
                st.lists(component_refs("activation", valid=True), min_size=layers, max_size=layers)
            )
        )
    if draw(st.booleans()):
        request.bias = draw(st.booleans())
    if draw(st.booleans()):
        request.loss.CopyFrom(draw(component_refs("loss", valid=True)))
    if draw(st.booleans()):
        request.optimizer.CopyFrom(draw(component_refs("optimizer", valid=True)))
    sizes = _layer_sizes(request)
    if draw(st.integers(0, 3)) == 0:
        if sizes is not None and draw(st.booleans()):  # weights that fit the network
            pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
            with_bias = not request.HasField("bias") or request.bias
            request.weights.weights.extend(
                pb.Tensor(
                    shape=[i, o],
                    values=draw(st.lists(st.floats(-3, 3), min_size=i * o, max_size=i * o)),
                )
                for i, o in pairs
            )
            if with_bias:
                request.weights.biases.extend(
                    pb.Tensor(shape=[o], values=[0.0] * o) for _, o in pairs
                )
        else:
            name = draw(st.sampled_from([n for n in NAMES["initializer"] if n != "explicit"]))
            request.initializer.name = name
            request.initializer.params.update(draw(valid_params("initializer", name)))
    request.options.CopyFrom(draw(valid_train_options()))
    request.population = draw(st.integers(0, 4))
    request.seed = draw(st.one_of(st.integers(0, 2**64 - 5), st.sampled_from([0, U64 - 4])))
    request.dtype = cast(pb.Dtype, draw(st.sampled_from([0, 1, 2])))
    return request


@st.composite
def random_train_requests(draw: st.DrawFn) -> pb.TrainRequest:
    """Every field from the random strategies; cheap (at most 50 epochs unless at the epoch
    limit or past it, layers of at most max_units + 1 units)."""
    request = pb.TrainRequest(model_name=draw(model_names))
    source = draw(st.sampled_from(["task", "task", "table", "none"]))
    if source == "task":
        request.task.CopyFrom(draw(component_refs("task")))
    elif source == "table":
        request.table.CopyFrom(draw(truth_tables()))
    _randomize(
        draw,
        request,
        [
            "hidden",
            "activations",
            "bias",
            "loss",
            "optimizer",
            "initializer",
            "weights",
            "options",
            "seed",
            "population",
            "dtype",
        ],
    )
    return request


def _randomize(draw: st.DrawFn, request: pb.TrainRequest, fields: list[str]) -> None:
    """Give `fields` of `request` random (often invalid or borderline) values."""
    for name in fields:
        if name == "model_name":
            request.model_name = draw(weird_text)
        elif name == "source":
            what = draw(st.sampled_from(["task", "table", "none"]))
            if what == "task":
                request.task.CopyFrom(draw(component_refs("task")))
            elif what == "table":
                request.table.CopyFrom(draw(truth_tables()))
            else:
                request.ClearField("task")
                request.ClearField("table")
        elif name == "hidden" and draw(st.booleans()):
            request.hidden.SetInParent()
            del request.hidden.units[:]
            request.hidden.units.extend(draw(st.lists(unit_sizes, max_size=8)))
        elif name == "activations":
            del request.activations[:]
            request.activations.extend(draw(st.lists(component_refs("activation"), max_size=4)))
        elif name == "bias" and draw(st.booleans()):
            request.bias = draw(st.booleans())
        elif name in ("loss", "optimizer", "initializer") and draw(st.booleans()):
            getattr(request, name).CopyFrom(draw(component_refs(name)))
        elif name == "weights" and draw(st.integers(0, 2)) == 0:
            request.weights.SetInParent()
            request.weights.weights.extend(draw(st.lists(tensors(), max_size=3)))
            request.weights.biases.extend(draw(st.lists(tensors(), max_size=3)))
        elif name == "options" and draw(st.integers(0, 4)):
            request.options.CopyFrom(draw(train_options()))
        elif name == "seed":
            request.seed = draw(u64)
        elif name == "population":
            request.population = draw(
                st.one_of(
                    st.sampled_from(
                        [0, 1, 2, LIMITS.max_population, LIMITS.max_population + 1, U32]
                    ),
                    st.integers(0, 4),
                )
            )
        elif name == "dtype":
            # Raw ints, out-of-range ones included: proto3 enums are open.
            request.dtype = cast(
                pb.Dtype, draw(st.sampled_from([0, 1, 2, 3, -1, 2**31 - 1, -(2**31)]))
            )


TRAIN_FIELDS = [
    "model_name",
    "source",
    "hidden",
    "activations",
    "bias",
    "loss",
    "optimizer",
    "initializer",
    "weights",
    "options",
    "seed",
    "population",
    "dtype",
]


@st.composite
def train_requests(draw: st.DrawFn) -> pb.TrainRequest:
    """Well-formed requests, well-formed ones with one or two fields broken, and random ones."""
    how = draw(st.sampled_from(["valid", "valid", "broken", "broken", "random"]))
    if how == "random":
        return draw(random_train_requests())
    request = draw(valid_train_requests())
    if how == "broken":
        _randomize(
            draw,
            request,
            draw(st.lists(st.sampled_from(TRAIN_FIELDS), min_size=1, max_size=2, unique=True)),
        )
    return request


def predict_rows(width: int) -> st.SearchStrategy[list[pb.Row]]:
    """Rows of the model's width or not, any values, and row counts at the limit and past."""
    fitting = st.lists(st.lists(numbers, min_size=width, max_size=width), min_size=1, max_size=6)
    clean = st.lists(
        st.lists(st.floats(-10, 10), min_size=width, max_size=width), min_size=1, max_size=6
    )
    any_width = number_rows(st.sampled_from([0, 1, 2, 3, 17]), max_rows=5)
    mixed = st.tuples(fitting, any_width).map(lambda t: t[0] + t[1])
    many = st.tuples(
        st.sampled_from([LIMITS.max_predict_rows, LIMITS.max_predict_rows + 1]),
        st.sampled_from([0.0, 1.0, NAN, 1e308]),
    ).map(lambda t: [[t[1]] * width] * t[0])
    return st.one_of(clean, clean, fitting, any_width, mixed, many).map(_rows)


HAS_PACKED = "packed" in pb.PredictRequest.DESCRIPTOR.fields_by_name  # newer protos


@st.composite
def packed_rows(draw: st.DrawFn, width: int) -> Message:
    """PackedRows: data that fits its shape and dtype or not, shapes at and past the limits."""
    dtype = draw(
        st.one_of(
            st.sampled_from(["", "float64", "float32"]),
            st.sampled_from(["float16", "FLOAT64", "<f8", "f4", "int64"]),
            weird_text,
        )
    )
    count = draw(
        st.one_of(
            st.integers(1, 4),
            st.sampled_from([0, LIMITS.max_predict_rows, LIMITS.max_predict_rows + 1, U32]),
        )
    )
    columns = draw(st.sampled_from([width, width, width, 0, 1, 3, U32]))
    shape = draw(
        st.one_of(
            st.just([count, columns]),
            st.just([count, columns]),
            st.lists(st.sampled_from([0, 1, 2, U32]), max_size=3),
        )
    )
    itemsize = 4 if dtype == "float32" else 8
    size = math.prod(shape) if len(shape) == 2 else 0
    code = "<f4" if itemsize == 4 else "<f8"
    if 0 < size <= 8 and draw(st.integers(0, 3)):
        with np.errstate(over="ignore"):  # float32 from huge doubles: infinity, on purpose
            data = np.array(
                draw(st.lists(numbers, min_size=size, max_size=size)), dtype=code
            ).tobytes()
    elif 0 < size <= 2 * LIMITS.max_predict_rows * 4 and draw(st.booleans()):
        with np.errstate(over="ignore"):
            data = np.full(
                size, draw(st.sampled_from([0.0, 1.0, NAN, 1e308])), dtype=code
            ).tobytes()
    else:
        data = draw(st.binary(max_size=40))
    if draw(st.integers(0, 4)) == 0:  # one byte too many or too few
        data = data[:-1] if data and draw(st.booleans()) else data + b"\0"
    return pb.PackedRows(data=data, shape=shape, dtype=dtype)


@st.composite
def predict_requests(draw: st.DrawFn, model: str | None = None) -> pb.PredictRequest:
    if model is None:
        model = draw(st.one_of(st.sampled_from(SEEDED), model_names))
    width = 2 if model in SEEDED or not model else draw(st.integers(0, 3))
    request = pb.PredictRequest(model=model, version=draw(versions) if model else 0)
    how = draw(
        st.sampled_from(["rows", "rows", "packed", "packed", "both"] if HAS_PACKED else ["rows"])
    )
    if how in ("rows", "both"):
        request.rows.extend(draw(predict_rows(width)))
    if how in ("packed", "both"):
        request.packed.CopyFrom(draw(packed_rows(width)))
    return request


@st.composite
def predict_streams(draw: st.DrawFn) -> list[pb.PredictRequest]:
    """A first request naming a model, then chunks naming none, the same or another one."""
    first = draw(predict_requests())
    later = draw(
        st.lists(
            st.one_of(
                predict_requests(model=""),
                predict_requests(model=""),
                predict_requests(model=first.model),
                predict_requests(),
            ),
            max_size=3,
        )
    )
    return draw(st.sampled_from([[first], [first, *later], [first, *later], []]))


@st.composite
def evaluate_requests(draw: st.DrawFn) -> pb.EvaluateRequest:
    request = pb.EvaluateRequest(model=draw(model_names), version=draw(versions))
    how = draw(st.sampled_from(["own", "random", "fitting", "many"]))
    if how == "random":
        request.table.CopyFrom(draw(truth_tables()))
    elif how == "fitting":
        n_out = 2 if request.model in (TABLE, HALF) else 1
        inputs = draw(predict_rows(2))
        outputs = draw(
            st.lists(
                st.lists(bit_value, min_size=n_out, max_size=n_out),
                min_size=len(inputs),
                max_size=len(inputs),
            )
        )
        request.table.inputs.extend(inputs)
        request.table.outputs.extend(_rows(outputs))
    elif how == "many":
        count = draw(st.sampled_from([LIMITS.max_predict_rows, LIMITS.max_predict_rows + 1]))
        request.table.inputs.extend(_rows([[1.0, 0.0]] * count))
        request.table.outputs.extend(_rows([[1.0]] * count))
    return request


@st.composite
def name_version(draw: st.DrawFn, message: type[Message]) -> Message:
    return message(name=draw(model_names), version=draw(versions))


@st.composite
def explain_requests(draw: st.DrawFn) -> pb.ExplainRequest:
    return pb.ExplainRequest(model=draw(model_names), version=draw(versions))


@st.composite
def list_models_requests(draw: st.DrawFn) -> pb.ListModelsRequest:
    return pb.ListModelsRequest(name=draw(st.one_of(st.just(""), model_names)))


@st.composite
def delete_model_requests(draw: st.DrawFn) -> pb.DeleteModelRequest:
    name = draw(
        st.one_of(st.sampled_from(VICTIMS), st.sampled_from(["fz-new", "Fz.new_2"]), weird_text)
    )
    return pb.DeleteModelRequest(name=name, version=draw(versions))


@st.composite
def set_alias_requests(draw: st.DrawFn) -> pb.SetAliasRequest:
    return pb.SetAliasRequest(
        name=draw(model_names), alias=draw(alias_names), version=draw(versions)
    )


@st.composite
def delete_alias_requests(draw: st.DrawFn) -> pb.DeleteAliasRequest:
    return pb.DeleteAliasRequest(name=draw(model_names), alias=draw(alias_names))


@st.composite
def exported_layers(draw: st.DrawFn) -> pb.ExportedLayer:
    layer = pb.ExportedLayer(weights=draw(tensors()))
    if draw(st.booleans()):
        layer.bias.CopyFrom(draw(tensors()))
    if draw(st.integers(0, 5)):
        layer.activation.CopyFrom(draw(component_refs("activation")))
    return layer


@st.composite
def exported_models(draw: st.DrawFn) -> pb.ExportedModel:
    """A real model with some fields broken, or a model built from random parts."""
    if draw(st.integers(0, 4)) == 0:
        model = pb.ExportedModel(layers=draw(st.lists(exported_layers(), min_size=1, max_size=3)))
        source = draw(st.sampled_from(["task", "table", "none"]))
        if source == "task":
            model.task.CopyFrom(cap_sampled_rows(draw(component_refs("task"))))
        elif source == "table":
            model.table.CopyFrom(draw(truth_tables()))
        model.low, model.high = draw(numbers), draw(numbers)
        return model
    model = draw(st.sampled_from(BASE_EXPORTS))()
    model.name = "fz-imported"
    label_edges = st.sampled_from(
        [0.0, 1.0, -1.0, 1e308, 1.7e308, -1e308, -1.7e308, INF, -INF, NAN, 5e-324]
    )
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        change = draw(
            st.sampled_from(
                [
                    "format",
                    "labels",
                    "dtype",
                    "seed",
                    "weights",
                    "bias",
                    "drop_bias",
                    "activation",
                    "no_layers",
                    "extra_layer",
                    "task",
                    "table",
                    "no_source",
                    "name",
                ]
            )
        )
        if change == "format":
            model.format_version = draw(st.sampled_from([0, 1, 2, U32]))
        elif change == "labels":
            model.low = draw(st.one_of(label_edges, numbers))
            model.high = draw(st.one_of(label_edges, numbers))
        elif change == "dtype":
            model.dtype = draw(
                st.one_of(
                    st.sampled_from(
                        ["", "float64", "float32", "float16", "FLOAT64", "int8", "object"]
                    ),
                    weird_text,
                )
            )
        elif change == "seed":
            model.seed = draw(u64)
        elif change in ("weights", "bias") and model.layers:
            index = draw(st.integers(0, len(model.layers) - 1))
            layer = model.layers[index]
            same = list(layer.weights.shape if change == "weights" else layer.bias.shape)
            shape = same if draw(st.booleans()) else None
            getattr(layer, change).CopyFrom(draw(tensors(shape)))
        elif change == "drop_bias" and model.layers:
            model.layers[draw(st.integers(0, len(model.layers) - 1))].ClearField("bias")
        elif change == "activation" and model.layers:
            index = draw(st.integers(0, len(model.layers) - 1))
            model.layers[index].activation.CopyFrom(draw(component_refs("activation")))
        elif change == "no_layers":
            del model.layers[:]
        elif change == "extra_layer":
            model.layers.append(draw(exported_layers()))
        elif change == "task":
            model.task.CopyFrom(cap_sampled_rows(draw(component_refs("task"))))
        elif change == "table":
            model.table.CopyFrom(draw(truth_tables()))
        elif change == "no_source":
            model.ClearField("task")
            model.ClearField("table")
        elif change == "name":
            model.name = draw(weird_text)
    return model


@st.composite
def import_model_requests(draw: st.DrawFn) -> pb.ImportModelRequest:
    request = pb.ImportModelRequest(
        name=draw(st.one_of(st.just(""), st.sampled_from(["fz-imported", PERCEPTRON]), model_names))
    )
    if draw(st.integers(0, 9)):
        request.model.CopyFrom(draw(exported_models()))
    return request


@st.composite
def search_requests(draw: st.DrawFn) -> pb.SearchRequest:
    """A fuzzed Train request as the base (mostly without the fields a search sets, so it goes
    on to its own checks), and search fields in range, at the limits and past them."""
    base = draw(train_requests())
    for name in ("hidden", "activations", "population", "request_id"):
        if draw(st.integers(0, 4)):
            base.ClearField(name)
    request = pb.SearchRequest(
        base=base,
        widths=draw(st.lists(unit_sizes, max_size=4)),
        seeds=draw(st.sampled_from([0, 1, 4, 16, 17, U32])),
    )
    request.activations.extend(draw(st.lists(component_refs("activation"), max_size=3)))
    if draw(st.booleans()):
        request.max_depth = draw(st.sampled_from([0, 1, 2, 7, 8, U32]))
    if draw(st.booleans()):
        request.target = draw(numbers)
    if draw(st.booleans()):
        request.output_activation.CopyFrom(draw(component_refs("activation")))
    return request


REQUESTS: dict[str, st.SearchStrategy[Message]] = {
    "ListPlugins": list_plugins_requests(),
    "ListTasks": list_tasks_requests(),
    "DescribeTask": describe_task_requests(),
    "Train": train_requests(),
    "Predict": predict_requests(),
    "Evaluate": evaluate_requests(),
    "ListModels": list_models_requests(),
    "GetModel": name_version(pb.GetModelRequest),
    "DeleteModel": delete_model_requests(),
    "ExportModel": name_version(pb.ExportModelRequest),
    "ImportModel": import_model_requests(),
    "Explain": explain_requests(),
    "SetAlias": set_alias_requests(),
    "DeleteAlias": delete_alias_requests(),
    "Search": search_requests(),
}
if "PredictStream" in SERVICE.methods_by_name:  # newer protos
    REQUESTS["PredictStream"] = predict_streams()


# ---------------------------------------------------------------- the fuzz tests
#
# One test per RPC, in this order: DeleteModel comes after the RPCs that read the seeded
# models, the raw-bytes test last.


def _finish(fuzz: Fuzz, test: str, expected: int) -> None:
    fuzz.assert_serving()
    fuzz.tests_done.add(test)
    assert fuzz.calls[test] >= expected, (
        f"{test}: only {fuzz.calls[test]} of {expected} examples ran"
    )


def _rpc_test(rpc: str) -> Callable[..., None]:
    test_name = f"test_fuzz_{_snake(rpc)}"

    @FUZZ
    @given(request=with_unknown(REQUESTS[rpc]))
    def run(fuzz: Fuzz, request: Message) -> None:
        code, response = fuzz.call(test_name, rpc, request)
        if rpc == "ExportModel" and code == "OK":  # what ExportModel gives, ImportModel takes
            code, _ = fuzz.call(
                test_name, "ImportModel", pb.ImportModelRequest(name="fz-roundtrip", model=response)
            )
            assert code == "OK", f"the export of {request.name}:{request.version} is refused"

    def test(fuzz: Fuzz) -> None:
        run(fuzz)
        _finish(fuzz, test_name, EXAMPLES)

    test.__name__ = test.__qualname__ = test_name
    test.__doc__ = f"{rpc}: fuzzed requests never answer INTERNAL or UNKNOWN."
    return test


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


test_fuzz_list_plugins = _rpc_test("ListPlugins")
test_fuzz_list_tasks = _rpc_test("ListTasks")
test_fuzz_describe_task = _rpc_test("DescribeTask")
test_fuzz_train = _rpc_test("Train")
test_fuzz_predict = _rpc_test("Predict")
test_fuzz_evaluate = _rpc_test("Evaluate")
test_fuzz_list_models = _rpc_test("ListModels")
test_fuzz_get_model = _rpc_test("GetModel")
test_fuzz_export_model = _rpc_test("ExportModel")
test_fuzz_import_model = _rpc_test("ImportModel")
test_fuzz_explain = _rpc_test("Explain")
test_fuzz_set_alias = _rpc_test("SetAlias")  # before DeleteModel: aliases that refuse it
test_fuzz_delete_alias = _rpc_test("DeleteAlias")
test_fuzz_search = _rpc_test("Search")
test_fuzz_delete_model = _rpc_test("DeleteModel")
if "PredictStream" in REQUESTS:  # after DeleteModel: it resolves models that may be gone
    test_fuzz_predict_stream = _rpc_test("PredictStream")
FUZZ_TESTS = len(REQUESTS) + 2  # and the two raw-bytes tests


def test_every_rpc_has_a_fuzz_strategy() -> None:
    assert set(REQUESTS) == set(SERVICE.methods_by_name)


RPC_NAMES = sorted(SERVICE.methods_by_name)
REQUEST_TYPES = {
    name: getattr(pb, method.input_type.name) for name, method in SERVICE.methods_by_name.items()
}


def _decode(rpc: str, data: bytes) -> Message | None:
    try:
        return REQUEST_TYPES[rpc].FromString(data)
    except Exception:  # DecodeError, or anything else the parser refuses with
        return None


def _single(rpc: str) -> st.SearchStrategy[Message]:
    """One request message of `rpc` (one chunk of a client stream)."""
    if SERVICE.methods_by_name[rpc].client_streaming:
        return REQUESTS[rpc].filter(bool).map(lambda messages: messages[0])
    return REQUESTS[rpc]


@st.composite
def mutated(draw: st.DrawFn, rpc: str) -> bytes:
    """A fuzzed request's encoding with bytes flipped, inserted, dropped or truncated."""
    data = bytearray(draw(_single(rpc)).SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, len(data)))
        if how == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif how == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=6))
        elif how == "delete":
            del data[position : position + draw(st.integers(1, 4))]
        elif how == "truncate":
            del data[position:]
    return bytes(data)


def _raw_messages(rpc: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=64),
        wire_fields(st.one_of(st.integers(1, 16), st.integers(1, 2**29 - 1)), st.integers(0, 7)),
        mutated(rpc),
    )


@settings(FUZZ, max_examples=RAW_EXAMPLES)
@given(data=st.data())
def _raw_bytes(fuzz: Fuzz, data: st.DataObject) -> None:
    rpc = data.draw(st.sampled_from(RPC_NAMES), label="rpc")
    if SERVICE.methods_by_name[rpc].client_streaming:
        payload: Any = data.draw(st.lists(_raw_messages(rpc), max_size=3), label="bytes")
        request: Any = [_decode(rpc, chunk) for chunk in payload]
        assume(all(message is not None for message in request))
    else:
        payload = data.draw(_raw_messages(rpc), label="bytes")
        request = _decode(rpc, payload)
        assume(request is not None)
    fuzz.call("test_fuzz_raw_bytes", rpc, request, raw=payload)


def test_fuzz_raw_bytes(fuzz: Fuzz) -> None:
    """Byte strings that decode as the request go on the wire as they are; none may get
    INTERNAL or UNKNOWN (only undecodable bytes may, and none are sent)."""
    _raw_bytes(fuzz)
    _finish(fuzz, "test_fuzz_raw_bytes", RAW_EXAMPLES)


# Endings no parser accepts, unless what comes before swallows them: a tag of wire type 6 or 7,
# a varint that never ends, a length running past the end.
breakers = st.one_of(
    st.tuples(st.integers(1, 2**29 - 1), st.sampled_from([6, 7])).map(
        lambda tag: _varint(tag[0] << 3 | tag[1])
    ),
    st.integers(1, 10).map(lambda count: b"\xff" * count),
    st.tuples(st.integers(1, 2**29 - 1), st.integers(1, 2**32)).map(
        lambda field: _varint(field[0] << 3 | 2) + _varint(field[1])
    ),
)


def undecodable(rpc: str) -> st.SearchStrategy[bytes]:
    """Bytes that do not decode as the request message of `rpc`, and whose readable part
    breaks none of the limits read before parsing (those are refused naming the limit: see
    test_a_limit_read_before_the_corruption_is_named)."""
    message = SERVICE.methods_by_name[rpc].input_type
    return (
        st.one_of(_raw_messages(rpc), st.tuples(_raw_messages(rpc), breakers).map(b"".join))
        .filter(lambda data: _decode(rpc, data) is None)
        .filter(lambda data: overgrown(data, message) is None)
    )


def check_undecodable(fuzz: Fuzz, test: str, rpc: str, payload: Any, field: str) -> None:
    """Send `payload`, whose message `field` does not decode; expect INVALID_ARGUMENT naming
    it and its type, and at most one log line (grpcio's own: a traceback per request)."""
    code, _ = fuzz.call(test, rpc, None, raw=payload)
    details = fuzz.last_details
    type_name = SERVICE.methods_by_name[rpc].input_type.full_name
    assert (code, details) == (
        "INVALID_ARGUMENT",
        f"{field}: could not be decoded as {type_name}",
    ), (code, details)
    assert len(fuzz.log) <= 1 and "Traceback" not in "".join(fuzz.log), fuzz.log


@settings(FUZZ, max_examples=UNDECODABLE_EXAMPLES)
@given(data=st.data())
def _undecodable_bytes(fuzz: Fuzz, data: st.DataObject) -> None:
    rpc = data.draw(st.sampled_from(RPC_NAMES), label="rpc")
    payload: Any = data.draw(undecodable(rpc), label="bytes")
    if SERVICE.methods_by_name[rpc].client_streaming:  # what follows is never read
        payload = [payload, *data.draw(st.lists(_raw_messages(rpc), max_size=2), label="more")]
        check_undecodable(fuzz, "test_fuzz_undecodable_bytes", rpc, payload, "requests[0]")
    else:
        check_undecodable(fuzz, "test_fuzz_undecodable_bytes", rpc, payload, "request")


def test_fuzz_undecodable_bytes(fuzz: Fuzz) -> None:
    """Byte strings that do not decode get INVALID_ARGUMENT on every method, never INTERNAL."""
    _undecodable_bytes(fuzz)
    _finish(fuzz, "test_fuzz_undecodable_bytes", UNDECODABLE_EXAMPLES)


def test_a_limit_read_before_the_corruption_is_named(fuzz: Fuzz) -> None:
    """Bytes that send a field twice and then break off: the second copy is read before the
    parser meets the break, so that limit is what the answer names (found by the fuzzing)."""
    task = pb.ComponentRef(name="xor").SerializeToString()
    sent_twice = b"\x12" + bytes([len(task)]) + task
    payload = pb.TrainRequest(model_name="fz-twice").SerializeToString() + sent_twice * 2
    code, _ = fuzz.call("limit-first", "Train", None, raw=payload + b"\x12\x7f")
    assert (code, fuzz.last_details) == (
        "INVALID_ARGUMENT",
        "task: a field sent once appears again (its copies would be merged)",
    )


@pytest.mark.parametrize("rpc", RPC_NAMES)
def test_undecodable_bytes_are_invalid_argument_on_every_method(fuzz: Fuzz, rpc: str) -> None:
    """grpcio answered `ff ff ff` with INTERNAL "Exception deserializing request!" and logged a
    traceback, on every method."""
    payload: Any = b"\xff\xff\xff"
    if SERVICE.methods_by_name[rpc].client_streaming:
        check_undecodable(fuzz, "undecodable", rpc, [payload, payload], "requests[0]")
    else:
        check_undecodable(fuzz, "undecodable", rpc, payload, "request")


def test_undecodable_stream_message_is_named_by_its_index(fuzz: Fuzz) -> None:
    # Its own model: the DeleteModel fuzzing before it may have deleted the seeded ones.
    name = "fz-stream-index"
    fuzz.stub.ImportModel(pb.ImportModelRequest(name=name, model=_xor_model()))
    good = pb.PredictRequest(model=name, rows=[pb.Row(values=[0, 1])]).SerializeToString()
    call = fuzz.raw_method("PredictStream")(
        iter([good, good, b"\xff\xff\xff", good]), timeout=CALL_TIMEOUT
    )
    answered = []
    with pytest.raises(grpc.RpcError) as raised:
        answered.extend(call)
    assert len(answered) == 2
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        raised.value.details() == "requests[2]: could not be decoded as gatelearn.v1.PredictRequest"
    )


def test_fuzz_examples_run(fuzz: Fuzz) -> None:
    """Every fuzz test ran its examples: at least EXAMPLES per RPC, RAW_EXAMPLES and
    UNDECODABLE_EXAMPLES in all."""
    if len(fuzz.tests_done) < FUZZ_TESTS:
        pytest.skip("only some fuzz tests ran")
    assert fuzz.total >= len(REQUESTS) * EXAMPLES + RAW_EXAMPLES + UNDECODABLE_EXAMPLES, fuzz.calls


# ---------------------------------------------------------------- reproducers of found bugs


def _status(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    try:
        result = call()
        if not isinstance(result, Message):
            list(result)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(
    ("initializer", "params"),
    [
        ("explicit", {"weights": 5.0}),
        ("explicit", {"weights": True}),
        ("explicit", {"weights": {"a": 1.0, "b": 2.0}, "biases": {"a": 1.0, "b": 2.0}}),
        ("uniform", {"low": 1.0, "high": 0.0}),
        ("uniform", {"low": 2.0}),
        ("uniform", {"high": -1.0}),
    ],
    ids=[
        "explicit-number",
        "explicit-bool",
        "explicit-object",
        "uniform-low-1-high-0",
        "uniform-low-2",
        "uniform-high-minus-1",
    ],
)
def test_regression_train_initializer_params_the_initializer_refuses(
    fuzz: Fuzz, initializer: str, params: dict[str, Any]
) -> None:
    """Explicit weights that are not lists, and uniform bounds the wrong way round."""
    request = pb.TrainRequest(
        model_name="bug",
        task=pb.ComponentRef(name="xor"),
        options=pb.TrainOptions(epochs=1),
        initializer=pb.ComponentRef(name=initializer),
    )
    request.initializer.params.update(params)
    code, details = _status(lambda: fuzz.stub.Train(request, timeout=TRAIN_TIMEOUT))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details}"
    assert details.startswith("initializer."), details


def test_regression_import_threshold_overflow(fuzz: Fuzz) -> None:
    model = _xor_model()
    model.low, model.high = 1e308, 1.7e308
    request = pb.ImportModelRequest(name="bug", model=model)
    code, details = _status(lambda: fuzz.stub.ImportModel(request, timeout=CALL_TIMEOUT))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details}"


@pytest.mark.parametrize(
    "task",
    [{"name": "region", "params": {"points": 5001.0}}, {"name": "parity", "params": {"n": 13.0}}],
    ids=["region-5001-points", "parity-8192-rows"],
)
def test_regression_import_ignores_max_task_rows(fuzz: Fuzz, task: dict[str, Any]) -> None:
    inputs = 2 if task["name"] == "region" else 13
    model = pb.ExportedModel(layers=[_layer([inputs, 1], [1.0] * inputs, [0.0], "sigmoid")])
    model.task.name = task["name"]
    model.task.params.update(task["params"])
    code, details = _status(
        lambda: fuzz.stub.ImportModel(
            pb.ImportModelRequest(name="bug-rows", model=model), timeout=CALL_TIMEOUT
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details}"
    assert "max_task_rows" in details, details


LONG = "n" * 20_000  # a value whose echo in a status message is over 16 KiB of metadata


@pytest.mark.parametrize(
    "rpc", ["ListPlugins", "DescribeTask", "GetModel", "Predict", "DeleteModel"]
)
def test_regression_long_input_echoed_in_status(fuzz: Fuzz, rpc: str) -> None:
    request_message = {
        "ListPlugins": pb.ListPluginsRequest(kind=LONG),
        "DescribeTask": pb.DescribeTaskRequest(task=pb.ComponentRef(name=LONG)),
        "GetModel": pb.GetModelRequest(name=LONG),
        "Predict": pb.PredictRequest(model=LONG, rows=[pb.Row(values=[0, 1])]),
        "DeleteModel": pb.DeleteModelRequest(name=LONG),
    }[rpc]
    code, details = _status(lambda: getattr(fuzz.stub, rpc)(request_message, timeout=CALL_TIMEOUT))
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (
        f"{code.name}: {details[:200]}"
    )
