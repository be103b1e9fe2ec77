"""The committed stubs match the proto, and the proto documents every part of the contract.

Both checks run the pinned grpcio-tools protoc, so they see exactly what a regeneration would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "proto" / "regenerate.py"
PACKAGE_DIR = REPO_ROOT / "proto" / "gatelearn" / "v1"
PROTO = "gatelearn/v1/gatelearn.proto"  # relative to the proto/ include root
GENERATED = ("gatelearn_pb2.py", "gatelearn_pb2.pyi", "gatelearn_pb2_grpc.py")

# Field numbers of FileDescriptorProto / DescriptorProto / EnumDescriptorProto /
# ServiceDescriptorProto, which make up the paths in SourceCodeInfo.Location.
FILE_MESSAGES, FILE_ENUMS, FILE_SERVICES = 4, 5, 6
MESSAGE_FIELDS, MESSAGE_NESTED, MESSAGE_ENUMS, MESSAGE_ONEOFS = 2, 3, 4, 8
ENUM_VALUES = 2
SERVICE_METHODS = 2


def run(command: list[str]) -> None:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"


def test_generated_stubs_are_current(tmp_path: Path) -> None:
    run([sys.executable, str(SCRIPT), str(tmp_path)])
    stale = [
        name
        for name in GENERATED
        if (tmp_path / "gatelearn" / "v1" / name).read_bytes() != (PACKAGE_DIR / name).read_bytes()
    ]
    assert not stale, (
        f"generated stubs are out of date with {PROTO}: {', '.join(stale)}. "
        "Run `python proto/regenerate.py` (with grpcio-tools from the `test` extra) and commit "
        "the result."
    )


@pytest.fixture(scope="module")
def proto_file(tmp_path_factory: pytest.TempPathFactory) -> descriptor_pb2.FileDescriptorProto:
    """The proto compiled to a descriptor that keeps its comments."""
    out = tmp_path_factory.mktemp("descriptor") / "gatelearn.pb"
    run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            "proto",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            f"proto/{PROTO}",
        ]
    )
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    (proto_file,) = descriptor_set.file
    return proto_file


def _message_parts(
    message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], prefix: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = f"{prefix}.{message.name}"
    yield path, f"message {name}"
    for index, field in enumerate(message.field):
        yield (*path, MESSAGE_FIELDS, index), f"field {name}.{field.name}"
    for index, oneof in enumerate(message.oneof_decl):
        # proto3 `optional` fields get a synthetic oneof that has no source of its own.
        if not oneof.name.startswith("_"):
            yield (*path, MESSAGE_ONEOFS, index), f"oneof {name}.{oneof.name}"
    for index, enum in enumerate(message.enum_type):
        yield from _enum_parts(enum, (*path, MESSAGE_ENUMS, index), name)
    for index, nested in enumerate(message.nested_type):
        yield from _message_parts(nested, (*path, MESSAGE_NESTED, index), name)


def _enum_parts(
    enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], prefix: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = f"{prefix}.{enum.name}"
    yield path, f"enum {name}"
    for index, value in enumerate(enum.value):
        yield (*path, ENUM_VALUES, index), f"enum value {name}.{value.name}"


def contract_parts(
    proto_file: descriptor_pb2.FileDescriptorProto,
) -> Iterator[tuple[tuple[int, ...], str]]:
    """Every documentable part of the file: its source path and a readable name."""
    package = proto_file.package
    for index, message in enumerate(proto_file.message_type):
        yield from _message_parts(message, (FILE_MESSAGES, index), package)
    for index, enum in enumerate(proto_file.enum_type):
        yield from _enum_parts(enum, (FILE_ENUMS, index), package)
    for index, service in enumerate(proto_file.service):
        name = f"{package}.{service.name}"
        yield (FILE_SERVICES, index), f"service {name}"
        for method_index, method in enumerate(service.method):
            yield (FILE_SERVICES, index, SERVICE_METHODS, method_index), f"rpc {name}.{method.name}"


def test_contract_parts_are_found(proto_file: descriptor_pb2.FileDescriptorProto) -> None:
    names = {name for _, name in contract_parts(proto_file)}
    # Guards the walk above: if it found nothing, the comment check below would pass vacuously.
    assert "field gatelearn.v1.TrainRequest.model_name" in names
    assert "rpc gatelearn.v1.GateLearn.Train" in names
    assert "enum value gatelearn.v1.Dtype.FLOAT32" in names
    assert "oneof gatelearn.v1.TrainRequest.source" in names


def test_every_part_of_the_contract_is_commented(
    proto_file: descriptor_pb2.FileDescriptorProto,
) -> None:
    comments = {
        tuple(location.path): (location.leading_comments + location.trailing_comments).strip()
        for location in proto_file.source_code_info.location
    }
    missing = [name for path, name in contract_parts(proto_file) if not comments.get(path)]
    assert not missing, (
        f"{PROTO} is the contract clients in other languages read; give each of these a "
        "leading or trailing comment (meaning, units, default, limits):\n  " + "\n  ".join(missing)
    )
