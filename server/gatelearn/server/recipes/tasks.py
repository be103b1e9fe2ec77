"""A task source (a task's name and params, or inline table or data rows) as the task a model
records, and a recorded task back into a message's task oneof."""

from __future__ import annotations

from typing import Any

from gatelearn.server.recipes.values import add_rows, params_dict
from gatelearn.server.stores.meta import TaskMeta
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["InlineRows", "fill_task_source", "inline_params", "task_json"]

InlineRows = pb.TruthTable | pb.DataRows
# The task each inline message stands for; it is also the message's field name in a oneof.
_INLINE_TASKS: dict[type[InlineRows], str] = {pb.TruthTable: "table", pb.DataRows: "data"}


def inline_params(source: InlineRows) -> dict[str, Any]:
    """An inline table's or dataset's rows as its task's params: one list of rows per field."""
    return {
        part.name: [list(row.values) for row in getattr(source, part.name)]
        for part in source.DESCRIPTOR.fields
    }


def task_json(source: pb.ComponentRef | InlineRows) -> dict[str, Any]:
    """How a model records its task: a component reference, or inline rows (`table`)."""
    if isinstance(source, pb.ComponentRef):
        return {"name": source.name, "params": params_dict(source.params)}
    return {"name": _INLINE_TASKS[type(source)], "params": inline_params(source), "table": True}


def fill_task_source(task: TaskMeta, target: pb.ExportedModel | pb.TrainRequest) -> None:
    """Fill an export's (or a request's) task oneof from a record's task."""
    if task.table:  # inline rows: the oneof field is named as the task, its fields as params
        inline = getattr(target, task.name)
        for part, values in task.params.items():  # lists of floats, as `inline_params` made
            add_rows(getattr(inline, part), values)
    else:
        target.task.name = task.name
        target.task.params.update(task.params)
