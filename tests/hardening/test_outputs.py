"""No silent infinities: rows that push a model's outputs past the float range are refused.

The model is an imported linear network with weights 1e150, finite on its own table. Inputs of
1e200 make its output infinite in float64; any ordinary row overflows float32. Every way of
asking for outputs (Predict with rows or packed rows, PredictStream, Evaluate on a table) must
answer INVALID_ARGUMENT naming the first such row, never OK with an infinity.

Nor are inputs taken as infinities: a float32 model took 1e308 (finite in float64) as one and
answered; it now refuses any input beyond float32's range the same ways, naming the row.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from conftest import start_server
from google.protobuf.message import Message

from gatelearn.plugins.recipe import FLOAT32_MAX
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

HUGE = 1e150
ORDINARY = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
OVERFLOWING = [[0.0, 1.0], [1e200, 1e200], [1e200, 0.0]]  # rows 1 and 2: HUGE * 1e200 = inf


def rows(values: list[list[float]]) -> list[pb.Row]:
    return [pb.Row(values=row) for row in values]


def packed(values: list[list[float]], dtype: str) -> pb.PackedRows:
    array = np.asarray(values, dtype={"float64": "<f8", "float32": "<f4"}[dtype])
    return pb.PackedRows(data=array.tobytes(), shape=list(array.shape), dtype=dtype)


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    """A stub on a server holding `huge`: output = 1e150 * (x0 + x1), the OR of two bits."""
    running: RunningServer = start_server(
        tmp_path_factory.mktemp("outputs") / "data", limits=Limits(max_concurrent_trainings=1)
    )
    layer = pb.ExportedLayer(
        weights=pb.Tensor(shape=[2, 1], values=[HUGE, HUGE]),
        activation=pb.ComponentRef(name="linear"),
    )
    model = pb.ExportedModel(
        layers=[layer],
        table=pb.TruthTable(inputs=rows(ORDINARY), outputs=rows([[0.0], [1.0], [1.0], [1.0]])),
    )
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        connected = gatelearn_pb2_grpc.GateLearnStub(channel)
        connected.ImportModel(pb.ImportModelRequest(name="huge", model=model), timeout=10)
        yield connected
    running.stop(0)


def refusal(call: object) -> str:
    """The details of INVALID_ARGUMENT that `call()` must end with (a stream is drained)."""
    with pytest.raises(grpc.RpcError) as raised:
        answer = call()  # type: ignore[operator]
        if not isinstance(answer, Message):  # a stream: its status comes at the end
            list(answer)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    return raised.value.details() or ""


def test_finite_outputs_are_answered(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    answer = stub.Predict(pb.PredictRequest(model="huge", rows=rows(ORDINARY)), timeout=10)
    assert [list(r.values) for r in answer.outputs] == [[0.0], [HUGE], [HUGE], [2 * HUGE]]
    assert stub.Evaluate(pb.EvaluateRequest(model="huge"), timeout=10).accuracy == 1.0


def test_predict_rows_overflowing_is_refused_naming_the_first(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    details = refusal(
        lambda: stub.Predict(pb.PredictRequest(model="huge", rows=rows(OVERFLOWING)), timeout=10)
    )
    assert details.startswith("rows[1]: output is not finite"), details


@pytest.mark.parametrize(
    ("values", "dtype", "row"),
    [
        (OVERFLOWING, "float64", 1),
        ([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]], "float32", 2),  # 1e150 is finite only in float64
    ],
    ids=["float64", "float32"],
)
def test_packed_predict_overflowing_is_refused_naming_the_first(
    stub: gatelearn_pb2_grpc.GateLearnStub, values: list[list[float]], dtype: str, row: int
) -> None:
    details = refusal(
        lambda: stub.Predict(
            pb.PredictRequest(model="huge", packed=packed(values, dtype)), timeout=10
        )
    )
    assert details.startswith(f"packed.data: row {row}: output is not finite"), details
    assert dtype in details, details


def test_stream_overflowing_is_refused_naming_the_message(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    messages = [
        pb.PredictRequest(model="huge", rows=rows(ORDINARY)),
        pb.PredictRequest(rows=rows(OVERFLOWING)),
    ]
    details = refusal(lambda: stub.PredictStream(iter(messages), timeout=10))
    assert details.startswith("requests[1].rows[1]: output is not finite"), details


def test_evaluate_table_overflowing_is_refused_naming_the_row(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    table = pb.TruthTable(inputs=rows(OVERFLOWING), outputs=rows([[1.0], [1.0], [1.0]]))
    details = refusal(
        lambda: stub.Evaluate(pb.EvaluateRequest(model="huge", table=table), timeout=10)
    )
    assert details.startswith("table.inputs[1]: output is not finite"), details


# ---------------------------------------------------------------- inputs of a float32 model

BEYOND = [[0.0, 1.0], [1.0, -1e308], [1e308, 0.0]]  # row 1 first: -1e308 overflows float32
LIMIT_TEXT = f"-1e+308 is beyond float32's range (±{FLOAT32_MAX:.8g}), in which this model computes"


@pytest.fixture(scope="module")
def sums(stub: gatelearn_pb2_grpc.GateLearnStub) -> gatelearn_pb2_grpc.GateLearnStub:
    """`stub`, its server also holding `small` in float32 and `wide` in float64, both output =
    sigmoid(x0 + x1): finite even for infinite inputs, which it would answer as 0 or 1."""
    for name, dtype in (("small", "float32"), ("wide", "float64")):
        layer = pb.ExportedLayer(
            weights=pb.Tensor(shape=[2, 1], values=[1.0, 1.0]),
            activation=pb.ComponentRef(name="sigmoid"),
        )
        model = pb.ExportedModel(
            layers=[layer], task=pb.ComponentRef(name="xor"), dtype=dtype, high=1.0
        )
        stub.ImportModel(pb.ImportModelRequest(name=name, model=model), timeout=10)
    return stub


def test_predict_rows_beyond_float32_are_refused_naming_the_first(
    sums: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    request = pb.PredictRequest(model="small", rows=rows(BEYOND))
    assert refusal(lambda: sums.Predict(request, timeout=10)) == f"rows[1]: {LIMIT_TEXT}"


def test_packed_float64_rows_beyond_float32_are_refused_naming_the_first(
    sums: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    request = pb.PredictRequest(model="small", packed=packed(BEYOND, "float64"))
    details = refusal(lambda: sums.Predict(request, timeout=10))
    assert details == f"packed.data: row 1: {LIMIT_TEXT}"


def test_stream_rows_beyond_float32_are_refused_naming_the_message(
    sums: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    messages = [
        pb.PredictRequest(model="small", rows=rows(ORDINARY)),
        pb.PredictRequest(packed=packed(BEYOND, "float64")),
    ]
    details = refusal(lambda: sums.PredictStream(iter(messages), timeout=10))
    assert details == f"requests[1].packed.data: row 1: {LIMIT_TEXT}"


def test_evaluate_table_beyond_float32_is_refused_naming_the_row(
    sums: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    table = pb.TruthTable(inputs=rows(BEYOND), outputs=rows([[1.0], [1.0], [1.0]]))
    request = pb.EvaluateRequest(model="small", table=table)
    assert refusal(lambda: sums.Evaluate(request, timeout=10)) == f"table.inputs[1]: {LIMIT_TEXT}"


def outputs(answer: pb.PredictResponse) -> list[float]:
    """An answer's outputs, given as rows or packed."""
    if answer.HasField("packed_outputs"):
        dtype = {"float32": "<f4"}.get(answer.packed_outputs.dtype, "<f8")
        return np.frombuffer(answer.packed_outputs.data, dtype).tolist()
    return [value for row in answer.outputs for value in row.values]


def test_float32_range_itself_and_float64_models_are_answered(
    sums: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    edge, opposite = [[FLOAT32_MAX, -FLOAT32_MAX]], [[1e308, -1e308]]  # both sum to 0
    for request in (
        pb.PredictRequest(model="small", rows=rows(edge)),
        pb.PredictRequest(model="small", packed=packed(edge, "float64")),
        pb.PredictRequest(model="small", packed=packed(edge, "float32")),
        pb.PredictRequest(model="wide", rows=rows(opposite)),
        pb.PredictRequest(model="wide", packed=packed(opposite, "float64")),
    ):
        answered = outputs(sums.Predict(request, timeout=10))
        assert answered == [0.5] * len(answered) and answered, request
