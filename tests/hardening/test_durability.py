"""Durability: a server killed with SIGKILL at random moments loses nothing it acknowledged.

Each round starts `gatelearn serve` as a separate process on the same data directory, lets a few
client threads train and import models concurrently, and kills the server (SIGKILL) after a
seeded random delay, often in the middle of a training. Before each kill the test records every
reply that was fully delivered (TrainOutcome or ImportModel's ModelRef) and what that model
predicted on its task's rows. After each kill it checks that the training workers died with
their server and that the SQLite file passes `PRAGMA integrity_check`; after each restart it
checks that every acknowledged model is there with the same version and predicts bitwise the
same, that every listed version loads completely (GetModel, Predict, ExportModel), and that
version numbers of a name only grow. The same rounds run on a PostgreSQL store (fewer of them),
whose tables are read directly between rounds as the SQLite file is.

GATELEARN_KILL_ROUNDS raises the number of rounds (at least 20); GATELEARN_KILL_SEED changes
the seed.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import psycopg
from conftest import poll
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server.stores import SQLiteStore

T = TypeVar("T")

ROUNDS = max(20, int(os.environ.get("GATELEARN_KILL_ROUNDS", "20")))
POSTGRES_ROUNDS = 5  # fewer on PostgreSQL: the SQLite rounds already exercise the server side
SEED = int(os.environ.get("GATELEARN_KILL_SEED", "20261122"))

# Task name used in names -> the task spec sent to the server.
TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    "xor": ("xor", {}),
    "and": ("and", {}),
    "parity3": ("parity", {"n": 3}),
}
TRAINERS = 3  # more than the server's 2 training slots, so some calls meet a full pool
IMPORTERS = 1
MAX_IMPORTS_PER_ROUND = 15
MAX_CALLS_PER_THREAD = 200  # a bound on each client loop; time ends a round long before
KILL_DELAY = (0.05, 0.8)  # seconds between the clients starting and SIGKILL

START_TIMEOUT = 30.0  # for the health check to answer SERVING
# For the killed server's workers to be gone. They run under SCHED_IDLE, so on a saturated
# machine they wait for CPU to notice and exit: 1.6-1.9 s with 8 busy processes on 2 cores, and
# over 10 s once with the tests in two processes beside two other test runs.
EXIT_TIMEOUT = 30.0
JOIN_TIMEOUT = 30.0  # for the client threads to notice the dead server
CALL_TIMEOUT = 10.0
TRAIN_TIMEOUT = 30.0
MARK_ENV = "GATELEARN_DURABILITY_MARK"  # inherited by the workers, so they can be found later


def _rows(inputs: int) -> list[list[float]]:
    return [list(map(float, bits)) for bits in itertools.product((0, 1), repeat=inputs)]


def _bits(values: list[list[float]]) -> list[list[str]]:
    """Floats as their exact hex spelling: equality of these is bitwise equality."""
    return [[float(v).hex() for v in row] for row in values]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- processes


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has exited


def _pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def _workers_of(server_pid: int) -> set[int]:
    """The live training workers whose parent is `server_pid`."""
    return {
        pid
        for pid in _pids()
        if (stat := _stat(pid))
        and stat[1] == server_pid
        and stat[0] not in ("Z", "X")
        and "gatelearn.server.training.worker" in _cmdline(pid)
    }


def _marked(mark: str) -> set[int]:
    """Live processes carrying `mark` in their environment: the server and its workers, even
    those started after the last look and those re-parented after the server died."""
    needle = f"{MARK_ENV}={mark}".encode()
    found = set()
    for pid in _pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and _alive(pid):
            found.add(pid)
    return found


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    address: str
    mark: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _start(store: list[str], log: Path) -> ServerProcess:
    """`gatelearn serve` on a free port with `store` (its --data-dir or --store arguments)."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    mark = uuid.uuid4().hex
    env = {**os.environ, MARK_ENV: mark}
    with log.open("wb") as out:  # the workers inherit stderr: a file, never a pipe to drain
        process = subprocess.Popen(
            [sys.executable, "-m", "gatelearn.client.cli", "serve", "--address", address, *store],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = ServerProcess(process, address, mark, log)
    channel = grpc.insecure_channel(address)
    try:
        stub = health_pb2_grpc.HealthStub(channel)

        def serving() -> bool:
            if process.poll() is not None:
                raise AssertionError(
                    f"the server exited with {process.returncode} during "
                    f"start-up:\n{server.output()}"
                )
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
            except grpc.RpcError:
                return False
            return reply.status == health_pb2.HealthCheckResponse.SERVING

        poll(serving, START_TIMEOUT, f"the server on {address} to answer SERVING")
    except BaseException:
        _kill(server)
        raise
    finally:
        channel.close()
    return server


def _kill(server: ServerProcess, workers: Collection[int] = ()) -> None:
    """SIGKILL the server; check that its workers (those seen in `workers`, and any other
    process carrying its mark) follow it within EXIT_TIMEOUT."""
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=EXIT_TIMEOUT)
    poll(
        lambda: not any(map(_alive, workers)),
        EXIT_TIMEOUT,
        f"workers {sorted(workers)} of server {server.process.pid} to exit (alive: "
        f"{sorted(filter(_alive, workers))})",
    )
    poll(
        lambda: not _marked(server.mark),
        EXIT_TIMEOUT,
        f"the workers of server {server.process.pid} to exit (orphans: "
        f"{sorted(_marked(server.mark))})",
    )


