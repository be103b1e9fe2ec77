"""A bare grpcio service answering every call of /bench.Echo/Echo with the same bytes (no
(de)serializers), in a process of its own: what a unary Predict is compared with.

    python bench/_echo.py --address 127.0.0.1:PORT --response HEX [--workers N] [--aio]

Synchronous by default (a thread pool of N threads, as `gatelearn serve` has); `--aio` serves
it from grpc.aio's event loop instead. Scheduled as `gatelearn serve` is (real-time where the
system allows it), so the two differ only in the Python they run. Prints "serving on ADDRESS",
then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import threading
from concurrent import futures

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")  # as bench/run.py has it

import grpc

from gatelearn.server.priority import serve_in_real_time

SERVICE, METHOD = "bench.Echo", "Echo"


def handler(response: bytes) -> grpc.GenericRpcHandler:
    def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
        return response

    return grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(echo)}
    )


def aio_handler(response: bytes) -> grpc.GenericRpcHandler:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return response

    return grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(echo)}
    )


def serve_threads(address: str, response: bytes, workers: int) -> None:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        handlers=(handler(response),),
        options=[("grpc.so_reuseport", 0)],
    )
    if server.add_insecure_port(address) == 0:
        raise SystemExit(f"cannot listen on {address}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(f"serving on {address}", flush=True)
    while not stop.wait(0.5):  # a timed wait: the main thread must get to run the handler
        pass
    server.stop(0).wait()


async def serve_aio(address: str, response: bytes) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((aio_handler(response),))
    if server.add_insecure_port(address) == 0:
        raise SystemExit(f"cannot listen on {address}")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await server.start()
    print(f"serving on {address}", flush=True)
    await stop.wait()
    await server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--response", required=True, help="the answer's bytes, in hex")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--aio", action="store_true")
    args = parser.parse_args()
    serve_in_real_time()  # before the server starts its threads, which inherit it
    response = bytes.fromhex(args.response)
    if args.aio:
        asyncio.run(serve_aio(args.address, response))
    else:
        serve_threads(args.address, response, args.workers)


if __name__ == "__main__":
    main()
