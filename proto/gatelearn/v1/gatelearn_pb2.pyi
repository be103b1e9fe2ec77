import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Dtype(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DTYPE_UNSPECIFIED: _ClassVar[Dtype]
    FLOAT64: _ClassVar[Dtype]
    FLOAT32: _ClassVar[Dtype]
DTYPE_UNSPECIFIED: Dtype
FLOAT64: Dtype
FLOAT32: Dtype

class ComponentRef(_message.Message):
    __slots__ = ("name", "params")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    params: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Tensor(_message.Message):
    __slots__ = ("shape", "values")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class Row(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class TruthTable(_message.Message):
    __slots__ = ("inputs", "outputs")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[Row]
    outputs: _containers.RepeatedCompositeFieldContainer[Row]
    def __init__(self, inputs: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[Row, _Mapping]]] = ...) -> None: ...

class ModelRef(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Metrics(_message.Message):
    __slots__ = ("loss", "accuracy", "min_margin", "solved", "solved_epoch", "validation_loss", "validation_accuracy")
    LOSS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MIN_MARGIN_FIELD_NUMBER: _ClassVar[int]
    SOLVED_FIELD_NUMBER: _ClassVar[int]
    SOLVED_EPOCH_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    loss: float
    accuracy: float
    min_margin: float
    solved: bool
    solved_epoch: int
    validation_loss: float
    validation_accuracy: float
    def __init__(self, loss: _Optional[float] = ..., accuracy: _Optional[float] = ..., min_margin: _Optional[float] = ..., solved: _Optional[bool] = ..., solved_epoch: _Optional[int] = ..., validation_loss: _Optional[float] = ..., validation_accuracy: _Optional[float] = ...) -> None: ...

class ListPluginsRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class ListPluginsResponse(_message.Message):
    __slots__ = ("components", "default_recipe")
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RECIPE_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedCompositeFieldContainer[Component]
    default_recipe: Recipe
    def __init__(self, components: _Optional[_Iterable[_Union[Component, _Mapping]]] = ..., default_recipe: _Optional[_Union[Recipe, _Mapping]] = ...) -> None: ...

class Component(_message.Message):
    __slots__ = ("kind", "name", "plugin", "version", "description", "params")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    plugin: str
    version: str
    description: str
    params: _containers.RepeatedCompositeFieldContainer[ParamSpec]
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., plugin: _Optional[str] = ..., version: _Optional[str] = ..., description: _Optional[str] = ..., params: _Optional[_Iterable[_Union[ParamSpec, _Mapping]]] = ...) -> None: ...

class ParamSpec(_message.Message):
    __slots__ = ("name", "type", "default_value", "minimum", "maximum", "choices", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    default_value: _struct_pb2.Value
    minimum: float
    maximum: float
    choices: _containers.RepeatedScalarFieldContainer[str]
    description: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., default_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., minimum: _Optional[float] = ..., maximum: _Optional[float] = ..., choices: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Component]
    def __init__(self, tasks: _Optional[_Iterable[_Union[Component, _Mapping]]] = ...) -> None: ...

class DescribeTaskRequest(_message.Message):
    __slots__ = ("task", "seed", "preview_rows")
    TASK_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ROWS_FIELD_NUMBER: _ClassVar[int]
    task: ComponentRef
    seed: int
    preview_rows: int
    def __init__(self, task: _Optional[_Union[ComponentRef, _Mapping]] = ..., seed: _Optional[int] = ..., preview_rows: _Optional[int] = ...) -> None: ...

class TaskDescription(_message.Message):
    __slots__ = ("name", "inputs", "outputs", "low", "high", "total_rows", "rows_inputs", "rows_targets", "threshold", "default_recipe")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    ROWS_INPUTS_FIELD_NUMBER: _ClassVar[int]
    ROWS_TARGETS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RECIPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    inputs: int
    outputs: int
    low: float
    high: float
    total_rows: int
    rows_inputs: _containers.RepeatedCompositeFieldContainer[Row]
    rows_targets: _containers.RepeatedCompositeFieldContainer[Row]
    threshold: float
    default_recipe: Recipe
    def __init__(self, name: _Optional[str] = ..., inputs: _Optional[int] = ..., outputs: _Optional[int] = ..., low: _Optional[float] = ..., high: _Optional[float] = ..., total_rows: _Optional[int] = ..., rows_inputs: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., rows_targets: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., threshold: _Optional[float] = ..., default_recipe: _Optional[_Union[Recipe, _Mapping]] = ...) -> None: ...

