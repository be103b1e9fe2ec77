"""The training service: a checked Train request run on a worker process until it ends.

It knows no gRPC. `accept` makes a request ready to run: for a warm start it checks it completely
and makes it the stored version's recipe with the request's settings on top (`warm`); a cold
start is checked by its worker, which refuses it with what is wrong before it builds anything,
and by the server only where that must come before another error (a full pool or store).
`train` yields the worker's progress messages as they come and, when
the job completed, the saved model; it notices a caller gone (`is_active()` false), a passed
deadline or a shutdown within `CANCEL_POLL` seconds, and saves the model only when the job
completed.
`search` runs a search's candidate trainings one after another on one worker the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import queue
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TypeVar

from gatelearn.plugins import Registry
from gatelearn.server.checks import retry_of
from gatelearn.server.errors import (
    AtCapacity,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidRequest,
    Unavailable,
    from_json,
)
from gatelearn.server.limits import Limits
from gatelearn.server.models.references import parse_reference
from gatelearn.server.recipes.requests import check_request, check_request_id
from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import AliasNotFoundError, RequestSavedError, StoreFullError
from gatelearn.server.stores.meta import ModelMeta, SearchMeta, SearchRow
from gatelearn.server.training.frames import Kind, pack_job, unpack_record
from gatelearn.server.training.jobs import CANCEL_POLL
from gatelearn.server.training.pool import Worker, WorkerPool
from gatelearn.server.training.search import CandidateProgress, SearchPlan, search_row
from gatelearn.server.training.warm import (
    check_same_network,
    start_blob,
    warm_request,
)
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["CANCEL_GRACE", "SearchEvent", "Searched", "Trained", "TrainingService"]

CANCEL_GRACE = 0.3  # seconds a worker gets to stop a cancelled job before it is killed
_Event = TypeVar("_Event")


@dataclass(frozen=True)
class Trained:
    """A completed training's saved model: its name, version and metadata."""

    name: str
    version: int
    meta: ModelMeta


@dataclass(frozen=True)
class Searched:
    """A finished search: its table and answer, and the answer's saved model (None: no
    candidate reached the target, nothing saved)."""

    search: SearchMeta
    trained: Trained | None


SearchEvent = CandidateProgress | SearchRow | Searched  # what `search` yields


def _cancel(worker: Worker) -> bool:
    """Stop the worker's job; True when it stopped in time and can take the next one."""
    if not worker.send(Kind.CANCEL):
        return False
    worker.hurry()
    deadline = time.monotonic() + CANCEL_GRACE
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = worker.frames.get(timeout=left)
        except queue.Empty:
            break
        if frame is None:
            return False
        if frame[0] in (Kind.DONE, Kind.FAILED):
            return True
    return False


@dataclass(frozen=True)
class Accepted:
    """A Train request ready to run: the complete request, the bytes its worker starts from
    (empty for a cold start), and its check, which raises what is wrong with it (a no-op for a
    warm start, checked when accepted): run where that must come before another error, as the
    worker runs the same check on every job."""

    request: pb.TrainRequest
    start: bytes = b""
    check: Callable[[], object] = lambda: None


@dataclass
class _Job:
    """A Train call's work on a worker; `reusable` says whether the worker ended it cleanly."""

    worker: Worker
    request: pb.TrainRequest
    start: bytes = b""  # the weights and run state a warm start begins from
    reusable: bool = False
    released: bool = False

    @property
    def payload(self) -> bytes:
        return self.request.SerializeToString()

    def release(self, pool: WorkerPool) -> None:
        """Give the worker back to `pool`, once."""
        if not self.released:
            self.released = True
            pool.release(self.worker, self.reusable)