# ---------------------------------------------------------------- the store file


def _open_read_only(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir / SQLiteStore.FILENAME}?mode=ro", uri=True)


def _check_file(data_dir: Path) -> dict[str, set[int]]:
    """integrity_check the SQLite file; return every committed version by name."""
    db = _open_read_only(data_dir)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        versions: dict[str, set[int]] = {}
        for name, version in db.execute("SELECT name, version FROM models"):
            versions.setdefault(name, set()).add(version)
        last = dict(db.execute("SELECT name, last_version FROM names").fetchall())
    finally:
        db.close()
    for name, stored in versions.items():
        assert last.get(name, 0) >= max(stored), (name, last.get(name), sorted(stored))
    return versions


def _check_database(url: str) -> dict[str, set[int]]:
    """Every committed version by name in a PostgreSQL store (none before a server made its
    tables); no name's counter is behind."""
    with psycopg.connect(url) as db:
        versions: dict[str, set[int]] = {}
        if db.execute("SELECT to_regclass('gatelearn_models')").fetchone() == (None,):
            return versions
        for name, version in db.execute("SELECT name, version FROM gatelearn_models"):
            versions.setdefault(name, set()).add(version)
        last = dict(db.execute("SELECT name, last_version FROM gatelearn_names").fetchall())
    for name, held in versions.items():
        assert last.get(name, 0) >= max(held), (name, last.get(name), sorted(held))
    return versions


# ---------------------------------------------------------------- the clients


@dataclass
class Saved:
    """A model version whose reply reached the client."""

    name: str
    version: int
    kind: str  # "train" or "import"
    round: int
    inputs: int
    outputs: list[list[str]] | None  # Predict right after the save; None if the server died


@dataclass
class RoundLog:
    number: int
    saved: list[Saved] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failures while the server was alive
    training: set[int] = field(default_factory=set)  # threads inside a Train with progress
    full_pool: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    killed: threading.Event = field(default_factory=threading.Event)

    def record(self, saved: Saved) -> None:
        with self.lock:
            self.saved.append(saved)

    def failed(self, what: str, error: GateLearnError) -> None:
        if not self.killed.is_set():
            with self.lock:
                self.errors.append(f"{what}: {error}")


def _predicted(
    client: Client, name: str, version: int, inputs: int, log: RoundLog | None = None
) -> list[list[str]] | None:
    """What a model predicts on every row of its inputs, bit for bit. With a round's `log`,
    None when the call fails (after the kill, the server died between reply and Predict)."""
    try:
        prediction = client.predict(name, _rows(inputs), version=version)
    except GateLearnError as error:
        if log is None:
            raise
        log.failed(f"predict {name}:{version}", error)
        return None
    assert (prediction.model.name, prediction.model.version) == (name, version)
    return _bits(prediction.outputs)


