"""The hooks a gatelearn plugin can implement: one registration hook per kind of component.

Each hook takes no arguments and returns a list of component classes (subclasses of the base
classes in `gatelearn.core`). The host calls every hook once at start-up and keys the classes
by their `name`; two classes of one kind with the same name stop start-up with an error naming
both plugins. Built-in components register through these same hooks.
"""

from __future__ import annotations

from gatelearn.core import Activation, Initializer, Loss, Optimizer, Task
from gatelearn.plugins._markers import hookspec


# ---------------------------------------------------------------- network parts
@hookspec
def gatelearn_activations() -> list[type[Activation]]:
    """Register activation functions.

    :returns: `Activation` subclasses; each gives f and f' on whole arrays, writing into `out`.
    """


@hookspec
def gatelearn_initializers() -> list[type[Initializer]]:
    """Register weight initializers.

    :returns: `Initializer` subclasses; each fills one layer's weights and bias from a seeded
        generator.
    """


# ---------------------------------------------------------------- training
@hookspec
def gatelearn_losses() -> list[type[Loss]]:
    """Register loss functions.

    :returns: `Loss` subclasses; each gives a per-member value and the gradient with respect
        to the network output.
    """


@hookspec
def gatelearn_optimizers() -> list[type[Optimizer]]:
    """Register optimizers.

    :returns: `Optimizer` subclasses; each binds its state to a run's parameters once and
        returns an in-place step.
    """


# ---------------------------------------------------------------- problems
@hookspec
def gatelearn_tasks() -> list[type[Task]]:
    """Register tasks: gates (`Gate` subclasses, enumerated truth tables) or sampled tasks.

    :returns: `Task` subclasses.
    """
