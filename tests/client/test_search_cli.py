"""`gatelearn search` run as a user runs it: the table as it fills, the answer saved and shown."""

from __future__ import annotations

import json
import re

from test_cli import Run, gatelearn  # noqa: F401  (the fixture)

from gatelearn.client import Client

ROW = re.compile(r"^(\S+) +(\S+) +(\d+) +(\d+)/(\d+) +([\d.]+) +(\S+) +(\S+)$")


def test_search_prints_the_table_in_size_order_and_saves_the_answer(
    gatelearn: Run,  # noqa: F811
    client: Client,
) -> None:
    out = gatelearn(
        "search",
        "xor",
        "--name",
        "xs",
        "--seeds",
        "12",
        "--target",
        "0.5",
        "--max-depth",
        "1",
        "--widths",
        "1,2,3",
        "--epochs",
        "1500",
        "--activation",
        "tanh",
        "--quiet",
    ).stdout.splitlines()
    assert out[0].split() == ["HIDDEN", "ACT", "PARAMS", "SOLVED", "SHARE", "MEDIAN", "P90"]
    rows = [ROW.match(line) for line in out[1:-1]]
    assert all(rows), out
    assert [(m[1], m[2]) for m in rows[:2]] == [("none", "-"), ("1", "tanh")]  # type: ignore[index]
    assert all(m[4] == "0" and m[7] == "-" for m in rows[:2])  # type: ignore[index]
    params = [int(m[3]) for m in rows]  # type: ignore[index]
    assert params == sorted(params)
    assert re.fullmatch(
        r"smallest: [\d,]+ tanh \(\d+ parameters\), \d+/12 seeds solved; "
        r"saved xs:1 \(\d+ of 4 candidates trained\)",
        out[-1],
    ), out[-1]
    assert client.evaluate("xs").accuracy == 1.0
    shown = gatelearn("show", "xs").stdout
    assert re.search(
        r"^search +chosen as the smallest candidate to solve 0.5 of its seeds", shown, re.MULTILINE
    )
    assert "\n".join(f"  {line}" for line in out[:-1]) in shown


def test_search_json_and_a_refused_search(gatelearn: Run) -> None:  # noqa: F811
    result = json.loads(gatelearn("--json", "search", "and", "--name", "a", "--seeds", "8").stdout)
    assert result["answer"]["hidden"] == [] and result["model"] == {"name": "a", "version": 1}
    gatelearn("search", "and", "--name", "a32", "--seeds", "8", "--dtype", "float32", "--quiet")
    assert json.loads(gatelearn("--json", "show", "a32").stdout)["dtype"] == "float32"
    refused = gatelearn(
        "search", "xor", "--name", "big", "--seeds", "4000", "--epochs", "1000000", ok=False
    )
    assert refused.returncode == 1 and "max_search_network_epochs" in refused.stderr
