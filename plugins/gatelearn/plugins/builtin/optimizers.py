"""Built-in optimizers. `bind` takes the run's state once (`start_state`: zeros, or a stored
run's to continue it); the step it returns updates the parameters in place and allocates no
arrays. The step may overwrite the gradients. All are elementwise, so the trainer binds each
once to all parameters as one flat array, and all declare their state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from gatelearn.core import Optimizer, Param, Step
from gatelearn.core._calls import Call, run_calls
from gatelearn.core.components import Array
from gatelearn.plugins._markers import hookimpl


def _lr(default: float) -> Param:
    return Param("lr", "float", default, "learning rate (step size)", minimum=0.0, maximum=1e3)


_EPS = Param("eps", "float", 1e-8, "added to the denominator", minimum=0.0, maximum=1.0)


Update = Callable[[Array, Array, Array, Array], None]  # (param, grad, state, scratch)


def _each_array(
    optimizer: Optimizer, params: Sequence[Array], grads: Sequence[Array], update: Update
) -> Step:
    """A step running `update` on each parameter array, with its array of the optimizer's one
    declared state and one scratch array of its own."""
    (states,) = optimizer.start_state(params).arrays.values()
    arrays = [(p, g, s, np.empty_like(p)) for p, g, s in zip(params, grads, states, strict=True)]

    def step() -> None:
        for p, g, state, tmp in arrays:
            update(p, g, state, tmp)

    return step


class GradientDescent(Optimizer):
    """p <- p - lr g. With lr = 1 on sse_half this is article 000's delta rule."""

    name = "gd"
    description = "plain gradient descent"
    elementwise = True
    state_names = ()
    params = (_lr(0.1),)
    lr: float

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        self.start_state(params)
        lr = np.array(self.lr, params[0].dtype)  # a float64 0-d array would upcast float32
        calls: list[Call] = []
        for p, g in zip(params, grads, strict=True):
            if self.lr != 1.0:  # at step 1 (article 000) the scaling is skipped
                calls.append(partial(np.multiply, g, lr, g))
            calls.append(partial(np.subtract, p, g, p))
        # One flat array at step 1 is a single ufunc call: no loop around it.
        return calls[0] if len(calls) == 1 else partial(run_calls, calls)


class Momentum(Optimizer):
    """v <- mu v - lr g; p <- p + v, or p + mu v - lr g with Nesterov's correction."""

    name = "momentum"
    description = "gradient descent with (optionally Nesterov) momentum"
    elementwise = True
    state_names = ("velocity",)
    params = (
        _lr(0.1),
        Param("momentum", "float", 0.9, "velocity decay mu", minimum=0.0, maximum=0.999),
        Param("nesterov", "bool", False, "use Nesterov's look-ahead update"),
    )
    lr: float
    momentum: float
    nesterov: bool

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        lr, mu, nesterov = self.lr, self.momentum, self.nesterov

        def update(p: Array, g: Array, v: Array, tmp: Array) -> None:
            g *= lr
            v *= mu
            v -= g
            if nesterov:
                np.multiply(v, mu, out=tmp)
                tmp -= g
                p += tmp
            else:
                p += v

        return _each_array(self, params, grads, update)


class Adam(Optimizer):
    """m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; p <- p - lr m^ / (sqrt(v^) + eps),
    with m^ = m / (1 - b1^t) and v^ = v / (1 - b2^t) correcting the zero start."""

    name = "adam"
    description = "Adam with bias correction"
    elementwise = True
    # lr 0.05, not the usual 0.01: it is the default recipe's optimizer, and small gate
    # networks solve about four times sooner with it (tests/core/test_defaults.py).
    state_names = ("m", "v")
    nonnegative_state = ("v",)
    params = (
        _lr(0.05),
        Param("beta1", "float", 0.9, "first-moment decay", minimum=0.0, maximum=0.9999),
        Param("beta2", "float", 0.999, "second-moment decay", minimum=0.0, maximum=0.999999),
        _EPS,
    )
    lr: float
    beta1: float
    beta2: float
    eps: float

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        dtype = params[0].dtype
        b1, b2 = np.array(self.beta1, dtype), np.array(self.beta2, dtype)
        rest1, rest2 = np.array(1.0 - self.beta1, dtype), np.array(1.0 - self.beta2, dtype)
        eps = np.array(self.eps, dtype)
        # The bias corrections change every step: two 0-d arrays updated in place.
        m_scale, v_correction = np.zeros((), dtype), np.zeros((), dtype)
        state = self.start_state(params)

        def advance() -> None:
            state.steps += 1
            t = state.steps
            m_scale[...] = self.lr / (1.0 - self.beta1**t)
            v_correction[...] = 1.0 - self.beta2**t

        calls: list[Call] = [advance]
        for p, g, m, v in zip(params, grads, state.arrays["m"], state.arrays["v"], strict=True):
            tmp = np.empty_like(p)
            calls += [
                partial(np.multiply, m, b1, m),
                partial(np.multiply, g, rest1, tmp),
                partial(np.add, m, tmp, m),
                partial(np.multiply, v, b2, v),
                partial(np.square, g, tmp),
                partial(np.multiply, tmp, rest2, tmp),
                partial(np.add, v, tmp, v),
                partial(np.divide, v, v_correction, tmp),
                partial(np.sqrt, tmp, tmp),
                partial(np.add, tmp, eps, tmp),
                partial(np.divide, m, tmp, tmp),
                partial(np.multiply, tmp, m_scale, tmp),
                partial(np.subtract, p, tmp, p),
            ]
        return partial(run_calls, calls)


