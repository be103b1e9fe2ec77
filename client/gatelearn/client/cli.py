"""The `gatelearn` command line: train, use and manage models on a gatelearn server.

Every command except `serve` talks to a server through `Client` only. Results go to stdout, as
aligned text or, with --json, as one JSON document; progress and errors go to stderr. Exit
codes: 0 success, 1 a failed call or unusable input, 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gatelearn.client import _cli_input as read
from gatelearn.client import _cli_output as show
from gatelearn.client._cli_progress import ProgressBar
from gatelearn.client.client import (
    ADDRESS_ENV,
    DEFAULT_ADDRESS,
    TOKEN_ENV,
    Client,
    ComponentSpec,
    GateLearnError,
    TrainOptions,
)

__all__ = ["main"]

PROG = "gatelearn"
DATA_DIR_ENV = "GATELEARN_DATA_DIR"  # read by the server; named here for the help text
KINDS = ("activation", "loss", "optimizer", "initializer", "task")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Arguments that parse but do not go together; reported like argparse's own errors."""


@dataclass(frozen=True)
class Context:
    """What every command needs: where the server is and how to write results."""

    address: str
    timeout: float | None
    json: bool
    token: str | None = None  # None: the client reads $GATELEARN_AUTH_TOKEN
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        def path(name: str) -> Path | None:
            value = getattr(args, name, None)
            return Path(value) if value else None
        token = getattr(args, "auth_token", None)
        token_file = path("auth_token_file")
        if token_file is not None:
            try:
                token = token_file.read_text().strip()
            except OSError as error:
                raise UsageError(f"--auth-token-file: {error}") from None
            if not token:
                raise UsageError(f"--auth-token-file: {token_file} holds no token")
        return cls(address=getattr(args, "address", None) or os.environ.get(ADDRESS_ENV)
                   or DEFAULT_ADDRESS,
                   timeout=getattr(args, "timeout", None), json=getattr(args, "json", False),
                   token=token, tls_ca=path("tls_ca"), tls_cert=path("tls_cert"),
                   tls_key=path("tls_key"))

    def client(self) -> Client:
        security: dict[str, Any] = dict(token=self.token, tls_ca=self.tls_ca,
                                        tls_cert=self.tls_cert, tls_key=self.tls_key)
        # --timeout bounds every call, training included; otherwise the client's defaults.
        if self.timeout is None:
            return Client(self.address, **security)
        return Client(self.address, timeout=self.timeout, train_timeout=self.timeout,
                      **security)

    def emit(self, data: object, lines: Sequence[str]) -> None:
        print(show.to_json(data) if self.json else "\n".join(lines))


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value
    return parse


# ---------------------------------------------------------------- commands


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    # Imported here: the server needs NumPy and the rest of the command line does not.
    import logging

    from gatelearn.server import ServerConfig, serve

    if ctx.tls_ca is not None:
        raise UsageError("--tls-ca is for clients; a server checks client certificates "
                         "with --tls-client-ca")
    from gatelearn.server.limits import LIMITS_ENV, Limits

    try:
        from_env = [s for s in os.environ.get(LIMITS_ENV, "").split(",") if s.strip()]
        limits = Limits().overridden([*from_env, *(args.limit or ())])
    except ValueError as error:
        raise UsageError(f"--limit: {error}") from None
    settings: dict[str, Any] = {
        "plugins": tuple(args.plugin or ()),
        "limits": limits,
        "grace": args.grace,
        "auth_token": ctx.token or os.environ.get(TOKEN_ENV) or None,
        "tls_cert": ctx.tls_cert,
        "tls_key": ctx.tls_key,
        "tls_client_ca": Path(args.tls_client_ca) if args.tls_client_ca else None,
    }
    address = getattr(args, "address", None) or os.environ.get(ADDRESS_ENV)
    if address:
        settings["address"] = address
    if args.data_dir:
        settings["data_dir"] = Path(args.data_dir)  # else $GATELEARN_DATA_DIR or the default
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        ended_cleanly = serve(ServerConfig(**settings))
    except (OSError, ImportError, RuntimeError, TypeError, LookupError, ValueError) as error:
        # Start-up failures: the port is taken, a certificate is unreadable or half given, a
        # plugin is missing, broken or a duplicate.
        raise read.InputError(f"cannot start the server: {error}") from None
    return EXIT_OK if ended_cleanly else EXIT_FAILED


