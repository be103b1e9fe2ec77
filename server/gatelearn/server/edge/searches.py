"""Search requests checked completely, and a search's rows and end as messages.

A search is checked before any training starts: its own fields, the shared training (`base`)
through Train's own checks on the smallest candidate, every hidden activation on a one-layer
candidate, the largest candidate against the size limits, and the total work against
max_search_network_epochs. Errors name the SearchRequest's fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from gatelearn.core import ParamError
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Checked, Recipe
from gatelearn.server.errors import InvalidRequest
from gatelearn.server.limits import Limits
from gatelearn.server.recipes.requests import check_request
from gatelearn.server.stores.meta import SearchMeta, SearchRow
from gatelearn.server.training.search import (
    MAX_CANDIDATES,
    Candidate,
    SearchPlan,
    candidate_count,
    candidates,
)
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["DEFAULT_WIDTHS", "MAX_ACTIVATIONS", "check_search", "search_candidate", "search_done"]

DEFAULT_MAX_DEPTH = 2
DEFAULT_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16)
DEFAULT_SEEDS = 100
DEFAULT_TARGET = 0.95
# Hidden activations one search tries (more than the 9 built-in ones): each is checked with the
# whole base, inline rows included, even where no candidate uses it (max_depth 0).
MAX_ACTIVATIONS = 16
_DEFAULTS = Recipe()

# The fields of `base` a search sets itself, and those it cannot use: it tries many networks
# (one set of initial weights fits one). A request id is Train's: it marks the answer's save.
_SET_BY_SEARCH = ("hidden", "activations", "population")
_NOT_USED = ("weights", "start_from")


def _renamed(field: str, renames: Mapping[str, str]) -> str:
    """The SearchRequest field a candidate TrainRequest's `field` came from."""
    for prefix, replacement in renames.items():
        if field == prefix or field.startswith((f"{prefix}.", f"{prefix}[")):
            return replacement + field[len(prefix) :]
    return f"base.{field}"


def _checked(
    request: pb.TrainRequest, registry: Registry, limits: Limits, renames: Mapping[str, str]
) -> Checked:
    """Train's checks on one candidate's request, errors naming the search's fields; the
    candidate's checked recipe."""
    try:
        checked, _ = check_request(request, registry, limits)
    except InvalidRequest as error:
        raise InvalidRequest(_renamed(error.field, renames), error.detail) from None
    except ParamError as error:
        raise InvalidRequest(_renamed(error.param, renames), error.message) from None
    return checked


def _check_base(base: pb.TrainRequest) -> None:
    for name in (*_SET_BY_SEARCH, *_NOT_USED):
        given = base.HasField(name) if name in ("hidden", "weights") else getattr(base, name)
        if given:
            why = "set by the search itself" if name in _SET_BY_SEARCH else "not used by Search"
            raise InvalidRequest(f"base.{name}", f"{why}; leave it unset")
    if base.options.HasField("stop_when_solved") and not base.options.stop_when_solved:
        raise InvalidRequest(
            "base.options.stop_when_solved",
            "a search counts solved seeds, so solving must be checked",
        )
    if base.initializer.name == "explicit":
        raise InvalidRequest(
            "base.initializer", "'explicit' weights fit one network; a search tries many"
        )


def _widths(request: pb.SearchRequest, limits: Limits) -> tuple[int, ...]:
    for index, width in enumerate(request.widths):
        if not 1 <= width <= limits.max_units:
            raise InvalidRequest(
                f"widths[{index}]",
                f"must be 1 to {limits.max_units} (limit max_units), got {width}",
            )
    return tuple(sorted(set(request.widths))) or DEFAULT_WIDTHS


def _max_depth(request: pb.SearchRequest, limits: Limits) -> int:
    depth = request.max_depth if request.HasField("max_depth") else DEFAULT_MAX_DEPTH
    if depth > limits.max_layers - 1:
        raise InvalidRequest(
            "max_depth",
            f"at most {limits.max_layers - 1} (limit max_layers = "
            f"{limits.max_layers}), got {depth}",
        )
    return depth


def _target(request: pb.SearchRequest) -> float:
    target = request.target if request.HasField("target") else DEFAULT_TARGET
    if not 0 < target <= 1:  # NaN fails too
        raise InvalidRequest("target", f"must be above 0 and at most 1, got {target}")
    return target