class Rprop(Optimizer):
    """Rprop (the iRprop- variant): each weight has its own step size, grown by eta_plus while
    its gradient keeps its sign and cut by eta_minus when the sign flips (that update is then
    skipped); p <- p - sign(g) step. Only the gradients' signs count, which suits small
    full-batch problems, where adam's steps shrink with the gradients."""

    name = "rprop"
    description = "resilient backpropagation (iRprop-): per-weight step sizes, full batch"
    elementwise = True
    state_names = ("previous_gradient", "step_size")
    nonnegative_state = ("step_size",)
    params = (
        Param("lr", "float", 0.05, "every weight's first step size", minimum=0.0, maximum=1e3),
        Param(
            "eta_plus", "float", 1.2, "step growth while a sign holds", minimum=1.0, maximum=10.0
        ),
        Param("eta_minus", "float", 0.5, "step cut when a sign flips", minimum=0.0, maximum=1.0),
        Param("step_min", "float", 1e-6, "smallest step size", minimum=0.0, maximum=1e3),
        Param("step_max", "float", 1.0, "largest step size", minimum=0.0, maximum=1e3),
    )
    lr: float
    eta_plus: float
    eta_minus: float
    step_min: float
    step_max: float

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        state = self.start_state(params)
        if (
            state.steps == 0
        ):  # a fresh run: every step size starts at lr (a resumed one keeps its own)
            for step_size in state.arrays["step_size"]:
                step_size.fill(self.lr)
        dtype = params[0].dtype
        grow, cut = np.array(self.eta_plus, dtype), np.array(self.eta_minus, dtype)
        low, high = np.array(self.step_min, dtype), np.array(self.step_max, dtype)

        def advance() -> None:
            state.steps += 1

        calls: list[Call] = [advance]
        arrays = zip(
            params, grads, state.arrays["previous_gradient"], state.arrays["step_size"], strict=True
        )
        for p, g, previous, step_size in arrays:
            tmp = np.empty_like(p)
            held, flipped = np.empty(p.shape, bool), np.empty(p.shape, bool)
            calls += [
                partial(np.multiply, g, previous, tmp),
                partial(np.greater, tmp, 0.0, held),
                partial(np.less, tmp, 0.0, flipped),
                partial(np.multiply, step_size, grow, step_size, where=held),
                partial(np.multiply, step_size, cut, step_size, where=flipped),
                partial(np.clip, step_size, low, high, step_size),
                partial(np.copyto, g, 0.0, where=flipped),
                partial(np.copyto, previous, g),
                partial(np.sign, g, tmp),
                partial(np.multiply, tmp, step_size, tmp),
                partial(np.subtract, p, tmp, p),
            ]
        return partial(run_calls, calls)


def _scaled_step(p: Array, g: Array, s: Array, tmp: Array, lr: float, eps: float) -> None:
    """p <- p - lr g / (sqrt(s) + eps): the update rmsprop and adagrad share."""
    np.sqrt(s, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    p -= tmp


class RmsProp(Optimizer):
    """s <- rho s + (1-rho) g^2; p <- p - lr g / (sqrt(s) + eps)."""

    name = "rmsprop"
    description = "RMSProp: steps scaled by a running mean of squared gradients"
    elementwise = True
    state_names = ("mean_square",)
    nonnegative_state = ("mean_square",)
    params = (
        _lr(0.01),
        Param(
            "rho",
            "float",
            0.9,
            "decay of the squared-gradient average",
            minimum=0.0,
            maximum=0.9999,
        ),
        _EPS,
    )
    lr: float
    rho: float
    eps: float

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        lr, rho, eps = self.lr, self.rho, self.eps

        def update(p: Array, g: Array, s: Array, tmp: Array) -> None:
            s *= rho
            np.square(g, out=tmp)
            tmp *= 1.0 - rho
            s += tmp
            _scaled_step(p, g, s, tmp, lr, eps)

        return _each_array(self, params, grads, update)


class AdaGrad(Optimizer):
    """s <- s + g^2; p <- p - lr g / (sqrt(s) + eps)."""

    name = "adagrad"
    description = "AdaGrad: steps scaled by accumulated squared gradients"
    elementwise = True
    state_names = ("sum_square",)
    nonnegative_state = ("sum_square",)
    params = (_lr(0.1), _EPS)
    lr: float
    eps: float

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        lr, eps = self.lr, self.eps

        def update(p: Array, g: Array, s: Array, tmp: Array) -> None:
            np.square(g, out=tmp)
            s += tmp
            _scaled_step(p, g, s, tmp, lr, eps)

        return _each_array(self, params, grads, update)


@hookimpl
def gatelearn_optimizers() -> list[type[Optimizer]]:
    return [GradientDescent, Momentum, Adam, RmsProp, AdaGrad, Rprop]
