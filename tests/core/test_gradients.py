"""The training engine's gradients against finite differences of the loss.

The analytic gradients are the ones the real engine hands its optimizer: a recording optimizer
is bound in place of a real one and one epoch is trained. The numeric ones differentiate
`loss.value(network.predict(x))`, so the check spans every activation's derivative, every
loss's gradient, biases, the backward pass through 0 to 2 hidden layers, and both of the
engine's product paths (P = 1 runs on plain matrices, P > 1 contracts over the population).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from gatelearn.core import (
    Activation,
    Dataset,
    Loss,
    Network,
    Optimizer,
    Step,
    TrainConfig,
    initialize,
    train,
)
from gatelearn.core.components import Array
from gatelearn.plugins import Registry

# Every built-in activation but `sign`, whose derivative is a surrogate. Parameters are set
# off their defaults so a derivative that is only right at the default is caught.
DIFFERENTIABLE: dict[str, dict[str, Any]] = {
    "sigmoid": {},
    "tanh": {},
    "relu": {},
    "leaky_relu": {"alpha": 0.2},
    "elu": {"alpha": 0.7},
    "softplus": {},
    "swish": {},
    "linear": {},
}
LOSSES = ("mse", "sse_half", "bce")
HIDDEN_WIDTHS = (4, 3)  # a net with k hidden layers uses the first k
N_INPUTS, N_OUTPUTS, ROWS = 3, 2, 5

STEP = 1e-4  # finite-difference step
# relu and leaky_relu have a kink at 0 and elu a jump in f''. Their pre-activations are kept
# this far from 0; moving one parameter by 2 STEP moves any pre-activation by far less
# (inputs and weights are O(1)), so no difference straddles a kink.
KINKED = frozenset({"relu", "leaky_relu", "elu"})
KINK_CLEARANCE = 0.01
RTOL = 1e-6
# Relative errors are taken against max(|analytic|, |numeric|, FLOOR max(1, |L|)): the
# five-point difference carries a round-off of about 1e-16 |L| / STEP, which must not count
# against entries near zero.
FLOOR = 1e-4


class GradientRecorder(Optimizer):
    """Keeps a copy of the gradients at every step and leaves the parameters alone."""

    name = "gradient_recorder"
    description = "records gradients instead of applying them"

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        self.bound = list(params)
        self.steps: list[list[Array]] = []

        def step() -> None:
            self.steps.append([grad.copy() for grad in grads])

        return step


def engine_gradients(
    network: Network, data: Dataset, loss: Loss, weight_decay: float = 0.0
) -> list[tuple[Array, Array]]:
    """Each parameter array of `network` with the gradient the engine computes for it."""
    recorder = GradientRecorder()
    result = train(
        network,
        data,
        loss,
        recorder,
        TrainConfig(epochs=1, stop_when_solved=False, weight_decay=weight_decay),
    )
    assert result.epochs == 1
    assert len(recorder.steps) == 1
    layers = network.layers
    params = [layer.weights for layer in layers]
    params += [layer.bias for layer in layers if layer.bias is not None]
    # The optimizer is bound to every parameter, weights first, then biases; during the run
    # they are views the trainer hands back into the network's arrays afterwards.
    assert len(recorder.bound) == len(params), "the optimizer must get every param"
    for bound, param in zip(recorder.bound, params, strict=True):
        np.testing.assert_array_equal(bound, param)
    grads = dict(zip(map(id, params), recorder.steps[0], strict=True))
    return [
        (array, grads[id(array)])
        for layer in layers
        for array in (layer.weights, layer.bias)
        if array is not None
    ]


def pre_activations(network: Network, inputs: Array) -> list[Array]:
    """Every layer's z = a W + b, for checking the data keeps clear of kinks."""
    a, zs = inputs, []
    for layer in network.layers:
        z = np.einsum("ri,iop->rop" if a.ndim == 2 else "rip,iop->rop", a, layer.weights)
        if layer.bias is not None:
            z = z + layer.bias
        a = np.empty_like(z)
        layer.activation.forward(z, a)
        zs.append(z)
    return zs


def member_losses(network: Network, data: Dataset, loss: Loss) -> Array:
    return loss.value(network.predict(data.inputs), data.targets[:, :, None])


def numeric_gradient(array: Array, losses: Callable[[], Array]) -> Array:
    """d(loss of member p)/d(array[..., p]) by the five-point central difference.

    An entry is moved in every member at once: each member's loss depends on its own
    parameters only (test_member_losses_are_independent checks that).
    """
    grad = np.empty_like(array)
    for index in np.ndindex(array.shape[:-1]):
        saved = array[index].copy()
        values = {}
        for k in (-2, -1, 1, 2):
            array[index] = saved + k * STEP
            values[k] = losses()
        array[index] = saved
        grad[index] = (values[-2] - 8 * values[-1] + 8 * values[1] - values[2]) / (12 * STEP)
    return grad


