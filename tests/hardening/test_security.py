"""Who may talk to the server, and what a request or a stored row can make it do.

Everything runs against real servers on 127.0.0.1 (port 0) through the real `Client`, or the
`gatelearn` command line in a subprocess: the listening address and its warning, TLS and client
certificates (made with the openssl command line, see `certs.py`), the bearer token on every
RPC, the modes of the data directory and the store's files, model-name validation, and weights
blobs that would need pickle to load.
"""

from __future__ import annotations

import ast
import io
import logging
import os
import secrets
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from certs import Pki, make_pki
from conftest import start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import gatelearn.client
import gatelearn.core
import gatelearn.plugins
import gatelearn.server
from gatelearn.client import Client, GateLearnError
from gatelearn.server import Limits, ServerConfig
from gatelearn.server.app import RunningServer
from gatelearn.server.security import is_loopback
from gatelearn.server.stores import SQLiteStore
from gatelearn.server.stores.arrays import decode_arrays
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

CLI = [sys.executable, "-m", "gatelearn.client.cli"]
XOR_ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]
ONE_WORKER = Limits(max_concurrent_trainings=1)  # fewer worker processes to start
WARNING_TEXT = "without TLS and a token"
SQLITE_FILES = {
    SQLiteStore.FILENAME,
    f"{SQLiteStore.FILENAME}-wal",
    f"{SQLiteStore.FILENAME}-shm",
    f"{SQLiteStore.FILENAME}-journal",
}