class Layers(_message.Message):
    __slots__ = ("units",)
    UNITS_FIELD_NUMBER: _ClassVar[int]
    units: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, units: _Optional[_Iterable[int]] = ...) -> None: ...

class ExplicitWeights(_message.Message):
    __slots__ = ("weights", "biases")
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    BIASES_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.RepeatedCompositeFieldContainer[Tensor]
    biases: _containers.RepeatedCompositeFieldContainer[Tensor]
    def __init__(self, weights: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ..., biases: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ...) -> None: ...

class TrainRequest(_message.Message):
    __slots__ = ("model_name", "task", "table", "data", "hidden", "activations", "bias", "loss", "optimizer", "initializer", "weights", "options", "seed", "population", "dtype", "request_id", "start_from")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    INITIALIZER_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_FROM_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    task: ComponentRef
    table: TruthTable
    data: DataRows
    hidden: Layers
    activations: _containers.RepeatedCompositeFieldContainer[ComponentRef]
    bias: bool
    loss: ComponentRef
    optimizer: ComponentRef
    initializer: ComponentRef
    weights: ExplicitWeights
    options: TrainOptions
    seed: int
    population: int
    dtype: Dtype
    request_id: str
    start_from: str
    def __init__(self, model_name: _Optional[str] = ..., task: _Optional[_Union[ComponentRef, _Mapping]] = ..., table: _Optional[_Union[TruthTable, _Mapping]] = ..., data: _Optional[_Union[DataRows, _Mapping]] = ..., hidden: _Optional[_Union[Layers, _Mapping]] = ..., activations: _Optional[_Iterable[_Union[ComponentRef, _Mapping]]] = ..., bias: _Optional[bool] = ..., loss: _Optional[_Union[ComponentRef, _Mapping]] = ..., optimizer: _Optional[_Union[ComponentRef, _Mapping]] = ..., initializer: _Optional[_Union[ComponentRef, _Mapping]] = ..., weights: _Optional[_Union[ExplicitWeights, _Mapping]] = ..., options: _Optional[_Union[TrainOptions, _Mapping]] = ..., seed: _Optional[int] = ..., population: _Optional[int] = ..., dtype: _Optional[_Union[Dtype, str]] = ..., request_id: _Optional[str] = ..., start_from: _Optional[str] = ...) -> None: ...

class TrainOptions(_message.Message):
    __slots__ = ("epochs", "batch_size", "shuffle", "weight_decay", "stop_when_solved", "margin", "loss_target", "patience", "min_delta", "progress_interval_ms", "record_every", "validation_share")
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHUFFLE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    STOP_WHEN_SOLVED_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    LOSS_TARGET_FIELD_NUMBER: _ClassVar[int]
    PATIENCE_FIELD_NUMBER: _ClassVar[int]
    MIN_DELTA_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    RECORD_EVERY_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_SHARE_FIELD_NUMBER: _ClassVar[int]
    epochs: int
    batch_size: int
    shuffle: bool
    weight_decay: float
    stop_when_solved: bool
    margin: float
    loss_target: float
    patience: int
    min_delta: float
    progress_interval_ms: int
    record_every: int
    validation_share: float
    def __init__(self, epochs: _Optional[int] = ..., batch_size: _Optional[int] = ..., shuffle: _Optional[bool] = ..., weight_decay: _Optional[float] = ..., stop_when_solved: _Optional[bool] = ..., margin: _Optional[float] = ..., loss_target: _Optional[float] = ..., patience: _Optional[int] = ..., min_delta: _Optional[float] = ..., progress_interval_ms: _Optional[int] = ..., record_every: _Optional[int] = ..., validation_share: _Optional[float] = ...) -> None: ...

class TrainEvent(_message.Message):
    __slots__ = ("progress", "done")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    progress: TrainProgress
    done: TrainDone
    def __init__(self, progress: _Optional[_Union[TrainProgress, _Mapping]] = ..., done: _Optional[_Union[TrainDone, _Mapping]] = ...) -> None: ...

class TrainProgress(_message.Message):
    __slots__ = ("epoch", "epochs", "loss", "accuracy", "solved_members", "population", "validation_loss", "validation_accuracy")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    SOLVED_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    epochs: int
    loss: float
    accuracy: float
    solved_members: int
    population: int
    validation_loss: float
    validation_accuracy: float
    def __init__(self, epoch: _Optional[int] = ..., epochs: _Optional[int] = ..., loss: _Optional[float] = ..., accuracy: _Optional[float] = ..., solved_members: _Optional[int] = ..., population: _Optional[int] = ..., validation_loss: _Optional[float] = ..., validation_accuracy: _Optional[float] = ...) -> None: ...

