"""gatelearn's NumPy matrix core: networks with a population axis, and the loop that trains them.

It knows nothing of gRPC, pluggy or storage; components arrive as objects with the call shapes
defined in `components`.
"""

from gatelearn.core.components import (
    Activation,
    Component,
    Dataset,
    Gate,
    Initializer,
    Loss,
    Optimizer,
    Step,
    Task,
)
from gatelearn.core.forward import ForwardPass
from gatelearn.core.network import Layer, Network, initialize
from gatelearn.core.params import Param, ParamError, check_known, declaration_error, resolve
from gatelearn.core.state import OptimizerState, RunState, ShuffleState
from gatelearn.core.training import (
    AUTO_RECORDS,
    DEFAULT_EPOCHS,
    History,
    Progress,
    ProgressCallback,
    StopReason,
    TrainConfig,
    TrainResult,
    split_validation,
    train,
)

__all__ = [
    "AUTO_RECORDS",
    "DEFAULT_EPOCHS",
    "Activation",
    "Component",
    "Dataset",
    "ForwardPass",
    "Gate",
    "History",
    "Initializer",
    "Layer",
    "Loss",
    "Network",
    "Optimizer",
    "OptimizerState",
    "Param",
    "ParamError",
    "Progress",
    "ProgressCallback",
    "RunState",
    "ShuffleState",
    "Step",
    "StopReason",
    "Task",
    "TrainConfig",
    "TrainResult",
    "check_known",
    "declaration_error",
    "initialize",
    "resolve",
    "split_validation",
    "train",
]
