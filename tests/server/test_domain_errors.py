"""Domain errors: every kind crosses the worker pipe intact and has a status code at the edge."""

from __future__ import annotations

import json

import grpc
import pytest

from gatelearn.server import errors
from gatelearn.server.edge.statuses import STATUSES

KINDS = [
    errors.NotFound,
    errors.AtCapacity,
    errors.FailedPrecondition,
    errors.Unavailable,
    errors.Cancelled,
    errors.DeadlineExceeded,
    errors.DataLoss,
]


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidRequest("options.patience", "must be >= 0"),
        *(kind("training cancelled") for kind in KINDS),
    ],
    ids=lambda error: type(error).__name__,
)
def test_error_survives_the_pipe(error: errors.DomainError) -> None:
    rebuilt = errors.from_json(json.loads(json.dumps(errors.to_json(error))))
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    assert rebuilt.parts() == error.parts()


def test_every_domain_error_has_one_status() -> None:
    kinds = {errors.InvalidRequest, *KINDS}
    assert set(errors.DomainError.__subclasses__()) == kinds
    assert {kind: STATUSES[kind] for kind in kinds} == {
        errors.InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
        errors.NotFound: grpc.StatusCode.NOT_FOUND,
        errors.AtCapacity: grpc.StatusCode.RESOURCE_EXHAUSTED,
        errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
        errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
        errors.Cancelled: grpc.StatusCode.CANCELLED,
        errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
        errors.DataLoss: grpc.StatusCode.DATA_LOSS,
    }
