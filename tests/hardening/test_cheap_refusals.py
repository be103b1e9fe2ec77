"""Refusals of oversize fields cost little, whatever the request's size.

An outside probe found refusals taking time in proportion to the request: 100,000 Train
activations took a second to be refused, a 16 MB task Struct twelve seconds (walking its wire
bytes for nesting, parsing a map of a million keys, converting every value). Now counts and
key names are checked before any entry is read, long flat lists are passed over by the C regex
engine, and an object over max_struct_keys (or a list of components over max_listed_components)
is refused at the first entry over. Each refusal still names the field and the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from proc_support import cpu_seconds_here

from gatelearn.server.edge.nesting import (
    MAX_FIELDS,
    MAX_LISTED,
    MAX_STRUCT_DEPTH,
    MAX_STRUCT_KEYS,
)
from gatelearn.server.limits import Limits
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

# CPU time, not wall time: a Train request is checked by its training worker, which runs under
# SCHED_IDLE and so waits as long as other work keeps every core busy. Measured on 2 cores
# after the fix: 0.25-0.6 s of wall time for these refusals, 0.04 s for the many keys; before:
# 5 s (numbers), 5 s (bools), 10 s and more (keys), most of it CPU.
REFUSED_WITHIN_CPU = 2.5  # 0.07-1.0 s here now (the 16 MB Train refusals 0.5-1.0 s)
BIG = 16 * 1024 * 1024  # the server's max_message_bytes
NUMBER_BYTES, BOOL_BYTES = 11, 4  # one list element on the wire (an empty list's: 4 too)
EMPTY_LIST = struct_pb2.Value(list_value=struct_pb2.ListValue())


@pytest.fixture
def stub(address: str) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    options = [("grpc.max_send_message_length", 2 * BIG)]
    with grpc.insecure_channel(address, options=options) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


RawMethod = Callable[..., Callable[..., Any]]


@pytest.fixture
def raw(address: str) -> Iterator[RawMethod]:
    """The service's methods called with request bytes as they are, as no stub sends them."""
    options = [("grpc.max_send_message_length", 2 * BIG)]
    with grpc.insecure_channel(address, options=options) as channel:

        def method(name: str, streaming: bool = False) -> Callable[..., Any]:
            make = channel.unary_stream if streaming else channel.unary_unary
            return make(
                f"/gatelearn.v1.GateLearn/{name}",
                request_serializer=None,
                response_deserializer=None,
            )

        yield method


def xor_train(**fields: Any) -> pb.TrainRequest:
    return pb.TrainRequest(model_name="big", task=pb.ComponentRef(name="xor"), **fields)


def with_list(ref: pb.ComponentRef, key: str, element: struct_pb2.Value, count: int) -> None:
    """Give `ref` the parameter `key`: a list of `count` copies of `element`."""
    ref.params.fields[key].list_value.values.extend([element] * count)


def refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The details of `call(*args, **kwargs)`, which must answer INVALID_ARGUMENT."""
    with pytest.raises(grpc.RpcError) as raised:
        answer = call(*args, **kwargs)
        if not isinstance(answer, Message):  # a stream: its status comes at the end
            list(answer)
    code, details = raised.value.code(), raised.value.details() or ""
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details}"
    return details


def quickly_refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The details of the INVALID_ARGUMENT refusal of `call(*args, **kwargs)`, which must cost
    the client, the server and its workers together at most REFUSED_WITHIN_CPU seconds of CPU."""
    started = cpu_seconds_here()
    details = refused(call, *args, **kwargs)
    seconds = cpu_seconds_here() - started
    assert seconds < REFUSED_WITHIN_CPU, f"refused after {seconds:.2f} s of CPU: {details}"
    return details


