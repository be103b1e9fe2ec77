"""Regenerate the Python stubs of the gatelearn API from proto/gatelearn/v1/gatelearn.proto.

    python proto/regenerate.py            # rewrite the committed stubs under proto/
    python proto/regenerate.py OUT_DIR    # write them under OUT_DIR/gatelearn/v1/ instead

The proto sits at the path of its package and is compiled with `-I proto`, so the stubs
import each other as `gatelearn.v1.*` with no path edits. Needs grpcio-tools, pinned in the
`test` extra because its protoc version is written into the stubs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["GENERATED", "PROTO", "REPO_ROOT", "regenerate"]

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO = Path("proto/gatelearn/v1/gatelearn.proto")  # relative to REPO_ROOT
GENERATED = ("gatelearn_pb2.py", "gatelearn_pb2.pyi", "gatelearn_pb2_grpc.py")


def regenerate(out_dir: Path | None = None) -> list[Path]:
    """Compile the proto into `out_dir` (default: proto/) and return the generated files.

    protoc runs from the repository root with relative paths, so what it writes into the
    stubs does not depend on where the checkout is.
    """
    out = (out_dir or REPO_ROOT / "proto").resolve()
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I",
        "proto",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        PROTO.as_posix(),
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}):\n{result.stderr}")
    package_dir = out / PROTO.parent.relative_to("proto")
    return [package_dir / name for name in GENERATED]


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print(f"usage: {Path(sys.argv[0]).name} [OUT_DIR]", file=sys.stderr)
        return 2
    for path in regenerate(Path(argv[0]) if argv else None):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