def _train_source(args: argparse.Namespace) -> tuple[ComponentSpec | None, Any]:
    """The task spec, or the (inputs, outputs) table, that the arguments ask for."""
    if args.table is None:
        if args.outputs is not None:
            raise UsageError("--outputs only applies with --table")
        if args.task is None:
            raise UsageError("give a TASK (see 'gatelearn tasks'), or --table FILE")
        params = dict(args.param or [])
        return (args.task, params) if params else args.task, None
    if args.task not in (None, "table"):
        raise UsageError(f"with --table, TASK must be 'table' or left out, not {args.task!r}")
    if args.param:
        raise UsageError("-p/--param does not apply with --table")
    return None, read.read_table(args.table, args.outputs or 1)


def _with_params(name: str | None, params: dict[str, Any], default: str) -> ComponentSpec | None:
    """A component spec; parameters without a name go to the server's default component."""
    if name is None and not params:
        return None
    return (name or default, params)


def cmd_train(args: argparse.Namespace, ctx: Context) -> int:
    task, table = _train_source(args)
    opt_params = dict(args.opt or [])
    if args.lr is not None:
        opt_params["lr"] = args.lr
    options = TrainOptions(
        epochs=args.epochs,
        batch_size=args.batch_size or 0,
        shuffle=False if args.no_shuffle else None,
        weight_decay=args.weight_decay or 0.0,
        stop_when_solved=False if args.no_stop_when_solved else None,
        margin=args.margin,
        loss_target=args.loss_target,
        patience=args.patience or 0,
        min_delta=args.min_delta or 0.0,
    )
    settings: dict[str, Any] = dict(
        table=table,
        hidden=args.hidden,
        activations=args.activation or (),
        bias=False if args.no_bias else None,
        loss=args.loss,
        optimizer=_with_params(args.optimizer, opt_params, "adam"),
        initializer=_with_params(args.init, dict(args.init_param or []), "xavier"),
        options=None if options == TrainOptions() else options,  # keep the record minimal
        seed=args.seed or 0,
        population=args.population or 1,
        dtype="float32" if args.float32 else "float64",
    )
    bar = None if args.quiet else ProgressBar(sys.stderr)
    with ctx.client() as client:
        try:
            outcome = client.train(args.name, task,
                                   on_progress=bar.update if bar else None, **settings)
        except KeyboardInterrupt:
            # Leaving client.train closed the stream, which cancels the run on the server.
            if bar:
                bar.close()  # before the message, so it starts on a clean line
            print(f"{PROG}: training cancelled; nothing saved", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            if bar:
                bar.close()
    ctx.emit(outcome, [show.outcome_line(outcome)])
    return EXIT_OK


def cmd_predict(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    if args.rows and args.csv:
        raise UsageError("give rows as arguments or with --csv, not both")
    rows = args.rows or read.read_rows(args.csv or "-")
    with ctx.client() as client:
        prediction = client.predict(name, rows, version=version)
    inputs = [show.numbers(r) for r in rows]
    width = max(len(i) for i in inputs)
    lines = [f"{i.ljust(width)}  ->  {show.numbers(out, '.4f')}  ({show.numbers(label)})"
             for i, out, label in zip(inputs, prediction.outputs, prediction.labels,
                                      strict=True)]
    ctx.emit({**asdict(prediction), "inputs": rows}, lines)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    if args.csv is None and args.outputs is not None:
        raise UsageError("--outputs only applies with --csv")
    table = None if args.csv is None else read.read_table(args.csv, args.outputs or 1)
    with ctx.client() as client:
        evaluation = client.evaluate(name, version=version, table=table)
    right = sum(r.correct for r in evaluation.rows)
    lines = show.table(
        ["INPUTS", "TARGETS", "OUTPUTS", "OK"],
        [(show.numbers(r.inputs), show.numbers(r.targets), show.numbers(r.outputs, ".4f"),
          "yes" if r.correct else "NO") for r in evaluation.rows])
    lines.append(f"{evaluation.model}  {right}/{len(evaluation.rows)} rows right  "
                 f"accuracy {evaluation.accuracy:.2f}  min margin {evaluation.min_margin:.3g}")
    ctx.emit(evaluation, lines)
    return EXIT_OK


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        models = client.models(args.name or "")
    if not models:
        lines = ["no models" + (f" named {args.name!r}" if args.name else "")]
    else:
        lines = show.table(
            ["MODEL", "TASK", "SIZES", "CREATED (UTC)", "LOSS", "ACCURACY", "MIN MARGIN",
             "SOLVED"],
            [(m.ref, m.task, "-".join(map(str, m.sizes)), show.created(m),
              f"{m.metrics.loss:.4g}", f"{m.metrics.accuracy:.2f}",
              f"{m.metrics.min_margin:.3g}", show.solved_text(m.metrics)) for m in models],
            right=(4, 5, 6))
    ctx.emit(models, lines)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        detail = client.model(name, version=version)
    s, history = detail.summary, detail.history
    layers = " -> ".join(map(str, s.sizes))
    lines = [
        f"model        {s.ref}",
        f"task         {s.task}",
        f"created      {show.created(s)} UTC",
        f"layers       {layers}  ({', '.join(detail.activations)}; "
        f"{'with' if detail.bias else 'no'} bias)",
        f"dtype        {detail.dtype}",
        f"member seed  {detail.member_seed}",
        f"metrics      {show.metrics_text(s.metrics)}  solved: {show.solved_text(s.metrics)}",
    ]
    if history.epochs:
        lines.append(f"history      {len(history.epochs)} points, epochs 0 to "
                     f"{history.epochs[-1]}")
        count = len(history.epochs)
        picks = sorted({round(i * (count - 1) / 5) for i in range(6)})  # at most 6 points
        lines += show.table(["EPOCH", "LOSS", "ACCURACY"],
                            [(history.epochs[i], f"{history.loss[i]:.4g}",
                              f"{history.accuracy[i]:.2f}") for i in picks],
                            right=(0, 1, 2), indent="  ")
    else:
        lines.append("history      none (imported)")
    if detail.request is None:
        lines.append("request      none (imported)")
    else:
        fields = [f"{key}: {show.value_text(value)}" for key, value in detail.request.items()]
        lines += [f"{('request' if i == 0 else '').ljust(12)} {field}"
                  for i, field in enumerate(fields)]
    ctx.emit(detail, lines)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        deleted = client.delete(name, version=version)
    ctx.emit({"name": name, "deleted_versions": deleted},
             ["deleted " + ", ".join(f"{name}:{v}" for v in deleted)])
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        components = client.plugins(args.kind or "")
    ctx.emit(components, show.component_lines(components) or ["no components"])
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        tasks = client.tasks()
    lines = show.table(["TASK", "PARAMS", "DESCRIPTION"],
                       [(t.name, show.params_summary(t) or "-", t.description) for t in tasks])
    ctx.emit(tasks, lines)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        exported = client.export_model(name, version=version)
    text = show.to_json(exported)
    if args.output in (None, "-"):
        print(text)  # the export is JSON already, with or without --json
        return EXIT_OK
    Path(args.output).write_text(text + "\n", encoding="utf-8")
    ref = {"name": exported.get("name", name), "version": exported.get("version", version)}
    ctx.emit({"model": ref, "file": args.output},
             [f"exported {ref['name']}:{ref['version']} to {args.output}"])
    return EXIT_OK


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    model = read.read_json(args.file)
    with ctx.client() as client:
        ref = client.import_model(args.name, model)
    ctx.emit(ref, [f"imported {ref}"])
    return EXIT_OK


# ---------------------------------------------------------------- the parser

EPILOG = f"""\
examples:
  {PROG} serve --data-dir ./models
  {PROG} train xor --name xor-demo
  {PROG} predict xor-demo 0,0 0,1 1,0 1,1
  {PROG} train parity -p n=3 --name parity3 --hidden 8,8 --lr 0.1
  {PROG} show xor-demo:1

The server address comes from --address, else ${ADDRESS_ENV}, else {DEFAULT_ADDRESS}.
"""

TRAIN_EPILOG = """\
Parameter values (-p, --opt, --init-param) are read as JSON when they parse, else as
strings: -p n=3, --opt lr=0.5, --opt nesterov=true, --init-param weights=[[1,0],[0,1]].

A table file (--table FILE, or - for stdin) is CSV: one row per line, its input values
followed by its output values, all 0 or 1; --outputs K (default 1) says how many trailing
columns are outputs. Blank lines and text after # are ignored. E.g. for AND:
  0,0,0
  0,1,0
  1,0,0
  1,1,1
Ctrl-C cancels the training; the server then saves nothing.
"""


def _common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command; SUPPRESS keeps one from erasing another."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    group.add_argument("--address", metavar="HOST:PORT", default=argparse.SUPPRESS,
                       help=f"the server's address (default: ${ADDRESS_ENV}, else "
                            f"{DEFAULT_ADDRESS}); for serve, the address to listen on")
    group.add_argument("--timeout", metavar="SECONDS", type=_positive_float,
                       default=argparse.SUPPRESS,
                       help="deadline of each call (default: 30, and 3600 for train)")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="write the result to stdout as one JSON document")
    group.add_argument("--auth-token", metavar="TOKEN", default=argparse.SUPPRESS,
                       help=f"bearer token to send (for serve: to require); prefer "
                            f"${TOKEN_ENV}, which is the default and stays out of `ps`")
    group.add_argument("--auth-token-file", metavar="FILE", default=argparse.SUPPRESS,
                       help="read the bearer token from this file (wins over --auth-token)")
    group.add_argument("--tls-ca", metavar="FILE", default=argparse.SUPPRESS,
                       help="connect with TLS, trusting this CA certificate (PEM)")
    group.add_argument("--tls-cert", metavar="FILE", default=argparse.SUPPRESS,
                       help="client certificate (PEM), with --tls-key; for serve: the "
                            "server's certificate, which turns TLS on")
    group.add_argument("--tls-key", metavar="FILE", default=argparse.SUPPRESS,
                       help="the private key (PEM) of --tls-cert")
    return common