class TrainingService:
    """Runs trainings on the worker pool and saves what they make in the store."""

    def __init__(self, store: Store, limits: Limits, pool: WorkerPool, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.limits = limits
        self.pool = pool
        self._shutdown_at = float("inf")  # monotonic time at which running trainings stop

    def shut_down_after(self, grace: float) -> None:
        """Start no new training from now (UNAVAILABLE); let running ones go on for `grace`
        seconds more, then cancel them."""
        self._shutdown_at = time.monotonic() + grace

    def _start_version(self, reference: str) -> tuple[str, int]:
        """The (name, version) `start_from` names: NAME (the latest), NAME:VERSION or
        NAME@ALIAS (looked up now)."""
        name, version, alias = parse_reference(reference, 0, "start_from")
        if not alias:
            return name, version
        aliases = self.store.aliases(name)
        if alias not in aliases:
            raise AliasNotFoundError(name, alias)
        return name, aliases[alias]

    def accept(self, request: pb.TrainRequest) -> Accepted:
        """`request` made ready to run. A warm start is checked now, becoming the stored
        version's recipe with `request`'s settings on top, starting from that version's weights
        and run state. A cold start's check (0.05-0.25 ms) is left to its worker, and to `train`
        before it answers with any other error."""
        if not request.start_from:
            return Accepted(
                request, check=functools.partial(check_request, request, self.registry, self.limits)
            )
        parent = self.store.load(*self._start_version(request.start_from))
        merged = warm_request(request, parent, self.registry)
        checked, _ = check_request(merged, self.registry, self.limits)
        check_same_network(checked, merged, parent)
        return Accepted(merged, start_blob(parent, same_rows=request.WhichOneof("source") is None))

    def train(
        self, accepted: Accepted, is_active: Callable[[], bool]
    ) -> Iterator[pb.TrainProgress | Trained]:
        """Run an accepted request on a worker; `is_active` says whether anyone still waits for
        the result. A retry of a request id already saved yields that version at once, without
        taking a worker. What is wrong with the request is raised before any other error: the
        worker's refusal, or this server's check where the call fails before a worker has it."""
        request = accepted.request
        if request.request_id:
            check_request_id(request.request_id)  # before it is looked up
            if saved := self.store.saved_for(request.request_id):
                accepted.check()
                yield self._trained(*retry_of(request.request_id, request.model_name, saved))
                return
        try:
            yield from self._on_worker(
                request, lambda job: self._run(job, is_active), accepted.start
            )
        except (StoreFullError, AtCapacity, Unavailable):
            accepted.check()  # what is wrong with the request comes first
            raise

    def search(self, plan: SearchPlan, is_active: Callable[[], bool]) -> Iterator[SearchEvent]:
        """Run a checked search (`edge.searches.check_search`): its candidates in size order on
        one worker, each as one population, until one reaches the target; save its best member
        with the table."""
        first = plan.request(plan.candidates[0])
        if first.request_id and (saved := self.store.saved_for(first.request_id)):
            retried = retry_of(first.request_id, first.model_name, saved, "base.request_id")
            trained = self._trained(*retried)
            if trained.meta.search is not None:  # else the id marked a Train: a reuse
                yield Searched(trained.meta.search, trained)
                return
            raise InvalidRequest(
                "base.request_id",
                f"{first.request_id!r} already saved {saved[0]}:{saved[1]} by a Train, not "
                "a Search; a new request takes a new id",
            )
        yield from self._on_worker(first, lambda job: self._search(job, plan, is_active))

    def _on_worker(
        self,
        request: pb.TrainRequest,
        work: Callable[[_Job], Iterator[_Event]],
        start: bytes = b"",
    ) -> Iterator[_Event]:
        """Take a worker for `work` on a job starting with `request` (and a warm start's
        `start`); a job the caller drops is stopped cleanly, and the worker always goes back to
        the pool."""
        if self._shutdown_at != float("inf"):  # a training begun now would only be cancelled
            raise Unavailable("the server is shutting down and starts no new training; try again")
        if self.store.count() >= self.limits.max_models:  # early, not to waste a training;
            raise StoreFullError(self.limits.max_models)  # the save checks exactly
        worker = self.pool.acquire()
        if worker is None:
            raise AtCapacity(
                f"{self.limits.max_concurrent_trainings} trainings are "
                f"running (limit max_concurrent_trainings); try again later"
            )
        job = _Job(worker, request, start)
        try:
            yield from work(job)
        except GeneratorExit:
            # The caller dropped the stream (the client cancelled between events): stop the
            # job cleanly so the worker can be reused.
            if not job.released:
                job.reusable = _cancel(job.worker)
            raise
        finally:
            job.release(self.pool)

    def _run(
        self, job: _Job, is_active: Callable[[], bool]
    ) -> Iterator[pb.TrainProgress | Trained]:
        """Train the job's request, relaying its progress, and save what it makes."""
        give_up = time.monotonic() + self.limits.max_training_seconds
        payload = yield from self._relay(job, is_active, give_up, lambda progress: progress)
        meta_text, blob = unpack_record(payload)
        meta = ModelMeta.from_json(json.loads(meta_text))
        trained = self._save(job, meta, blob, is_active, meta_text)
        job.release(self.pool)  # free the slot before the client can ask for the next
        yield trained

    def _search(
        self, job: _Job, plan: SearchPlan, is_active: Callable[[], bool]
    ) -> Iterator[SearchEvent]:
        """Train the plan's candidates one after another until one reaches its target."""
        give_up = time.monotonic() + self.limits.max_training_seconds  # the whole search
        rows: list[SearchRow] = []
        for index, candidate in enumerate(plan.candidates):
            job.request = plan.request(candidate)
            payload = yield from self._relay(
                job, is_active, give_up, functools.partial(CandidateProgress, index)
            )
            meta_text, blob = unpack_record(payload)
            meta = ModelMeta.from_json(json.loads(meta_text))
            rows.append(search_row(index, candidate, meta.member_solved_epochs, meta.epochs))
            yield rows[-1]
            if rows[-1].solved / rows[-1].seeds >= plan.target:
                search = plan.meta(rows, answer=index)
                trained = self._save(job, dataclasses.replace(meta, search=search), blob, is_active)
                job.release(self.pool)
                yield Searched(search, trained)
                return
        job.release(self.pool)
        yield Searched(plan.meta(rows, answer=None), None)

    def _relay(
        self,
        job: _Job,
        is_active: Callable[[], bool],
        give_up: float,
        wrap: Callable[[pb.TrainProgress], _Event],
    ) -> Generator[_Event, None, bytes]:
        """Hand the job's request to its worker and relay its progress (through `wrap`) until
        it ends; return the DONE frame's payload (a request the worker refuses raises what is
        wrong with it). Stops the job at `give_up` (monotonic), at shutdown, or when nobody
        waits any more."""
        job.reusable = False
        if not job.worker.send(Kind.TRAIN, pack_job(job.payload, job.start)):
            raise Unavailable("a training worker was restarting; try again")
        while True:
            now = time.monotonic()
            if now > give_up:
                job.reusable = _cancel(job.worker)
                raise DeadlineExceeded(
                    f"training ran longer than "
                    f"{self.limits.max_training_seconds} s (limit "
                    f"max_training_seconds); nothing was saved"
                )
            if now > self._shutdown_at:
                job.reusable = _cancel(job.worker)
                raise Cancelled(
                    "the server is shutting down: training cancelled; nothing was saved"
                )
            try:
                frame = job.worker.frames.get(timeout=CANCEL_POLL)
            except queue.Empty:
                if not is_active():
                    job.reusable = _cancel(job.worker)
                    raise Cancelled("training cancelled; nothing was saved") from None
                continue
            if frame is None:
                raise FailedPrecondition(
                    f"the training worker {job.worker.how_it_ended()}; nothing was saved"
                )
            kind, payload = frame
            if kind == Kind.PROGRESS:
                yield wrap(pb.TrainProgress.FromString(payload))
                continue
            job.reusable = True
            if kind == Kind.FAILED:
                raise from_json(json.loads(payload))
            return payload

    def _save(
        self,
        job: _Job,
        meta: ModelMeta,
        blob: bytes,
        is_active: Callable[[], bool],
        meta_text: str = "",
    ) -> Trained:
        """Save the job's model (its request's name, request id and request bytes); `meta_text`
        is `meta.to_text()` as the worker sent it, when `meta` is what it sent."""
        if not is_active():
            raise Cancelled("training cancelled; nothing was saved")
        name = job.request.model_name
        try:
            version = self.store.save_packed(
                name,
                meta,
                blob,
                job.payload,
                max_models=self.limits.max_models,
                request_id=job.request.request_id,
                meta_text=meta_text,
            )
        except RequestSavedError as saved:  # a concurrent attempt of this request saved first
            attempt = (saved.name, saved.version)
            return self._trained(*retry_of(job.request.request_id, name, attempt))
        return Trained(name, version, meta)

    def _trained(self, name: str, version: int) -> Trained:
        """A version saved earlier, as a training that just saved it would report it."""
        return Trained(name, version, self.store.load(name, version).meta)