def build_case(
    registry: Registry,
    hidden: str,
    loss_name: str,
    population: int,
    bias: bool,
    hidden_layers: int,
) -> tuple[Network, Dataset, Loss]:
    """A random network and data set whose pre-activations keep clear of any kink.

    Weights are N(0, 0.5^2) so sigmoid outputs stay away from 0 and 1, where the loss's own
    round-off (log1p(-y) of a y near 1) would swamp the finite differences.
    """
    if loss_name == "bce":
        output = "sigmoid"  # bce needs outputs in (0, 1)
    elif hidden_layers == 0:
        output = hidden  # no hidden layer: test the activation at the output instead
    else:  # another activation at the output, so every one is also checked there
        names = list(DIFFERENTIABLE)
        output = names[(names.index(hidden) + 1) % len(names)]

    def activation(name: str) -> Activation:
        component: Activation = registry.build("activation", name, DIFFERENTIABLE[name])
        return component

    sizes = [N_INPUTS, *HIDDEN_WIDTHS[:hidden_layers], N_OUTPUTS]
    activations = [activation(hidden) for _ in range(hidden_layers)] + [activation(output)]
    initializer = registry.build("initializer", "normal", {"std": 0.5})
    for attempt in range(1000):
        rng = np.random.default_rng(attempt)
        network = initialize(
            sizes, activations, initializer, bias=bias, seed=1000 * attempt, population=population
        )
        inputs = rng.normal(size=(ROWS, N_INPUTS))
        zs = pre_activations(network, inputs)
        if all(
            np.abs(z).min() > KINK_CLEARANCE
            for z, layer in zip(zs, network.layers, strict=True)
            if layer.activation.name in KINKED
        ):
            break
    else:
        pytest.fail("no draw kept the kinked pre-activations clear of 0")
    if loss_name == "bce":
        targets = rng.integers(0, 2, size=(ROWS, N_OUTPUTS)).astype(np.float64)
    else:
        targets = rng.uniform(-1.0, 2.0, size=(ROWS, N_OUTPUTS))
    loss: Loss = registry.build("loss", loss_name)
    return network, Dataset(inputs, targets), loss


def test_every_differentiable_builtin_activation_is_checked(registry: Registry) -> None:
    builtin = {
        entry.name
        for entry in registry.entries("activation")
        if entry.plugin.startswith("gatelearn.plugins.builtin.")
    }
    assert builtin - {"sign"} == set(DIFFERENTIABLE)


@pytest.mark.parametrize("hidden_layers", [0, 1, 2])
@pytest.mark.parametrize("bias", [False, True], ids=["no_bias", "bias"])
@pytest.mark.parametrize("population", [1, 3], ids=["P1", "P3"])
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("hidden", list(DIFFERENTIABLE))
def test_gradients_match_finite_differences(
    registry: Registry,
    hidden: str,
    loss_name: str,
    population: int,
    bias: bool,
    hidden_layers: int,
) -> None:
    network, data, loss = build_case(registry, hidden, loss_name, population, bias, hidden_layers)
    pairs = engine_gradients(network, data, loss)
    floor = FLOOR * np.maximum(1.0, np.abs(member_losses(network, data, loss)))
    largest = 0.0
    for array, analytic in pairs:
        numeric = numeric_gradient(array, lambda: member_losses(network, data, loss))
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
        error = np.abs(analytic - numeric) / scale
        assert error.max() <= RTOL, (
            f"shape {array.shape}: worst relative error {error.max():.2e}\n"
            f"analytic {analytic.ravel()}\nnumeric {numeric.ravel()}"
        )
        largest = max(largest, float(np.abs(numeric).max()))
    assert largest > 1e-2, "degenerate case: every gradient is (nearly) zero"


@pytest.mark.parametrize("hidden_layers", [0, 2])
def test_member_losses_are_independent(registry: Registry, hidden_layers: int) -> None:
    """Changing one member's parameters changes that member's loss and no other's."""
    network, data, loss = build_case(registry, "tanh", "mse", 4, True, hidden_layers)
    before = member_losses(network, data, loss)
    rng = np.random.default_rng(5)
    for layer in network.layers:
        assert layer.bias is not None
        for array in (layer.weights, layer.bias):
            array[..., 2] += rng.normal(size=array.shape[:-1])
    after = member_losses(network, data, loss)
    assert after[2] != before[2]
    np.testing.assert_array_equal(np.delete(after, 2), np.delete(before, 2))


def test_weight_decay_adds_its_term_to_weight_gradients_only(registry: Registry) -> None:
    network, data, loss = build_case(registry, "sigmoid", "sse_half", 2, True, 1)
    twin = network.copy()
    plain = engine_gradients(twin, data, loss)
    decay = 0.3
    decayed = engine_gradients(network, data, loss, weight_decay=decay)
    weights = {id(layer.weights) for layer in twin.layers}
    for (array, grad), (_, decayed_grad) in zip(plain, decayed, strict=True):
        expected = grad + decay * array if id(array) in weights else grad
        np.testing.assert_allclose(decayed_grad, expected, rtol=1e-12, atol=1e-15)
