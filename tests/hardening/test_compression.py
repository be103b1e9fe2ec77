"""Compressed requests: refused before gRPC inflates them, so a few kB cannot cost 16 MiB.

gRPC inflates a compressed message in full before any handler sees it; 50 gzip requests of
16 kB each, inflating to just under max_message_bytes, took `gatelearn serve` from 65 to 722 MB.
"""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest
from test_memory import GROWTH_BOUND, peak_rss, served  # noqa: F401  (served: a fixture)

from gatelearn.client import Client
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
COMPRESSIONS = (grpc.Compression.Gzip, grpc.Compression.Deflate)


def zero_rows_request(message_bytes: int) -> pb.PredictRequest:
    """A Predict of packed zero rows about `message_bytes` long: it deflates to a thousandth."""
    rows = message_bytes // 16
    packed = pb.PackedRows(data=bytes(rows * 16), shape=[rows, 2], dtype="float64")
    return pb.PredictRequest(model="m", packed=packed)


@pytest.mark.parametrize("compression", COMPRESSIONS, ids=["gzip", "deflate"])
def test_a_compressed_request_is_refused_naming_the_compression(
    address: str, compression: grpc.Compression
) -> None:
    with Client(address) as client:
        client.train("m", "xor")
    with grpc.insecure_channel(address) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        request = pb.PredictRequest(model="m", rows=[pb.Row(values=[0, 1])])
        with pytest.raises(grpc.RpcError) as unary:
            stub.Predict(request, compression=compression, timeout=10)
        with pytest.raises(grpc.RpcError) as streamed:
            list(stub.PredictStream(iter([request]), compression=compression, timeout=10))
        answered = stub.Predict(request, timeout=10)  # uncompressed, on the same channel
    for refused in (unary.value, streamed.value):
        assert refused.code() == grpc.StatusCode.UNIMPLEMENTED, refused.details()
        assert "compression" in refused.details().lower(), refused.details()
    assert answered.labels[0].values == [1.0]


def test_many_compression_bombs_at_once_leave_the_server_small_and_answering(
    served: Any,  # noqa: F811  (the fixture imported above)
) -> None:
    process, target = served
    bombs = 30
    request = zero_rows_request(16 * 2**20 - 4096)  # just under max_message_bytes
    codes: list[grpc.StatusCode] = []
    with Client(target) as client, grpc.insecure_channel(target, options=UNLIMITED) as channel:
        client.train("m", "xor")
        before = peak_rss(process.pid)
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        futures = [
            stub.Predict.future(request, compression=grpc.Compression.Gzip, timeout=60)
            for _ in range(bombs)
        ]
        answered = threading.Event()

        def ask() -> None:
            client.predict("m", [[0, 1]])
            answered.set()

        threading.Thread(target=ask).start()
        for future in futures:
            codes.append(future.exception().code())
        assert answered.wait(30), "a plain Predict got no answer during the bombs"
        grown = peak_rss(process.pid) - before
    assert grown < GROWTH_BOUND, f"peak RSS grew by {grown / 2**20:.0f} MiB"
    assert set(codes) == {grpc.StatusCode.UNIMPLEMENTED}, codes