def _check_count(count: int) -> None:
    """Refuse a space too large to list (its candidates are listed before any training)."""
    if count > MAX_CANDIDATES:
        raise InvalidRequest(
            "widths",
            f"the space holds {count} candidates (max_depth, widths and activations "
            f"together); at most {MAX_CANDIDATES}",
        )


def _check_work(count: int, seeds: int, epochs: int, limits: Limits) -> None:
    """Refuse a search whose whole space would be more work than the limit allows."""
    work = count * seeds * max(epochs, 1)
    if work > limits.max_search_network_epochs:
        raise InvalidRequest(
            "seeds",
            f"{count} candidates x {seeds} seeds x {epochs} epochs = "
            f"{work} network-epochs; at most "
            f"{limits.max_search_network_epochs} (limit "
            f"max_search_network_epochs)",
        )


def check_search(request: pb.SearchRequest, registry: Registry, limits: Limits) -> SearchPlan:
    """Check a Search request completely, before any training; the plan to run."""
    base = request.base
    _check_base(base)
    max_depth, widths, target = (
        _max_depth(request, limits),
        _widths(request, limits),
        _target(request),
    )
    if len(request.activations) > MAX_ACTIVATIONS:
        raise InvalidRequest(
            "activations", f"at most {MAX_ACTIVATIONS}, got {len(request.activations)}"
        )
    hidden = list(request.activations) or [pb.ComponentRef(name=_DEFAULTS.hidden_activation)]
    for index, ref in enumerate(hidden):
        if not ref.name:
            raise InvalidRequest(f"activations[{index}].name", "required")
    output = (
        request.output_activation
        if request.HasField("output_activation")
        else pb.ComponentRef(name=_DEFAULTS.output_activation)
    )
    if not output.name:
        raise InvalidRequest("output_activation.name", "required")
    count = candidate_count(max_depth, len(widths), len(hidden))
    _check_count(count)  # before the checks below, which take a moment per activation
    seeds = request.seeds or DEFAULT_SEEDS
    shared = pb.TrainRequest()
    shared.CopyFrom(base)
    shared.population = seeds
    probe = SearchPlan(shared, (), output, target)
    renames = {
        "population": "seeds",
        "activations[1]": "output_activation",
        "hidden.units": "widths",
    }
    probe_checked = _checked(
        probe.request(Candidate((), None, 0)),
        registry,
        limits,
        {**renames, "activations[0]": "output_activation"},
    )
    sizes = probe_checked.sizes
    for index, ref in enumerate(hidden):
        _checked(
            probe.request(Candidate((widths[0],), ref, 0)),
            registry,
            limits,
            {**renames, "activations[0]": f"activations[{index}]"},
        )
    epochs = base.options.epochs if base.options.HasField("epochs") else probe_checked.epoch_limit
    _check_work(count, seeds, epochs, limits)
    space = candidates(
        sizes[0],
        sizes[-1],
        shared.bias if shared.HasField("bias") else True,
        max_depth,
        widths,
        tuple(hidden),
    )
    _checked(probe.request(space[-1]), registry, limits, renames)  # the largest
    return SearchPlan(shared, tuple(space), output, target)


def search_candidate(row: SearchRow) -> pb.SearchCandidate:
    """A row of the search table as the proto's SearchCandidate."""
    message = pb.SearchCandidate(
        index=row.index,
        hidden=row.hidden,
        activation=row.activation,
        parameters=row.parameters,
        seeds=row.seeds,
        solved=row.solved,
        solved_share=row.solved / row.seeds,
        epochs=row.epochs,
    )
    if row.median_epochs is not None and row.p90_epochs is not None:
        message.median_epochs = row.median_epochs
        message.p90_epochs = row.p90_epochs
    return message


def search_done(search: SearchMeta, model: pb.ModelRef | None) -> pb.SearchDone:
    """A search's end (or what a model stores of the search that chose it) as SearchDone."""
    done = pb.SearchDone(
        table=[search_candidate(row) for row in search.rows],
        candidates=search.candidates,
        target=search.target,
    )
    if search.answer is not None:
        done.answer = search.answer
    if model is not None:
        done.model.CopyFrom(model)
    return done