class TrainDone(_message.Message):
    __slots__ = ("model", "metrics", "stop_reason", "epochs", "member", "solved_members", "population", "member_solved_epochs", "parent", "fresh_optimizer_state")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SOLVED_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    MEMBER_SOLVED_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FRESH_OPTIMIZER_STATE_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    metrics: Metrics
    stop_reason: str
    epochs: int
    member: int
    solved_members: int
    population: int
    member_solved_epochs: _containers.RepeatedScalarFieldContainer[int]
    parent: str
    fresh_optimizer_state: bool
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., metrics: _Optional[_Union[Metrics, _Mapping]] = ..., stop_reason: _Optional[str] = ..., epochs: _Optional[int] = ..., member: _Optional[int] = ..., solved_members: _Optional[int] = ..., population: _Optional[int] = ..., member_solved_epochs: _Optional[_Iterable[int]] = ..., parent: _Optional[str] = ..., fresh_optimizer_state: _Optional[bool] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("model", "version", "rows", "packed", "label_bits")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    PACKED_FIELD_NUMBER: _ClassVar[int]
    LABEL_BITS_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    packed: PackedRows
    label_bits: bool
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., packed: _Optional[_Union[PackedRows, _Mapping]] = ..., label_bits: _Optional[bool] = ...) -> None: ...

class PackedRows(_message.Message):
    __slots__ = ("data", "shape", "dtype")
    DATA_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    def __init__(self, data: _Optional[bytes] = ..., shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("model", "outputs", "labels", "threshold", "packed_outputs", "packed_labels", "label_bits")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PACKED_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PACKED_LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_BITS_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    outputs: _containers.RepeatedCompositeFieldContainer[Row]
    labels: _containers.RepeatedCompositeFieldContainer[Row]
    threshold: float
    packed_outputs: PackedRows
    packed_labels: PackedRows
    label_bits: LabelBits
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., outputs: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., labels: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., threshold: _Optional[float] = ..., packed_outputs: _Optional[_Union[PackedRows, _Mapping]] = ..., packed_labels: _Optional[_Union[PackedRows, _Mapping]] = ..., label_bits: _Optional[_Union[LabelBits, _Mapping]] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("model", "version", "table")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    table: TruthTable
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., table: _Optional[_Union[TruthTable, _Mapping]] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("model", "accuracy", "min_margin", "rows")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MIN_MARGIN_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    accuracy: float
    min_margin: float
    rows: _containers.RepeatedCompositeFieldContainer[EvaluatedRow]
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., accuracy: _Optional[float] = ..., min_margin: _Optional[float] = ..., rows: _Optional[_Iterable[_Union[EvaluatedRow, _Mapping]]] = ...) -> None: ...

class EvaluatedRow(_message.Message):
    __slots__ = ("inputs", "targets", "outputs", "correct")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedScalarFieldContainer[float]
    targets: _containers.RepeatedScalarFieldContainer[float]
    outputs: _containers.RepeatedScalarFieldContainer[float]
    correct: bool
    def __init__(self, inputs: _Optional[_Iterable[float]] = ..., targets: _Optional[_Iterable[float]] = ..., outputs: _Optional[_Iterable[float]] = ..., correct: _Optional[bool] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelSummary]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelSummary, _Mapping]]] = ...) -> None: ...