def _add_train(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "train", parents=[common], epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="train a model and save it as a new version",
        description="Train a network on a task and save it as the next version of NAME.\n"
                    "Options left out take the server's defaults.")
    p.set_defaults(handler=cmd_train, subparser=p)
    p.add_argument("task", nargs="?", metavar="TASK",
                   help="the task to learn (see 'gatelearn tasks'); 'table' or left out "
                        "with --table")
    p.add_argument("--name", required=True, help="the model's name")
    p.add_argument("-p", "--param", action="append", type=read.key_value, metavar="KEY=VALUE",
                   help="a task parameter (repeatable)")
    p.add_argument("--table", metavar="CSV", help="learn the truth table in this CSV file "
                                                  "(- for stdin) instead of a task")
    p.add_argument("--outputs", type=_count(1), metavar="K",
                   help="with --table: how many trailing columns are outputs (default: 1)")
    net = p.add_argument_group("network")
    net.add_argument("--hidden", type=read.hidden_units, metavar="8,8|none",
                     help="hidden layer widths, or 'none' for no hidden layer (default: 8)")
    net.add_argument("--activation", action="append", type=read.component,
                     metavar="NAME[:KEY=VALUE...]",
                     help="one per layer after the inputs, hidden layers then the output "
                          "(repeat it; default: tanh ... sigmoid)")
    net.add_argument("--no-bias", action="store_true", help="layers without bias vectors")
    net.add_argument("--float32", action="store_true", help="compute in 32-bit floats")
    fit = p.add_argument_group("fitting")
    fit.add_argument("--loss", type=read.component, metavar="NAME",
                     help="the loss function (default: bce)")
    fit.add_argument("--optimizer", metavar="NAME",
                     help="the optimizer (default: adam with lr 0.05)")
    fit.add_argument("--opt", action="append", type=read.key_value, metavar="KEY=VALUE",
                     help="an optimizer parameter (repeatable; without --optimizer: adam's)")
    fit.add_argument("--lr", type=float, metavar="X", help="learning rate: --opt lr=X")
    fit.add_argument("--init", metavar="NAME", help="the weight initializer (default: xavier)")
    fit.add_argument("--init-param", action="append", type=read.key_value, metavar="KEY=VALUE",
                     help="an initializer parameter (repeatable; without --init: xavier's)")
    fit.add_argument("--seed", type=_count(0), metavar="N",
                     help="seed of the initial weights and sampling (default: 0)")
    fit.add_argument("--population", type=_count(1), metavar="N",
                     help="train N networks from seeds seed..seed+N-1 and keep the best")
    loop = p.add_argument_group("training loop")
    loop.add_argument("--epochs", type=_count(0), metavar="N",
                      help="most updates to apply (default: 5000)")
    loop.add_argument("--batch-size", type=_count(0), metavar="N",
                      help="rows per update (default: all rows)")
    loop.add_argument("--no-shuffle", action="store_true",
                      help="keep the row order of minibatches")
    loop.add_argument("--weight-decay", type=float, metavar="X", help="L2 weight decay")
    loop.add_argument("--margin", type=float, metavar="X",
                      help="margin past the threshold that counts as solved, as a fraction "
                           "of high - low (default: 0.25)")
    loop.add_argument("--no-stop-when-solved", action="store_true",
                      help="keep training once solved")
    loop.add_argument("--loss-target", type=float, metavar="X",
                      help="stop once the loss is at most X")
    loop.add_argument("--patience", type=_count(0), metavar="N",
                      help="stop after N epochs without improvement")
    loop.add_argument("--min-delta", type=float, metavar="X",
                      help="the improvement --patience asks for (default: 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train small neural networks on truth tables, and use them, on a "
                    "gatelearn server.")
    commands = parser.add_subparsers(metavar="COMMAND", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace, Context], int], summary: str,
            **kwargs: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=summary, description=summary[0].upper() + summary[1:]
            + ".", **kwargs)
        sub.set_defaults(handler=handler, subparser=sub)
        return sub

    def model_arg(sub: argparse.ArgumentParser, what: str = "the latest") -> None:
        sub.add_argument("model", type=read.model_ref, metavar="NAME[:VERSION]",
                         help=f"the model, and its version (default: {what})")

    serve = add("serve", cmd_serve, "run a gatelearn server until SIGTERM or Ctrl-C")
    serve.add_argument("--data-dir", metavar="DIR",
                       help=f"where models are stored (default: ${DATA_DIR_ENV}, else "
                            "$XDG_DATA_HOME/gatelearn or ~/.local/share/gatelearn)")
    serve.add_argument("--plugin", action="append", metavar="MODULE",
                       help="also load this plugin module (repeatable)")
    serve.add_argument("--tls-client-ca", metavar="FILE",
                       help="require client certificates signed by this CA (needs --tls-cert)")
    serve.add_argument("--limit", action="append", metavar="NAME=VALUE",
                       help="change a limit, e.g. max_epochs=100000 (repeatable; also "
                            "$GATELEARN_LIMITS, comma-separated); see 'Limits' in the README")
    serve.add_argument("--grace", type=_positive_float, default=5.0, metavar="SECONDS",
                       help="at shutdown, how long running trainings may go on before they "
                            "are cancelled (default: 5)")
    serve.add_argument("--log-level", type=str.upper, default="WARNING",
                       choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                       help="default: WARNING")

    _add_train(commands, common)

    predict = add("predict", cmd_predict, "run a model on rows of inputs",
                  epilog="Rows are given as arguments (0,1 or '0 1'; put -- before rows "
                         "starting with -), or as CSV lines with --csv or on stdin.")
    model_arg(predict)
    predict.add_argument("rows", nargs="*", type=read.row, metavar="ROW",
                         help="input values separated by commas, e.g. 0,1")
    predict.add_argument("--csv", metavar="FILE", help="read rows from a CSV file (- = stdin)")

    evaluate = add("eval", cmd_eval, "check a model on its own task, or on a CSV table")
    model_arg(evaluate)
    evaluate.add_argument("--csv", metavar="FILE",
                          help="a table: inputs then outputs on each row (- = stdin)")
    evaluate.add_argument("--outputs", type=_count(1), metavar="K",
                          help="how many trailing columns of --csv are outputs (default: 1)")

    models = add("models", cmd_models, "list the latest version of each model, or every "
                                       "version of one")
    models.add_argument("name", nargs="?", metavar="NAME", help="list every version of NAME")

    model_arg(add("show", cmd_show, "describe a model: architecture, metrics, history and "
                                    "the request that trained it"))
    model_arg(add("delete", cmd_delete, "delete a model version, or every version"),
              "every version")

    plugins = add("plugins", cmd_plugins, "list the server's components and their parameters")
    plugins.add_argument("--kind", choices=KINDS, help="only components of this kind")

    add("tasks", cmd_tasks, "list the tasks the server can train on")

    export = add("export", cmd_export, "write a model's weights and task as JSON")
    model_arg(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    imports = add("import", cmd_import, "store an exported model as a new version")
    imports.add_argument("name", metavar="NAME", help="the name to store it under")
    imports.add_argument("file", metavar="FILE", help="the exported JSON (- = stdin)")
    return parser


# ---------------------------------------------------------------- running


def _error(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already reported by argparse
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        ctx = Context.from_args(args)
        return int(args.handler(args, ctx))
    except UsageError as error:
        args.subparser.print_usage(sys.stderr)
        print(f"{args.subparser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GateLearnError as error:
        message = f"{error.code.name}: {error.details}"
        if error.code.name == "UNAVAILABLE":
            message += f" (is the server running at {ctx.address}?)"
        return _error(message)
    except read.InputError as error:
        return _error(str(error))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _error(f"{where}{error.strerror or error}")


if __name__ == "__main__":
    raise SystemExit(main())