def _trainer(address: str, log: RoundLog, rng: random.Random, thread: int) -> None:
    # One attempt per call (retries=0): the ledger counts what each attempt saved, and the
    # server does not deduplicate retried writes by request id yet.
    with Client(address, timeout=CALL_TIMEOUT, train_timeout=TRAIN_TIMEOUT, retries=0) as client:
        for _ in range(MAX_CALLS_PER_THREAD):
            if log.killed.is_set():
                return
            key = rng.choice(list(TASKS))
            task, params = TASKS[key]
            inputs = 3 if key == "parity3" else 2
            name = f"{key}-{rng.randrange(2)}"  # shared by threads and rounds
            options = TrainOptions(
                epochs=rng.choice((200, 500, 1000, 2000, 3000)),
                stop_when_solved=rng.random() < 0.6,
                progress_interval_ms=20,
            )

            def on_progress(_: object) -> None:
                with log.lock:
                    log.training.add(thread)

            try:
                outcome = client.train(
                    name,
                    (task, params),
                    seed=rng.randrange(1000),
                    options=options,
                    on_progress=on_progress,
                    dtype="float32" if rng.random() < 0.2 else "float64",
                )
            except GateLearnError as error:
                if error.code == grpc.StatusCode.RESOURCE_EXHAUSTED:  # both slots busy
                    with log.lock:
                        log.full_pool += 1
                    log.killed.wait(rng.uniform(0.01, 0.04))
                    continue
                log.failed(f"train {name}", error)
                return
            finally:
                with log.lock:
                    log.training.discard(thread)
            assert outcome.model.name == name
            log.record(
                Saved(
                    name,
                    outcome.model.version,
                    "train",
                    log.number,
                    inputs,
                    _predicted(client, name, outcome.model.version, inputs, log),
                )
            )


def _handmade(rng: random.Random, key: str) -> tuple[dict[str, Any], int]:
    """A random 1-hidden-layer network for a task, in the export format."""
    task, params = TASKS[key]
    inputs = 3 if key == "parity3" else 2
    hidden = rng.randrange(2, 5)

    def tensor(*shape: int) -> dict[str, Any]:
        count = shape[0] * (shape[1] if len(shape) > 1 else 1)
        return {"shape": list(shape), "values": [rng.gauss(0, 1.5) for _ in range(count)]}

    model = {
        "layers": [
            {
                "weights": tensor(inputs, hidden),
                "bias": tensor(hidden),
                "activation": {"name": "tanh"},
            },
            {"weights": tensor(hidden, 1), "bias": tensor(1), "activation": {"name": "sigmoid"}},
        ],
        "task": {"name": task, "params": params},
        "low": 0,
        "high": 1,
    }
    return model, inputs


def _importer(address: str, log: RoundLog, rng: random.Random, earlier: list[Saved]) -> None:
    with Client(address, timeout=CALL_TIMEOUT, retries=0) as client:  # as in _trainer
        for _ in range(MAX_IMPORTS_PER_ROUND):
            if log.killed.wait(rng.uniform(0.0, 0.05)):
                return
            if earlier and rng.random() < 0.3:  # round-trip a model saved in an earlier round
                source = rng.choice(earlier)
                name, inputs = f"copy-{rng.randrange(2)}", source.inputs
                try:
                    model: dict[str, Any] = client.export_model(source.name, version=source.version)
                except GateLearnError as error:
                    log.failed(f"export {source.name}:{source.version}", error)
                    return
            else:
                key = rng.choice(list(TASKS))
                name = f"imported-{key}"
                model, inputs = _handmade(rng, key)
            try:
                ref = client.import_model(name, model)
            except GateLearnError as error:
                log.failed(f"import {name}", error)
                return
            assert ref.name == name
            log.record(
                Saved(
                    name,
                    ref.version,
                    "import",
                    log.number,
                    inputs,
                    _predicted(client, name, ref.version, inputs, log),
                )
            )


# ---------------------------------------------------------------- checks after a restart


@dataclass
class Ledger:
    """What the test knows across rounds."""

    saved: dict[tuple[str, int], Saved] = field(default_factory=dict)
    listed: dict[str, set[int]] = field(default_factory=dict)  # after the last restart
    loaded: set[tuple[str, int]] = field(default_factory=set)  # versions checked to load

    def highest(self, name: str) -> int:
        return max(self.listed.get(name, {0}))