class ModelSummary(_message.Message):
    __slots__ = ("name", "version", "task", "sizes", "created_at", "metrics", "aliases")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    task: str
    sizes: _containers.RepeatedScalarFieldContainer[int]
    created_at: _timestamp_pb2.Timestamp
    metrics: Metrics
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., task: _Optional[str] = ..., sizes: _Optional[_Iterable[int]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Union[Metrics, _Mapping]] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ModelDetail(_message.Message):
    __slots__ = ("summary", "activations", "bias", "request", "history", "member_seed", "dtype", "recipe", "loss", "member_solved_epochs", "parent", "search")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    MEMBER_SEED_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_SOLVED_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    summary: ModelSummary
    activations: _containers.RepeatedScalarFieldContainer[str]
    bias: bool
    request: TrainRequest
    history: History
    member_seed: int
    dtype: str
    recipe: Recipe
    loss: ComponentRef
    member_solved_epochs: _containers.RepeatedScalarFieldContainer[int]
    parent: str
    search: SearchDone
    def __init__(self, summary: _Optional[_Union[ModelSummary, _Mapping]] = ..., activations: _Optional[_Iterable[str]] = ..., bias: _Optional[bool] = ..., request: _Optional[_Union[TrainRequest, _Mapping]] = ..., history: _Optional[_Union[History, _Mapping]] = ..., member_seed: _Optional[int] = ..., dtype: _Optional[str] = ..., recipe: _Optional[_Union[Recipe, _Mapping]] = ..., loss: _Optional[_Union[ComponentRef, _Mapping]] = ..., member_solved_epochs: _Optional[_Iterable[int]] = ..., parent: _Optional[str] = ..., search: _Optional[_Union[SearchDone, _Mapping]] = ...) -> None: ...

class History(_message.Message):
    __slots__ = ("epochs", "loss", "accuracy")
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    epochs: _containers.RepeatedScalarFieldContainer[int]
    loss: _containers.RepeatedScalarFieldContainer[float]
    accuracy: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, epochs: _Optional[_Iterable[int]] = ..., loss: _Optional[_Iterable[float]] = ..., accuracy: _Optional[_Iterable[float]] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ("deleted_versions",)
    DELETED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    deleted_versions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, deleted_versions: _Optional[_Iterable[int]] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ExportedModel(_message.Message):
    __slots__ = ("format_version", "name", "version", "layers", "task", "table", "data", "low", "high", "dtype", "seed", "loss", "recipe", "history", "training_state", "member_seed")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    TRAINING_STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_SEED_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    name: str
    version: int
    layers: _containers.RepeatedCompositeFieldContainer[ExportedLayer]
    task: ComponentRef
    table: TruthTable
    data: DataRows
    low: float
    high: float
    dtype: str
    seed: int
    loss: ComponentRef
    recipe: Recipe
    history: History
    training_state: TrainingState
    member_seed: int
    def __init__(self, format_version: _Optional[int] = ..., name: _Optional[str] = ..., version: _Optional[int] = ..., layers: _Optional[_Iterable[_Union[ExportedLayer, _Mapping]]] = ..., task: _Optional[_Union[ComponentRef, _Mapping]] = ..., table: _Optional[_Union[TruthTable, _Mapping]] = ..., data: _Optional[_Union[DataRows, _Mapping]] = ..., low: _Optional[float] = ..., high: _Optional[float] = ..., dtype: _Optional[str] = ..., seed: _Optional[int] = ..., loss: _Optional[_Union[ComponentRef, _Mapping]] = ..., recipe: _Optional[_Union[Recipe, _Mapping]] = ..., history: _Optional[_Union[History, _Mapping]] = ..., training_state: _Optional[_Union[TrainingState, _Mapping]] = ..., member_seed: _Optional[int] = ...) -> None: ...

class ExportedLayer(_message.Message):
    __slots__ = ("weights", "bias", "activation")
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    weights: Tensor
    bias: Tensor
    activation: ComponentRef
    def __init__(self, weights: _Optional[_Union[Tensor, _Mapping]] = ..., bias: _Optional[_Union[Tensor, _Mapping]] = ..., activation: _Optional[_Union[ComponentRef, _Mapping]] = ...) -> None: ...