@pytest.fixture(autouse=True)
def no_token_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Client(token=None)` falls back to $GATELEARN_AUTH_TOKEN; keep the tests' own choice."""
    monkeypatch.delenv("GATELEARN_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("GATELEARN_ADDRESS", raising=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Starts servers (as `start_server` does) and stops them all when the test ends."""
    started: list[RunningServer] = []

    def start(data_dir: Path | None = None, **settings: Any) -> RunningServer:
        settings.setdefault("limits", ONE_WORKER)
        running = start_server(data_dir or tmp_path / f"data{len(started)}", **settings)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop(0)


def address(running: RunningServer) -> str:
    return f"127.0.0.1:{running.port}"


def code_of(call: Callable[[], object]) -> grpc.StatusCode:
    """The status code `call` fails with (the test fails if it succeeds)."""
    with pytest.raises(GateLearnError) as failure:
        call()
    return failure.value.code


# ---------------------------------------------------------------- the listening address


def test_default_address_is_loopback() -> None:
    assert ServerConfig().address.startswith("127.0.0.1:")
    assert is_loopback(ServerConfig().address)


@pytest.mark.parametrize(
    ("address_", "loopback"),
    [
        ("127.0.0.1:50051", True),
        ("127.8.9.10:1", True),
        ("localhost:1", True),
        ("[::1]:1", True),
        ("0.0.0.0:1", False),
        ("[::]:1", False),
        (":50051", False),
        ("192.168.1.10:1", False),
        ("example.com:1", False),
        ("127.0.0.1.example.com:1", False),
    ],
)
def test_is_loopback(address_: str, loopback: bool) -> None:
    assert is_loopback(address_) is loopback


@pytest.mark.parametrize(
    ("tls", "token", "warns"),
    [(False, False, True), (True, False, True), (False, True, True), (True, True, False)],
)
def test_non_loopback_address_warns_unless_tls_and_token(
    tls: bool, token: bool, warns: bool, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings: dict[str, Any] = {}
    if tls:
        settings.update(tls_cert=pki.server.cert, tls_key=pki.server.key)
    if token:
        settings["auth_token"] = "t0ken"
    with caplog.at_level(logging.WARNING, logger="gatelearn.server"):
        running = gatelearn.server.create_server(
            ServerConfig(
                address="0.0.0.0:0", data_dir=tmp_path / "data", limits=ONE_WORKER, **settings
            )
        )
        running.stop(0)  # it listened on every interface: stop right away
    warnings = [
        r for r in caplog.records if r.name == "gatelearn.server" and WARNING_TEXT in r.getMessage()
    ]
    assert bool(warnings) is warns, caplog.text
    if warns:
        assert warnings[0].levelno == logging.WARNING
        assert "0.0.0.0:0" in warnings[0].getMessage()


def test_loopback_address_does_not_warn(
    serving: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gatelearn.server"):
        serving()
    assert WARNING_TEXT not in caplog.text


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("tls") / "data",
        limits=ONE_WORKER,
        tls_cert=pki.server.cert,
        tls_key=pki.server.key,
    )
    yield running
    running.stop(0)


def test_tls_client_trusting_the_ca_trains_and_predicts(
    tls_server: RunningServer, pki: Pki
) -> None:
    with Client(address(tls_server), tls_ca=pki.ca.cert) as client:
        outcome = client.train("tls-xor", "xor")
        assert outcome.metrics.solved
        assert client.predict("tls-xor", XOR_ROWS).labels == [[0.0], [1.0], [1.0], [0.0]]
    # the certificate's DNS name works as well as its IP address
    with Client(f"localhost:{tls_server.port}", tls_ca=pki.ca.cert) as client:
        assert "tls-xor" in [m.name for m in client.models()]


def test_tls_client_over_several_replicas_checks_each_certificate(
    serving: Callable[..., RunningServer], pki: Pki
) -> None:
    replicas = [serving(tls_cert=pki.server.cert, tls_key=pki.server.key) for _ in range(2)]
    both = ",".join(address(running) for running in replicas)
    with Client(both, tls_ca=pki.ca.cert) as client:
        assert all("xor" in {t.name for t in client.tasks()} for _ in range(10))
    with Client(both, tls_ca=pki.other_ca.cert, timeout=5) as client:
        assert code_of(client.tasks) == grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_to_tls_server_is_unavailable(tls_server: RunningServer) -> None:
    with Client(address(tls_server), timeout=5) as client:
        assert code_of(client.tasks) == grpc.StatusCode.UNAVAILABLE
        assert code_of(lambda: client.train("plain", "xor")) == grpc.StatusCode.UNAVAILABLE


def test_client_trusting_another_ca_is_refused(tls_server: RunningServer, pki: Pki) -> None:
    with Client(address(tls_server), timeout=5, tls_ca=pki.other_ca.cert) as client:
        assert code_of(client.tasks) == grpc.StatusCode.UNAVAILABLE
        assert code_of(lambda: client.train("other", "xor")) == grpc.StatusCode.UNAVAILABLE
    with Client(address(tls_server), tls_ca=pki.ca.cert) as client:
        assert {"plain", "other"}.isdisjoint(m.name for m in client.models())


# ---------------------------------------------------------------- client certificates


@pytest.fixture(scope="module")
def mtls_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("mtls") / "data",
        limits=ONE_WORKER,
        tls_cert=pki.server.cert,
        tls_key=pki.server.key,
        tls_client_ca=pki.ca.cert,
    )
    yield running
    running.stop(0)


def test_client_certificate_from_the_ca_works(mtls_server: RunningServer, pki: Pki) -> None:
    with Client(
        address(mtls_server), tls_ca=pki.ca.cert, tls_cert=pki.client.cert, tls_key=pki.client.key
    ) as client:
        client.train("mtls-xor", "xor")
        assert client.predict("mtls-xor", XOR_ROWS).labels == [[0.0], [1.0], [1.0], [0.0]]


@pytest.mark.parametrize("presented", ["none", "other-ca"])
def test_missing_or_foreign_client_certificate_is_refused(
    presented: str, mtls_server: RunningServer, pki: Pki
) -> None:
    pair = {"none": None, "other-ca": pki.other_client}[presented]
    with Client(
        address(mtls_server),
        timeout=5,
        tls_ca=pki.ca.cert,
        tls_cert=pair.cert if pair else None,
        tls_key=pair.key if pair else None,
    ) as client:
        assert code_of(client.models) == grpc.StatusCode.UNAVAILABLE
        assert (
            code_of(lambda: client.train(f"refused-{presented}", "xor"))
            == grpc.StatusCode.UNAVAILABLE
        )
    with Client(
        address(mtls_server), tls_ca=pki.ca.cert, tls_cert=pki.client.cert, tls_key=pki.client.key
    ) as client:
        assert f"refused-{presented}" not in [m.name for m in client.models()]


# ---------------------------------------------------------------- the bearer token

TOKEN = "gl-" + secrets.token_urlsafe(24)
LAST_CHARACTER_WRONG = TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B")
WRONG_TOKENS = {
    "missing": None,
    "wrong": "not-the-token",
    "last character": LAST_CHARACTER_WRONG,
    "prefix": TOKEN[:-1],
    "longer": TOKEN + "x",
    "first character": ("h" if TOKEN[0] != "h" else "i") + TOKEN[1:],
}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("token") / "data", limits=ONE_WORKER, auth_token=TOKEN
    )
    with Client(address(running), token=TOKEN) as client:
        client.train("kept", "xor")
    yield running
    running.stop(0)


def every_rpc(client: Client, exported: dict[str, Any]) -> dict[str, Callable[[], object]]:
    """One call of each GateLearn RPC: unary ones, Train (server streaming) and PredictStream
    (bidirectional)."""
    return {
        "ListPlugins": client.plugins,
        "ListTasks": client.tasks,
        "DescribeTask": lambda: client.describe_task("xor"),
        "Train": lambda: client.train("intruder", "xor"),
        "Predict": lambda: client.predict("kept", XOR_ROWS),
        # more than one chunk goes through the bidirectional stream
        "PredictStream": lambda: client.predict_array("kept", np.zeros((4, 2)), chunk_rows=2),
        "Evaluate": lambda: client.evaluate("kept"),
        "ListModels": client.models,
        "GetModel": lambda: client.model("kept"),
        "DeleteModel": lambda: client.delete("kept"),
        "ExportModel": lambda: client.export_model("kept"),
        "ImportModel": lambda: client.import_model("imported", exported),
        "Explain": lambda: client.explain("kept"),
        "SetAlias": lambda: client.set_alias("kept", "stable", 1),
        "DeleteAlias": lambda: client.delete_alias("kept", "stable"),
        "Search": lambda: list(client.search("intruder", "and", seeds=2)),
    }


@pytest.mark.parametrize("which", list(WRONG_TOKENS))
def test_missing_or_wrong_token_is_unauthenticated_on_every_rpc(
    which: str, token_server: RunningServer
) -> None:
    # security.TokenInterceptor compares the whole `authorization` value with
    # hmac.compare_digest, so the time taken does not reveal how much of a guess is right;
    # that cannot be measured reliably here, so these cases check the behaviour only.
    with Client(address(token_server), token=TOKEN) as good:
        before = good.models()
        exported = good.export_model("kept")
    with Client(address(token_server), token=WRONG_TOKENS[which]) as client:
        calls = every_rpc(client, exported)
        # a new RPC must be added here too
        assert set(calls) == {m.name for m in pb.DESCRIPTOR.services_by_name["GateLearn"].methods}
        codes = {name: code_of(call) for name, call in calls.items()}
    assert codes == dict.fromkeys(calls, grpc.StatusCode.UNAUTHENTICATED)
    with Client(address(token_server), token=TOKEN) as good:
        assert good.models() == before  # nothing trained, imported or deleted
        assert good.predict("kept", XOR_ROWS).labels == [[0.0], [1.0], [1.0], [0.0]]


def list_models_with(running: RunningServer, *authorization: str) -> grpc.StatusCode:
    """The status of a raw ListModels call carrying these `authorization` entries, in order."""
    with grpc.insecure_channel(address(running)) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        try:
            stub.ListModels(
                pb.ListModelsRequest(),
                timeout=5,
                metadata=[("authorization", value) for value in authorization],
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def test_token_without_the_bearer_scheme_is_refused(token_server: RunningServer) -> None:
    for value in (
        TOKEN,
        f"Bearer  {TOKEN}",
        f"Bearer {TOKEN} ",
        f"Bearer{TOKEN}",
        f"Basic {TOKEN}",
        f"Bearer {LAST_CHARACTER_WRONG}",
    ):
        assert list_models_with(token_server, value) == grpc.StatusCode.UNAUTHENTICATED, value


def test_bearer_scheme_name_is_case_insensitive(token_server: RunningServer) -> None:
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        assert list_models_with(token_server, f"{scheme} {TOKEN}") == grpc.StatusCode.OK, scheme


@pytest.mark.parametrize(
    "entries",
    [
        ("wrong, right", (f"Bearer {LAST_CHARACTER_WRONG}", f"Bearer {TOKEN}")),
        ("right, wrong", (f"Bearer {TOKEN}", f"Bearer {LAST_CHARACTER_WRONG}")),
        ("right twice", (f"Bearer {TOKEN}", f"Bearer {TOKEN}")),
    ],
    ids=lambda entries: entries[0],
)
def test_two_authorization_entries_are_refused(
    entries: tuple[str, tuple[str, str]], token_server: RunningServer
) -> None:
    assert list_models_with(token_server, *entries[1]) == grpc.StatusCode.UNAUTHENTICATED
    # what a Train call with them would do: refused before any work, nothing saved
    with grpc.insecure_channel(address(token_server)) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        call = stub.Train(
            pb.TrainRequest(model_name="twice", task=pb.ComponentRef(name="xor")),
            timeout=10,
            metadata=[("authorization", v) for v in entries[1]],
        )
        with pytest.raises(grpc.RpcError) as failure:
            list(call)
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with Client(address(token_server), token=TOKEN) as client:
        assert "twice" not in [m.name for m in client.models()]


def _hpack_literal(name: bytes, value: bytes) -> bytes:
    """One header as HPACK's literal without indexing, new name, no Huffman coding (RFC 7541
    6.2.2); both at most 126 bytes, so each length is one byte."""
    assert len(name) < 127 and len(value) < 127
    return bytes([0, len(name)]) + name + bytes([len(value)]) + value


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    """One HTTP/2 frame (RFC 9113 4.1)."""
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream)
        + payload
    )


def ended_raw_call(port: int, authorization: bytes) -> bool:
    """Send a ListModels call over a plain HTTP/2 connection with these `authorization` bytes
    (gRPC's own clients send only ASCII there); whether the server ended it with trailers."""
    headers = b"".join(
        _hpack_literal(name, value)
        for name, value in (
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", b"/gatelearn.v1.GateLearn/ListModels"),
            (b":authority", b"localhost"),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
            (b"authorization", authorization),
        )
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
            + _frame(4, 0, 0, b"")  # SETTINGS, all defaults
            + _frame(1, 4, 1, headers)  # HEADERS, END_HEADERS
            + _frame(0, 1, 1, b"\0\0\0\0\0")  # DATA, END_STREAM: an empty request
        )
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            while len(received) >= 9 and len(received) >= 9 + int.from_bytes(received[:3]):
                size, kind, flags = int.from_bytes(received[:3]), received[3], received[4]
                if int.from_bytes(received[5:9]) == 1 and kind == 1 and flags & 1:
                    return True  # trailers: HEADERS ending stream 1
                received = received[9 + size :]
    return False


def test_authorization_bytes_that_are_not_utf8_are_refused_and_log_no_error(
    token_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """gRPC logs a metadata value that is not UTF-8 as an error with a traceback quoting the
    value, twice a call; any client can send one, so the server logs it at DEBUG."""
    for value in (b"Bearer \xff\xfe", "Bearer tökén".encode("latin-1"), b"\xc3(" * 40):
        assert ended_raw_call(token_server.port, value), value
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors
    assert list_models_with(token_server, f"Bearer {TOKEN}") == grpc.StatusCode.OK


def test_right_token_works(token_server: RunningServer) -> None:
    with Client(address(token_server), token=TOKEN) as client:
        outcome = client.train("with-token", "and")
        assert outcome.model.name == "with-token"
        assert client.evaluate("with-token").accuracy == 1.0
        assert "xor" in [t.name for t in client.tasks()]


def test_health_check_needs_no_token(token_server: RunningServer) -> None:
    with grpc.insecure_channel(address(token_server)) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "gatelearn.v1.GateLearn"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def list_services(channel: grpc.Channel, token: str | None) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    replies = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
        timeout=5,
        metadata=metadata,
    )
    return [s.name for s in next(replies).list_services_response.service]


def test_reflection_needs_the_token(token_server: RunningServer) -> None:
    with grpc.insecure_channel(address(token_server)) as channel:
        for token in (None, WRONG_TOKENS["prefix"]):
            with pytest.raises(grpc.RpcError) as failure:
                list_services(channel, token)
            assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "gatelearn.v1.GateLearn" in list_services(channel, TOKEN)


# ---------------------------------------------------------------- the token on the command line


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("GATELEARN_ADDRESS", "GATELEARN_DATA_DIR", "GATELEARN_AUTH_TOKEN")
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=clean_env(), timeout=60
    )


def wait_serving(target: str, process: subprocess.Popen[str], seconds: float = 20) -> bool:
    """Poll the (token-free) health check: True once the server answers SERVING, False if
    the process exits first."""
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                return False
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return True
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode == 1, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gatelearn: error: {code}: "), lines[0]


def test_cli_serve_and_call_with_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")  # a trailing newline, as editors and `echo` leave
    token_file.chmod(0o600)
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text(LAST_CHARACTER_WRONG)
    target = f"127.0.0.1:{free_port()}"
    argv = [
        *CLI,
        "serve",
        "--address",
        target,
        "--data-dir",
        str(tmp_path / "data"),
        "--auth-token-file",
        str(token_file),
        "--limit",
        "max_concurrent_trainings=1",
    ]
    assert TOKEN not in " ".join(argv)  # the secret stays out of `ps`
    server = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=clean_env()
    )
    try:
        assert wait_serving(target, server), "the server exited during start-up"
        ok = run_cli("--address", target, "--auth-token-file", str(token_file), "tasks")
        assert ok.returncode == 0, ok.stderr
        assert "xor" in ok.stdout
        assert_one_line_error(run_cli("--address", target, "tasks"), "UNAUTHENTICATED")
        assert_one_line_error(
            run_cli("--address", target, "--auth-token-file", str(wrong_file), "models"),
            "UNAUTHENTICATED",
        )
    finally:
        stop(server)
    assert server.returncode == 0


def test_cli_unreadable_token_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(
        "--address", "127.0.0.1:1", "--auth-token-file", str(tmp_path / "missing"), "tasks"
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    assert "--auth-token-file" in result.stderr


def test_cli_serve_refuses_an_empty_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("\n")
    target = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--address",
            target,
            "--data-dir",
            str(tmp_path / "data"),
            "--auth-token-file",
            str(token_file),
            "--limit",
            "max_concurrent_trainings=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        # Either it exits (refusing the file), or it starts serving: whichever comes first.
        if wait_serving(target, server):
            with Client(target, timeout=5) as client:  # no token at all
                open_to_all = bool(client.tasks())
            pytest.fail(f"serving without authentication (tasks without a token: {open_to_all})")
        code = server.wait(timeout=10)
    finally:
        stop(server)
    assert code != 0


# ---------------------------------------------------------------- the data directory


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which files are 0644 and directories 0755 unless the
    server sees to it; the test process's own umask is restored after."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes_under(root: Path) -> dict[str, int]:
    """Every file and directory under `root` (itself included): relative path -> mode bits."""
    return {str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def test_data_dir_and_store_files_are_created_private(
    serving: Callable[..., RunningServer], tmp_path: Path, usual_umask: None
) -> None:
    root = tmp_path / "fresh"  # the server creates this, its child and the data directory
    data_dir = root / "nested" / "data"
    running = serving(data_dir)
    with Client(address(running)) as client:
        client.train("one", "xor")
        client.predict("one", XOR_ROWS)
        modes = modes_under(root)  # while the server runs: -wal and -shm exist now
    assert {Path(f).name for f in modes} >= {
        SQLiteStore.FILENAME,
        f"{SQLiteStore.FILENAME}-wal",
        f"{SQLiteStore.FILENAME}-shm",
    }, modes
    expected = {f: 0o600 if (root / f).is_file() else 0o700 for f in modes}
    assert modes == expected


def test_existing_open_data_dir_and_files_are_tightened(
    serving: Callable[..., RunningServer],
    tmp_path: Path,
    usual_umask: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shared = tmp_path / "shared"  # a parent the server did not create: left as it is
    shared.mkdir(mode=0o755)
    data_dir = shared / "data"
    data_dir.mkdir(mode=0o755)
    # What an older server left after a crash: the database with its -wal and -shm, all 0644.
    db = sqlite3.connect(data_dir / SQLiteStore.FILENAME)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x)")
    try:
        files = (SQLiteStore.FILENAME, f"{SQLiteStore.FILENAME}-wal", f"{SQLiteStore.FILENAME}-shm")
        assert modes_under(data_dir) == {".": 0o755, **dict.fromkeys(files, 0o644)}
        with caplog.at_level(logging.WARNING, logger="gatelearn.server"):
            running = serving(data_dir)
        with Client(address(running)) as client:
            client.train("one", "xor")
            modes = modes_under(data_dir)
    finally:
        db.close()
    assert modes == {".": 0o700, **{f: 0o600 for f in modes if f != "."}}, modes
    assert len(modes) == 4, modes
    assert shared.stat().st_mode & 0o777 == 0o755
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(data_dir) in w and "755" in w and "700" in w for w in warnings), warnings


# ---------------------------------------------------------------- model names

BAD_NAMES = [
    "../x",
    "a/b",
    "a\\b",
    "x\n",
    "x\x00",
    "",
    "a" * 129,
    ".hidden",
    "-dash",
    "a b",
    "\u00e9t\u00e9",
    "../../../../tmp/escape",
]


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_bad_model_names_are_refused_and_nothing_is_written(
    serving: Callable[..., RunningServer], tmp_path: Path
) -> None:
    root = tmp_path / "root"
    data_dir = root / "data"
    running = serving(data_dir)
    with Client(address(running)) as client:
        client.train("base", "xor")
        exported = client.export_model("base")
        anonymous = {k: v for k, v in exported.items() if k != "name"}
        before_models, before_files = client.models(), files_under(root)
        assert {Path(f).name for f in before_files} - {"data"} <= SQLITE_FILES
        for bad in BAD_NAMES:
            calls = {
                "Train": lambda b=bad: client.train(b, "xor"),
                "ImportModel": lambda b=bad: client.import_model(b, anonymous),
            }
            if bad:  # the name inside the exported model, when the request gives none
                calls["ImportModel model.name"] = lambda b=bad: client.import_model(
                    "", {**exported, "name": b}
                )
            for rpc, call in calls.items():
                assert code_of(call) == grpc.StatusCode.INVALID_ARGUMENT, (rpc, bad)
        assert client.models() == before_models
        assert files_under(root) == before_files
        assert not (tmp_path / "escape").exists() and not Path("/tmp/escape").exists()
        # the longest allowed name is fine
        assert client.import_model("a" * 128, anonymous).name == "a" * 128


# ---------------------------------------------------------------- no pickle


class Trap:
    """Unpickling this makes the directory `path`: proof that something was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.path,))


def trapped_blob(good_blob: bytes, marker: Path) -> bytes:
    """`good_blob`'s arrays with w0 replaced by an object array holding a `Trap`, as `.npz`
    (the format stores wrote before their own, which cannot hold objects at all)."""
    replaced = decode_arrays(good_blob)
    replaced["w0"] = np.array([Trap(marker)], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **replaced)  # object arrays are written with pickle
    return buffer.getvalue()


@pytest.fixture
def poisoned(serving: Callable[..., RunningServer], tmp_path: Path) -> tuple[RunningServer, Path]:
    """A server whose store holds 'good' and 'evil'; evil's weights need pickle to load."""
    data_dir = tmp_path / "data"
    first = serving(data_dir)
    with Client(address(first)) as client:
        client.train("good", "xor")
    first.stop(0)

    # The trap works: loading it *with* pickle allowed makes its marker.
    probe = tmp_path / "probe-marker"
    db = sqlite3.connect(data_dir / SQLiteStore.FILENAME)
    meta, blob = db.execute("SELECT meta, weights FROM models WHERE name = 'good'").fetchone()
    db.close()
    with np.load(io.BytesIO(trapped_blob(blob, probe)), allow_pickle=True) as arrays:
        arrays["w0"]
    assert probe.is_dir()

    marker = tmp_path / "marker"
    db = sqlite3.connect(data_dir / SQLiteStore.FILENAME)
    with db:
        db.execute("INSERT INTO names (name, last_version) VALUES ('evil', 1)")
        db.execute(
            "INSERT INTO models (name, version, created_at, meta, request, weights) "
            "VALUES ('evil', 1, ?, ?, NULL, ?)",
            (time.time(), meta, trapped_blob(blob, marker)),
        )
    db.close()
    return serving(data_dir), marker


def reading_calls(client: Client) -> dict[str, Callable[[], object]]:
    return {
        "Predict": lambda: client.predict("evil", XOR_ROWS),
        "ExportModel": lambda: client.export_model("evil"),
        "GetModel": lambda: client.model("evil"),
        "Evaluate": lambda: client.evaluate("evil"),
    }


def test_object_array_weights_are_never_unpickled(poisoned: tuple[RunningServer, Path]) -> None:
    running, marker = poisoned
    with Client(address(running)) as client:
        assert [m.name for m in client.models()] == ["evil", "good"]
        for name, call in reading_calls(client).items():
            code_of(call)  # refused, whatever the code (see the next test)
            assert not marker.exists(), f"{name} unpickled the stored weights"
        # the other model is untouched
        assert client.predict("good", XOR_ROWS).labels == [[0.0], [1.0], [1.0], [0.0]]
    assert not marker.exists()


def test_object_array_weights_get_a_meaningful_status(poisoned: tuple[RunningServer, Path]) -> None:
    running, marker = poisoned
    with Client(address(running)) as client:
        codes = {name: code_of(call) for name, call in reading_calls(client).items()}
    assert not marker.exists()
    assert not {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL} & set(codes.values()), codes


BANNED_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "cloudpickle",
    "shelve",
    "marshal",
    "joblib",
    "multiprocessing",
}


def test_no_pickle_in_the_sources() -> None:
    """No gatelearn module imports a pickle-based serializer (multiprocessing pickles what it
    sends between processes), and every np.load / numpy.load says allow_pickle=False."""
    sources = [
        path
        for package in (gatelearn.server, gatelearn.client, gatelearn.core, gatelearn.plugins)
        for path in Path(str(package.__file__)).parent.rglob("*.py")
    ]
    assert len(sources) > 10
    loads = 0
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    assert name.split(".")[0] not in BANNED_MODULES, f"{path}: imports {name}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("np", "numpy")
            ):
                loads += 1
                flags = {k.arg: k.value for k in node.keywords}
                flag = flags.get("allow_pickle")
                assert isinstance(flag, ast.Constant) and flag.value is False, (
                    f"{path}:{node.lineno}: np.load without allow_pickle=False"
                )
    assert loads >= 1  # the store's; the check above is not vacuous
