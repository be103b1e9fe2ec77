"""The gatelearn Python client and command line. Needs only grpcio and protobuf."""

from gatelearn.client.client import (
    ADDRESS_ENV,
    DEFAULT_ADDRESS,
    Client,
    ComponentSpec,
    GateLearnError,
    TrainOptions,
)
from gatelearn.client.types import (
    Component,
    EvaluatedRow,
    Evaluation,
    Explanation,
    History,
    Metrics,
    ModelDetail,
    ModelRef,
    ModelSummary,
    Param,
    Prediction,
    Progress,
    TaskDescription,
    TrainOutcome,
)

__all__ = [
    "ADDRESS_ENV",
    "DEFAULT_ADDRESS",
    "Client",
    "Component",
    "ComponentSpec",
    "Evaluation",
    "Explanation",
    "EvaluatedRow",
    "GateLearnError",
    "History",
    "Metrics",
    "ModelDetail",
    "ModelRef",
    "ModelSummary",
    "Param",
    "Prediction",
    "Progress",
    "TaskDescription",
    "TrainOptions",
    "TrainOutcome",
]