def _check_saved(client: Client, saved: Saved) -> None:
    """An acknowledged model is stored with its version and predicts bitwise as before."""
    detail = client.model(saved.name, version=saved.version)
    assert (detail.summary.name, detail.summary.version) == (saved.name, saved.version)
    now = _predicted(client, saved.name, saved.version, saved.inputs)
    if saved.outputs is None:
        saved.outputs = now  # acknowledged, then the kill came before Predict: use it from now
    assert now == saved.outputs, (
        f"{saved.name}:{saved.version} ({saved.kind}, round "
        f"{saved.round}) predicts differently after the restart"
    )


def _check_loads(client: Client, name: str, version: int, inputs: int) -> None:
    """A listed version is complete: its detail, predictions and export all come back."""
    detail = client.model(name, version=version)
    assert detail.summary.version == version
    prediction = client.predict(name, _rows(inputs), version=version)
    assert prediction.model.version == version and len(prediction.outputs) == 2**inputs
    exported = client.export_model(name, version=version)
    assert exported["name"] == name and int(exported["version"]) == version
    assert len(exported["layers"]) == len(detail.summary.sizes) - 1


def _check_store(
    client: Client,
    ledger: Ledger,
    on_disk: dict[str, set[int]],
    round_log: RoundLog | None,
    everything: bool = False,
) -> int:
    """Check a restarted server against the ledger; return how many acknowledged models were
    checked. Updates the ledger's listing."""
    listed: dict[str, set[int]] = {}
    sizes: dict[tuple[str, int], int] = {}
    for latest in client.models():
        for summary in client.models(latest.name):
            assert summary.name == latest.name
            listed.setdefault(summary.name, set()).add(summary.version)
            sizes[(summary.name, summary.version)] = summary.sizes[0]
    # The server shows exactly what the file held when the server was down.
    assert listed == on_disk
    for name, before in ledger.listed.items():  # nothing committed ever disappears
        assert before <= listed.get(name, set()), (name, sorted(before - listed.get(name, set())))
    if round_log is not None:
        by_name: dict[str, list[int]] = {}
        for saved in round_log.saved:
            by_name.setdefault(saved.name, []).append(saved.version)
        for name, replied in by_name.items():
            assert len(set(replied)) == len(replied), (name, sorted(replied))
            assert min(replied) > ledger.highest(name), (
                f"{name}: round {round_log.number} got versions {sorted(replied)}, not above "
                f"{ledger.highest(name)} seen before"
            )
        for name, versions in listed.items():
            fresh = versions - ledger.listed.get(name, set())
            assert not fresh or min(fresh) > ledger.highest(name), (name, sorted(fresh))
        for saved in round_log.saved:
            ledger.saved[(saved.name, saved.version)] = saved
    # Every version listed (the new ones; all at the end) loads completely.
    for key, inputs in sorted(sizes.items()):
        if everything or key not in ledger.loaded:
            _check_loads(client, key[0], key[1], inputs)
            ledger.loaded.add(key)
    checked = 0
    for saved in ledger.saved.values():
        if everything or (round_log is not None and saved.round == round_log.number):
            assert (saved.name, saved.version) in sizes, (
                f"{saved.name}:{saved.version} was acknowledged in round {saved.round} "
                f"and is missing after the restart"
            )
            _check_saved(client, saved)
            checked += 1
    ledger.listed = listed
    return checked


# ---------------------------------------------------------------- the test