def warm_up(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    """One small refused Train, so that the timed one does not pay for a worker's first use."""
    small = xor_train()
    small.task.params.fields["rows"].number_value = 1
    refused(stub.Train, small, timeout=60)


@pytest.mark.parametrize(
    ("element", "element_bytes"),
    [
        (struct_pb2.Value(number_value=1.0), NUMBER_BYTES),
        (struct_pb2.Value(bool_value=True), BOOL_BYTES),
    ],
    ids=["numbers", "bools"],
)
def test_a_16_mb_task_param_under_a_wrong_name_is_refused_at_once(
    stub: gatelearn_pb2_grpc.GateLearnStub, element: struct_pb2.Value, element_bytes: int
) -> None:
    warm_up(stub)
    request = xor_train()
    with_list(request.task, "rows", element, (BIG - 4096) // element_bytes)
    assert BIG - 8192 < request.ByteSize() < BIG
    details = quickly_refused(stub.Train, request, timeout=60)
    assert details == "task.rows: unknown parameter (accepted: none)"


@pytest.mark.parametrize(
    ("element", "element_bytes"),
    [(struct_pb2.Value(bool_value=True), BOOL_BYTES), (EMPTY_LIST, BOOL_BYTES)],
    ids=["bools", "empty-lists"],
)
def test_describe_task_refuses_a_16_mb_param_under_a_wrong_name_at_once(
    stub: gatelearn_pb2_grpc.GateLearnStub, element: struct_pb2.Value, element_bytes: int
) -> None:
    request = pb.DescribeTaskRequest(task=pb.ComponentRef(name="xor"))
    with_list(request.task, "rows", element, (BIG - 4096) // element_bytes)
    details = quickly_refused(stub.DescribeTask, request, timeout=60)
    assert details == "task.params.rows: unknown parameter (accepted: none)"


def test_an_object_of_a_million_keys_is_refused_at_the_first_key_over(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    request = xor_train()
    fields = request.task.params.fields
    for index in range(1_000_000):
        fields[str(index)].bool_value = True
    details = quickly_refused(stub.Train, request, timeout=60)
    assert details == (
        f"task.params: an object holds at most {MAX_STRUCT_KEYS} keys (limit max_struct_keys)"
    )


def test_keys_are_counted_in_every_object_of_the_params(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    """One key over in an object inside a list is refused; the limit itself gets past
    decoding (and is refused for what the parameter is)."""
    for keys, over in ((MAX_STRUCT_KEYS + 1, True), (MAX_STRUCT_KEYS, False)):
        request = pb.DescribeTaskRequest(task=pb.ComponentRef(name="region"))
        request.task.params.update({"planes": [{f"k{i}": 1 for i in range(keys)}]})
        details = refused(stub.DescribeTask, request, timeout=10)
        assert ("limit max_struct_keys" in details) is over, details


def test_a_long_flat_list_hides_no_deep_value(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    """Lists passed over at once are only those that cannot break a limit: a deep value after
    100,000 numbers, bools or empty lists is still found."""
    deep: Any = 1.0
    for _ in range(MAX_STRUCT_DEPTH):
        deep = {"a": deep}
    for flat in ([1.5] * 100_000, [True] * 100_000, [[]] * 100_000):
        request = pb.DescribeTaskRequest(task=pb.ComponentRef(name="region"))
        request.task.params.update({"planes": [*flat, deep]})
        details = refused(stub.DescribeTask, request, timeout=10)
        assert details.startswith("task.params.planes: Struct and list values nest at most")


@pytest.mark.parametrize("levels", [MAX_STRUCT_DEPTH - 1, MAX_STRUCT_DEPTH - 2])
def test_short_bodies_passed_over_hide_no_level(
    stub: gatelearn_pb2_grpc.GateLearnStub, levels: int
) -> None:
    """An empty object as the level over the limit is still counted (the params Struct, then
    `levels` objects around an empty one): bodies too short to matter are not read, and an
    empty one is still a level."""
    deep: Any = {}
    for _ in range(levels):
        deep = {"a": deep}
    request = pb.DescribeTaskRequest(task=pb.ComponentRef(name="region"))
    request.task.params.update({"planes": deep})
    details = refused(stub.DescribeTask, request, timeout=10)
    assert ("limit max_struct_depth" in details) is (levels + 2 > MAX_STRUCT_DEPTH), details


def test_more_activations_than_layers_are_refused_naming_the_limit(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    """Counted before any is read or built (100,000 took a second to be refused)."""
    request = xor_train(activations=[pb.ComponentRef(name="tanh")] * MAX_LISTED)
    details = refused(stub.Train, request, timeout=60)
    limit = Limits().max_layers
    assert details == (
        f"activations: at most {limit} (limit max_layers: one per layer), got {MAX_LISTED}"
    )


def test_a_16_mb_flood_of_activations_is_refused_at_once(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    """8 million empty activations (2 bytes each) were walked one by one for 9 s before the
    count could refuse them; now the walk refuses them at the first entry over MAX_LISTED."""
    request = xor_train(activations=[pb.ComponentRef()] * ((BIG - 4096) // 2))
    details = quickly_refused(stub.Train, request, timeout=60)
    assert details == f"activations: at most {MAX_LISTED} entries (limit max_listed_components)"


def test_a_field_sent_once_but_copied_millions_of_times_is_refused_at_once(
    raw: RawMethod,
) -> None:
    """The parser merges the copies of a field sent more than once, and the walk read each
    (4 million empty `task` copies: 4 s, then answered `task.name: required`)."""
    copies = b"\x0a\x00" * ((BIG - 4096) // 2)  # DescribeTaskRequest.task (field 1), empty
    details = quickly_refused(raw("DescribeTask"), copies, timeout=60)
    assert details == "task: a field sent once appears again (its copies would be merged)"


def test_copies_of_an_object_cannot_merge_their_keys_past_the_limit(raw: RawMethod) -> None:
    """1000 copies of a params object of 256 keys each were let through (up to 1024 copies
    of a field sent once passed) and parsed as one object of 256,000 keys."""
    params = struct_pb2.Struct()
    params.update({f"k{index}": 1 for index in range(MAX_STRUCT_KEYS)})
    one_copy = pb.ComponentRef(name="xor", params=params).SerializeToString()
    task = b"\x0a" + _varint(len(one_copy)) + one_copy  # DescribeTaskRequest.task
    details = refused(raw("DescribeTask"), task * 2, timeout=60)
    assert details == "task: a field sent once appears again (its copies would be merged)"


def test_a_flood_of_fields_the_walk_would_step_over_is_refused_at_once(raw: RawMethod) -> None:
    """8 million empty unknown fields took 4 s to step over, and the request was then parsed
    and answered."""
    unknown = b"\x7a\x00" * ((BIG - 4096) // 2)  # field 15, empty: no such field
    request = pb.DescribeTaskRequest(task=pb.ComponentRef(name="xor")).SerializeToString()
    details = quickly_refused(raw("DescribeTask"), request + unknown, timeout=60)
    assert (
        details
        == f"request: a message holds at most {MAX_FIELDS} fields (limit max_message_fields)"
    )


def _varint(value: int) -> bytes:
    """`value` as a protobuf varint."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def test_a_group_hides_nothing_that_follows_it(raw: RawMethod) -> None:
    """A group (wire types 3 and 4) is kept by the parser as an unknown field; the walk took
    it for malformed bytes and stopped, so a flood of activations behind one got past."""
    group = b"\xc3\x3e\x08\x01\xc4\x3e"  # field 1000 as a group holding a varint
    flood = xor_train(activations=[pb.ComponentRef()] * 2000).SerializeToString()
    details = refused(raw("Train", streaming=True), group + flood, timeout=60)
    assert details == f"activations: at most {MAX_LISTED} entries (limit max_listed_components)"