class ImportModelRequest(_message.Message):
    __slots__ = ("name", "model", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: ExportedModel
    request_id: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[_Union[ExportedModel, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DataRows(_message.Message):
    __slots__ = ("inputs", "targets")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[Row]
    targets: _containers.RepeatedCompositeFieldContainer[Row]
    def __init__(self, inputs: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., targets: _Optional[_Iterable[_Union[Row, _Mapping]]] = ...) -> None: ...

class Recipe(_message.Message):
    __slots__ = ("task", "hidden", "activations", "bias", "loss", "optimizer", "initializer", "options", "seed", "population", "dtype")
    TASK_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    INITIALIZER_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    task: ComponentRef
    hidden: _containers.RepeatedScalarFieldContainer[int]
    activations: _containers.RepeatedCompositeFieldContainer[ComponentRef]
    bias: bool
    loss: ComponentRef
    optimizer: ComponentRef
    initializer: ComponentRef
    options: TrainOptions
    seed: int
    population: int
    dtype: str
    def __init__(self, task: _Optional[_Union[ComponentRef, _Mapping]] = ..., hidden: _Optional[_Iterable[int]] = ..., activations: _Optional[_Iterable[_Union[ComponentRef, _Mapping]]] = ..., bias: _Optional[bool] = ..., loss: _Optional[_Union[ComponentRef, _Mapping]] = ..., optimizer: _Optional[_Union[ComponentRef, _Mapping]] = ..., initializer: _Optional[_Union[ComponentRef, _Mapping]] = ..., options: _Optional[_Union[TrainOptions, _Mapping]] = ..., seed: _Optional[int] = ..., population: _Optional[int] = ..., dtype: _Optional[str] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("model", "version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("model", "boolean_inputs", "input_names", "threshold", "total_rows", "outputs", "hidden_units", "equals", "trained_task", "matches_trained_task")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_INPUTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_NAMES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_UNITS_FIELD_NUMBER: _ClassVar[int]
    EQUALS_FIELD_NUMBER: _ClassVar[int]
    TRAINED_TASK_FIELD_NUMBER: _ClassVar[int]
    MATCHES_TRAINED_TASK_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    boolean_inputs: bool
    input_names: _containers.RepeatedScalarFieldContainer[str]
    threshold: float
    total_rows: int
    outputs: _containers.RepeatedCompositeFieldContainer[ExplainedOutput]
    hidden_units: _containers.RepeatedCompositeFieldContainer[HiddenUnit]
    equals: _containers.RepeatedScalarFieldContainer[str]
    trained_task: str
    matches_trained_task: bool
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., boolean_inputs: _Optional[bool] = ..., input_names: _Optional[_Iterable[str]] = ..., threshold: _Optional[float] = ..., total_rows: _Optional[int] = ..., outputs: _Optional[_Iterable[_Union[ExplainedOutput, _Mapping]]] = ..., hidden_units: _Optional[_Iterable[_Union[HiddenUnit, _Mapping]]] = ..., equals: _Optional[_Iterable[str]] = ..., trained_task: _Optional[str] = ..., matches_trained_task: _Optional[bool] = ...) -> None: ...

class ExplainedOutput(_message.Message):
    __slots__ = ("values", "margins", "formula", "exact", "products", "literals", "equals", "region")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    MARGINS_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    LITERALS_FIELD_NUMBER: _ClassVar[int]
    EQUALS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[bool]
    margins: _containers.RepeatedScalarFieldContainer[float]
    formula: str
    exact: bool
    products: int
    literals: int
    equals: _containers.RepeatedScalarFieldContainer[str]
    region: str
    def __init__(self, values: _Optional[_Iterable[bool]] = ..., margins: _Optional[_Iterable[float]] = ..., formula: _Optional[str] = ..., exact: _Optional[bool] = ..., products: _Optional[int] = ..., literals: _Optional[int] = ..., equals: _Optional[_Iterable[str]] = ..., region: _Optional[str] = ...) -> None: ...

class HiddenUnit(_message.Message):
    __slots__ = ("weights", "bias", "inequality", "formula", "exact", "dead", "duplicate_of")
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    INEQUALITY_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.RepeatedScalarFieldContainer[float]
    bias: float
    inequality: str
    formula: str
    exact: bool
    dead: bool
    duplicate_of: int
    def __init__(self, weights: _Optional[_Iterable[float]] = ..., bias: _Optional[float] = ..., inequality: _Optional[str] = ..., formula: _Optional[str] = ..., exact: _Optional[bool] = ..., dead: _Optional[bool] = ..., duplicate_of: _Optional[int] = ...) -> None: ...

class SetAliasRequest(_message.Message):
    __slots__ = ("name", "alias", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    alias: str
    version: int
    def __init__(self, name: _Optional[str] = ..., alias: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class SetAliasResponse(_message.Message):
    __slots__ = ("model", "previous_version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    previous_version: int
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., previous_version: _Optional[int] = ...) -> None: ...

class DeleteAliasRequest(_message.Message):
    __slots__ = ("name", "alias")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    name: str
    alias: str
    def __init__(self, name: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class DeleteAliasResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ...) -> None: ...

class TrainingState(_message.Message):
    __slots__ = ("optimizer", "steps", "slots", "row_order", "shuffle_generator")
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    ROW_ORDER_FIELD_NUMBER: _ClassVar[int]
    SHUFFLE_GENERATOR_FIELD_NUMBER: _ClassVar[int]
    optimizer: ComponentRef
    steps: int
    slots: _containers.RepeatedCompositeFieldContainer[OptimizerSlot]
    row_order: _containers.RepeatedScalarFieldContainer[int]
    shuffle_generator: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, optimizer: _Optional[_Union[ComponentRef, _Mapping]] = ..., steps: _Optional[int] = ..., slots: _Optional[_Iterable[_Union[OptimizerSlot, _Mapping]]] = ..., row_order: _Optional[_Iterable[int]] = ..., shuffle_generator: _Optional[_Iterable[int]] = ...) -> None: ...

class OptimizerSlot(_message.Message):
    __slots__ = ("name", "weights", "biases")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    BIASES_FIELD_NUMBER: _ClassVar[int]
    name: str
    weights: _containers.RepeatedCompositeFieldContainer[Tensor]
    biases: _containers.RepeatedCompositeFieldContainer[Tensor]
    def __init__(self, name: _Optional[str] = ..., weights: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ..., biases: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("base", "max_depth", "widths", "activations", "output_activation", "seeds", "target")
    BASE_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    WIDTHS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    base: TrainRequest
    max_depth: int
    widths: _containers.RepeatedScalarFieldContainer[int]
    activations: _containers.RepeatedCompositeFieldContainer[ComponentRef]
    output_activation: ComponentRef
    seeds: int
    target: float
    def __init__(self, base: _Optional[_Union[TrainRequest, _Mapping]] = ..., max_depth: _Optional[int] = ..., widths: _Optional[_Iterable[int]] = ..., activations: _Optional[_Iterable[_Union[ComponentRef, _Mapping]]] = ..., output_activation: _Optional[_Union[ComponentRef, _Mapping]] = ..., seeds: _Optional[int] = ..., target: _Optional[float] = ...) -> None: ...

class SearchEvent(_message.Message):
    __slots__ = ("progress", "candidate", "done")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    progress: SearchProgress
    candidate: SearchCandidate
    done: SearchDone
    def __init__(self, progress: _Optional[_Union[SearchProgress, _Mapping]] = ..., candidate: _Optional[_Union[SearchCandidate, _Mapping]] = ..., done: _Optional[_Union[SearchDone, _Mapping]] = ...) -> None: ...

class SearchProgress(_message.Message):
    __slots__ = ("index", "candidates", "training")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    index: int
    candidates: int
    training: TrainProgress
    def __init__(self, index: _Optional[int] = ..., candidates: _Optional[int] = ..., training: _Optional[_Union[TrainProgress, _Mapping]] = ...) -> None: ...

class SearchCandidate(_message.Message):
    __slots__ = ("index", "hidden", "activation", "parameters", "seeds", "solved", "solved_share", "median_epochs", "p90_epochs", "epochs")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    SOLVED_FIELD_NUMBER: _ClassVar[int]
    SOLVED_SHARE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    P90_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    index: int
    hidden: _containers.RepeatedScalarFieldContainer[int]
    activation: str
    parameters: int
    seeds: int
    solved: int
    solved_share: float
    median_epochs: int
    p90_epochs: int
    epochs: int
    def __init__(self, index: _Optional[int] = ..., hidden: _Optional[_Iterable[int]] = ..., activation: _Optional[str] = ..., parameters: _Optional[int] = ..., seeds: _Optional[int] = ..., solved: _Optional[int] = ..., solved_share: _Optional[float] = ..., median_epochs: _Optional[int] = ..., p90_epochs: _Optional[int] = ..., epochs: _Optional[int] = ...) -> None: ...

class SearchDone(_message.Message):
    __slots__ = ("table", "answer", "model", "candidates", "target")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    table: _containers.RepeatedCompositeFieldContainer[SearchCandidate]
    answer: int
    model: ModelRef
    candidates: int
    target: float
    def __init__(self, table: _Optional[_Iterable[_Union[SearchCandidate, _Mapping]]] = ..., answer: _Optional[int] = ..., model: _Optional[_Union[ModelRef, _Mapping]] = ..., candidates: _Optional[int] = ..., target: _Optional[float] = ...) -> None: ...

class LabelBits(_message.Message):
    __slots__ = ("bits", "shape", "low", "high")
    BITS_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    bits: bytes
    shape: _containers.RepeatedScalarFieldContainer[int]
    low: float
    high: float
    def __init__(self, bits: _Optional[bytes] = ..., shape: _Optional[_Iterable[int]] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...