def _run_round(
    server: ServerProcess, number: int, rng: random.Random, earlier: list[Saved]
) -> tuple[RoundLog, int]:
    """Clients against `server` until a random SIGKILL; return the round's log and how many
    Train streams were mid-training (progress seen, no outcome yet) at the kill."""
    log = RoundLog(number)
    failures: list[BaseException] = []

    def guarded(target: Callable[..., None]) -> Callable[..., None]:
        def run(*args: Any) -> None:
            try:
                target(*args)
            except BaseException as error:  # an assertion in a client thread fails the test
                failures.append(error)

        return run

    threads = [
        threading.Thread(
            target=guarded(_trainer),
            name=f"trainer-{i}",
            daemon=True,
            args=(server.address, log, random.Random(rng.random()), i),
        )
        for i in range(TRAINERS)
    ]
    threads += [
        threading.Thread(
            target=guarded(_importer),
            name=f"importer-{i}",
            daemon=True,
            args=(server.address, log, random.Random(rng.random()), list(earlier)),
        )
        for i in range(IMPORTERS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(rng.uniform(*KILL_DELAY))  # the kill moment itself is what is random
    workers = _workers_of(server.process.pid)
    with log.lock:
        log.killed.set()
        mid_training = len(log.training)
    _kill(server, workers)
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        assert not thread.is_alive(), f"{thread.name} still running {JOIN_TIMEOUT}s after kill"
    if failures:
        raise failures[0]
    assert not log.errors, f"round {number}: calls failed before the kill: {log.errors}"
    assert workers, f"round {number}: no training workers found under the server"
    return log, mid_training


def test_sigkill_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    def stored() -> dict[str, set[int]]:
        return _check_file(data_dir) if (data_dir / SQLiteStore.FILENAME).exists() else {}

    survive_kills(ROUNDS, tmp_path, ["--data-dir", str(data_dir)], stored)


def test_sigkill_loses_nothing_acknowledged_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    survive_kills(
        POSTGRES_ROUNDS, tmp_path, ["--store", postgres_url], lambda: _check_database(postgres_url)
    )


def survive_kills(
    rounds: int, tmp_path: Path, store: list[str], stored: Callable[[], dict[str, set[int]]]
) -> None:
    """`rounds` rounds of clients and SIGKILL against servers on `store`; `stored` reads every
    committed version by name straight from the store while no server runs."""
    started = time.monotonic()
    rng = random.Random(SEED)
    ledger = Ledger()
    kills_during_training = 0
    full_pool = 0  # Train calls answered RESOURCE_EXHAUSTED (both slots busy), then retried
    unacknowledged = 0  # committed versions whose reply never arrived
    acknowledged_before_predict = 0
    server: ServerProcess | None = None
    previous: RoundLog | None = None
    try:
        for number in itertools.count(1):  # the last start only checks the last round
            on_disk = stored()
            server = _start(store, tmp_path / f"server-{number}.log")
            # More rounds while no kill has landed mid-training (the random moment can miss).
            last = number > rounds and (kills_during_training > 0 or number > 4 * rounds)
            with Client(server.address, timeout=CALL_TIMEOUT) as client:
                before = {name: set(versions) for name, versions in ledger.listed.items()}
                checked = _check_store(client, ledger, on_disk, previous, everything=last)
                if previous is not None:
                    acked = {(s.name, s.version) for s in previous.saved}
                    acknowledged_before_predict += sum(s.outputs is None for s in previous.saved)
                    for name, versions in ledger.listed.items():
                        fresh = versions - before.get(name, set())
                        unacknowledged += len({(name, v) for v in fresh} - acked)
                if last:
                    verified = checked
                    break
            previous, mid_training = _run_round(server, number, rng, list(ledger.saved.values()))
            kills_during_training += mid_training > 0
            full_pool += previous.full_pool
            server = None
        # A clean stop at the end: SIGTERM, then the workers go too.
        assert server is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=EXIT_TIMEOUT) == 0, server.output()
        mark = server.mark
        poll(lambda: not _marked(mark), EXIT_TIMEOUT, "workers to exit after SIGTERM")
        server = None
        stored()
    finally:
        if server is not None:
            _kill(server)
    elapsed = time.monotonic() - started
    print(
        f"\ndurability: {number - 1} SIGKILL rounds survived, {verified} acknowledged models "
        f"verified bitwise ({sum(s.kind == 'train' for s in ledger.saved.values())} trained, "
        f"{sum(s.kind == 'import' for s in ledger.saved.values())} imported), "
        f"{len(ledger.loaded)} stored versions loaded, {kills_during_training} kills during "
        f"training, {unacknowledged} committed without a delivered reply, "
        f"{acknowledged_before_predict} acknowledged but killed before Predict, "
        f"{full_pool} trainings retried on a full pool, "
        f"seed {SEED}, {elapsed:.1f}s"
    )
    assert verified == len(ledger.saved) > 0
    assert kills_during_training >= 1, "no kill landed during a training: the test is too tame"
