"""Arguments: a parser whose errors are one line, the value types that check each option, and the
option groups several commands share."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from engine.models.sim import SIM_MODEL, ErrorKind
from engine.models.urls import split_urls
from engine.run.config import MAX_LOOKAHEAD
from engine.task.hanoi import MAX_DISKS
from engine.task.prompt import STYLES

EXIT_OK, EXIT_UNSOLVED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_DISKS = 10
BIG_RUN_DISKS = 24
"""Above this many disks a run needs --yes: 25 disks are 33.5M steps, the paper's run 32 times over."""


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``maker: error: ...``) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"maker: error: {message} (see maker {self._subcommand()}--help)\n")

    def _subcommand(self) -> str:
        words = self.prog.split()[1:]
        return " ".join(words) + " " if words else ""


# -- value types: each rejects a bad value with a message argparse prints in one line -------------


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({bound})")
        return value

    return parse


def bounded_float(low: float, high: float, *, open_low: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (low < value if open_low else low <= value) or value > high or value != value:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({'(' if open_low else '['}{low:g}, {high:g}])")
        return value

    return parse


def k_or_auto(text: str) -> int | str:
    return "auto" if text == "auto" else bounded_int(1)(text)


def k_list(text: str) -> list[int]:
    """A margin, a list like 1,2,3 or a range like 1-5."""
    ks: list[int] = []
    for part in text.split(","):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a k, a list like 1,2,3 or a range like 1-5") from None
        if first < 1 or last < 1:
            raise argparse.ArgumentTypeError(f"{part!r}: k starts at 1")
        if last < first:
            raise argparse.ArgumentTypeError(f"{part!r}: the range runs backwards (did you mean {last}-{first}?)")
        ks.extend(range(first, last + 1))
    return ks


def error_kinds(text: str) -> dict[ErrorKind, float]:
    kinds: dict[ErrorKind, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        try:
            kind = ErrorKind(name.strip())
        except ValueError:
            choices = ", ".join(k.value for k in ErrorKind)
            raise argparse.ArgumentTypeError(f"unknown error kind {name.strip()!r} (choose from {choices})") from None
        try:
            kinds[kind] = float(weight) if weight else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"weight {weight!r} of {kind.value} is not a number") from None
        if kinds[kind] < 0:
            raise argparse.ArgumentTypeError(f"weight of {kind.value} is negative")
    if sum(kinds.values()) <= 0:
        raise argparse.ArgumentTypeError("at least one error kind needs a positive weight")
    return kinds


def url_list(text: str) -> list[str]:
    urls = split_urls(text)
    if not urls:
        raise argparse.ArgumentTypeError("no address given")
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise argparse.ArgumentTypeError(f"{url!r} is not an http(s) URL")
    return urls


def proxy_url(text: str) -> str:
    """An HTTP proxy's address: http:// or https://, with a host (and a port, if it needs one)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP proxy's address, e.g. http://127.0.0.1:3128")
    return text


def record_path(text: str) -> Path:
    """A new recording's file: not empty, not a folder, not a device."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the recording needs a file name, e.g. run.maker")
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        folder = text.rstrip("/" + os.sep) or "."
        what = "is a folder" if path.is_dir() else "names a folder, which does not exist (make it first)"
        raise argparse.ArgumentTypeError(f"{text!r} {what}: give a file in it, e.g. {folder}/run.maker")
    if path.exists() and not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular file (a device or a pipe): give a file name")
    return path


def step_list(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of step numbers") from None
    if any(step < 1 for step in steps):
        raise argparse.ArgumentTypeError("step numbers start at 1")
    return steps


# -- option groups ----------------------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run, shared by the headless and the interactive ``solve``."""
    run = parser.add_argument_group("the run")
    run.add_argument("--disks", type=bounded_int(1, MAX_DISKS), default=DEFAULT_DISKS, metavar="N",
                     help=f"disks in the tower; the task takes 2^N - 1 steps (default {DEFAULT_DISKS}; the paper ran 20)")
    run.add_argument("--k", type=k_or_auto, default=3, metavar="K",
                     help="a candidate wins when it leads every other by K votes (default 3, the paper's); "
                          "'auto' takes k_min from --calibration, at the lowest p_vote its samples cannot rule out")
    run.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                     help="a file from 'maker calibrate --out', for --k auto")
    run.add_argument("--target", type=bounded_float(0, 1, open_low=True), default=0.95, metavar="T",
                     help="with --k auto: the wanted chance of a zero-error run (default 0.95)")
    run.add_argument("--max-tokens", type=bounded_int(1), default=750, metavar="T",
                     help="output-token limit (default 750). Replies cut there, or longer by the tokens the server "
                          "counts or by their length (over 10 characters a token), are red-flagged too_long; replies "
                          "with no text (empty, or tool calls in place of an answer) are red-flagged empty")
    run.add_argument("--first-temperature", type=bounded_float(0, 2), default=0.0, metavar="T",
                     help="temperature of each step's first sample (default 0)")
    run.add_argument("--temperature", type=bounded_float(0, 2), default=0.1, metavar="T",
                     help="temperature of the other samples (default 0.1)")
    run.add_argument("--max-votes", type=bounded_int(0), default=50, metavar="V",
                     help="valid votes after which a step without a winner stops the run as undecided (default 50: "
                          "a step still open by then almost surely has p < 0.5, which no vote can fix); "
                          "0 samples on until the step is decided, as the paper does")
    run.add_argument("--max-red-flags", type=bounded_int(0), default=200, metavar="R",
                     help="red flags after which a step stops the run as undecided (default 200: the model cannot "
                          "answer in the format); 0 never gives up")
    run.add_argument("--parallel", type=bounded_int(1), default=None, metavar="P",
                     help="samples sent at the start of a step (default K); more cut latency but may be wasted")
    run.add_argument("--yes", action="store_true",
                     help=f"start a run of more than {BIG_RUN_DISKS} disks; without it, such a run only says how "
                          "long it would take and how big its recording would be")
    run.add_argument("--stop-on-error", action="store_true",
                     help="stop at the first step the audit finds wrong (default: count and go on)")
    add_lookahead_option(run)
    add_prompt_options(run)
    model = parser.add_argument_group("the model")
    add_model_option(model)
    add_price_options(model)
    model.add_argument("--budget-usd", type=bounded_float(0, 1e9, open_low=True), default=None, metavar="USD",
                       help="stop before the run could spend more than this (resumable when recorded)")
    add_server_options(parser.add_argument_group(f"a served model (any --model but {SIM_MODEL})"))
    add_sim_options(parser)


DEFAULT_LOOKAHEAD = 32


def add_lookahead_option(group: Any, resume: bool = False) -> None:
    default = ("the recorded run's" if resume else
               f"{DEFAULT_LOOKAHEAD} for a served model or a simulated one with --latency, 0 otherwise")
    group.add_argument("--lookahead", type=bounded_int(0, MAX_LOOKAHEAD), default=None, metavar="N",
                       help="sample up to N steps ahead of the oldest undecided one, on the states the strategy "
                            "predicts (each the strategy's move applied to the state before it); steps are still "
                            "decided in order by the model's votes alone, and what a wrong prediction asked for is "
                            f"thrown away and counted as wasted (default {default}; 0 turns it off)")


def add_prompt_options(group: Any) -> None:
    """The agent's prompt: a built-in style, or a user's template file."""
    prompt = group.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", choices=STYLES, default=None,
                        help="the agent's prompt: 'paper' (default), the paper's prompt and answer format; "
                             "'guided', this project's prompt, which adds the disk count and a procedure")
    prompt.add_argument("--prompt-file", type=Path, default=None, metavar="FILE",
                        help="your own prompt: a TOML file with system and user strings, the user one holding "
                             "{previous_move} and {current_state} (see the README)")


def add_model_option(group: Any) -> None:
    group.add_argument("--model", default=SIM_MODEL, metavar="NAME",
                       help=f"'{SIM_MODEL}' (default): the seeded simulated LLM, no key or network needed; any other "
                            "name is asked of an OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp)")


def add_price_options(group: Any) -> None:
    group.add_argument("--price-in", type=bounded_float(0, 1e6), default=None, metavar="USD",
                       help="USD per million input tokens (overrides the price table)")
    group.add_argument("--price-out", type=bounded_float(0, 1e6), default=None, metavar="USD",
                       help="USD per million output tokens (overrides the price table)")


SIM_OPTIONS = ("error_rate", "error_kinds", "wrong_answers", "hard_steps", "hard_error_rate", "latency", "latency_spread")


def add_sim_options(parser: argparse.ArgumentParser) -> None:
    """The simulated model's options; each defaults to None, so that what was given is known."""
    sim = parser.add_argument_group(f"the simulated model (--model {SIM_MODEL})")
    sim.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the simulated model (default 0)")
    sim.add_argument("--error-rate", type=bounded_float(0, 1), default=None, metavar="P",
                     help="chance a sample is wrong in any way (default 0.0022, the paper's gpt-4.1-mini)")
    sim.add_argument("--error-kinds", type=error_kinds, default=None, metavar="KIND=W,...",
                     help="weights of wrong_move, wrong_state, malformed, overlong "
                          "(default wrong_move=0.45,wrong_state=0.25,malformed=0.2,overlong=0.1)")
    sim.add_argument("--wrong-answers", choices=("spread", "same"), default=None,
                     help="'same': a step's wrong votes are all one answer (the gambler's-ruin case); "
                          "'spread' (default): they scatter over several")
    sim.add_argument("--hard-steps", type=step_list, default=None, metavar="S1,S2,...",
                     help="steps on which the model errs at --hard-error-rate (correlated hard steps)")
    sim.add_argument("--hard-error-rate", type=bounded_float(0, 1), default=None, metavar="P",
                     help="error rate on the hard steps (default 0.5)")
    sim.add_argument("--latency", type=bounded_float(0, 600), default=None, metavar="SECONDS",
                     help="median reply time of the simulated model (default 0: instant)")
    sim.add_argument("--latency-spread", type=bounded_float(0, 5), default=None, metavar="SIGMA",
                     help="log-normal spread of the reply time (default 0: fixed)")


def add_server_options(group: Any) -> None:
    """How to reach an OpenAI-compatible server; each defaults to None, so that a resumed run
    keeps its recorded option wherever none is given anew."""
    group.add_argument("--base-url", action="append", type=url_list, default=None, metavar="URL",
                       help="the server, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL, then OpenAI); "
                            "a local server needs no key. Give it several times (or a comma-separated list) for "
                            "a fleet: each request goes to the server with the fewest in flight, one that keeps "
                            "failing is taken down and probed until it answers, and the others carry the run")
    group.add_argument("--api-key-env", default=None, metavar="VAR",
                       help="environment variable holding the API key (default OPENAI_API_KEY); "
                            "the key itself is never a flag and never written anywhere")
    group.add_argument("--concurrency", type=bounded_int(1, 1024), default=None, metavar="C",
                       help="requests in flight at most, across the run (default 16)")
    group.add_argument("--rpm", type=bounded_int(1, 10_000_000), default=None, metavar="R",
                       help="requests a minute at most, retries included, across the fleet (default: none; the run "
                            "finds the provider's limit by itself, from its 429 'too many requests' replies and its "
                            "x-ratelimit headers)")
    group.add_argument("--tpm", type=bounded_int(1, 10_000_000_000), default=None, metavar="T",
                       help="tokens a minute at most (each request counts its prompt and --max-tokens), "
                            "across the fleet (default: none, or the provider's stated limit)")
    group.add_argument("--timeout", type=bounded_float(0.1, 3600), default=None, metavar="SECONDS",
                       help="seconds a request may take before it is tried again (default 60)")
    group.add_argument("--patience", type=bounded_float(1, 7 * 86400), default=None, metavar="SECONDS",
                       help="how long to wait without a single reply from any server before giving up (default "
                            "600, ten minutes); until then 429s, 5xx replies (the server's own errors), timeouts and "
                            "lost connections are waited out and tried again. A run that gives up can be resumed")
    group.add_argument("--retries", type=bounded_int(0, 100), default=None, metavar="N",
                       help="how often to ask again when a server's reply is not a chat completion at all (not "
                            "JSON, a stream nobody asked for) before giving up (default 8)")
    group.add_argument("--no-hedge", action="store_true", default=None,
                       help="never send a slow request a second time (by default a request of the step being "
                            "decided that takes three times the median reply time is sent again, and the first "
                            "reply is the sample; never with --budget-usd)")
    group.add_argument("--proxy", type=proxy_url, default=None, metavar="URL",
                       help="an HTTP proxy for every request, e.g. http://127.0.0.1:3128 (default: $HTTPS_PROXY, "
                            "$HTTP_PROXY, $ALL_PROXY and $NO_PROXY, as httpx reads them); never recorded")
    group.add_argument("--no-temperature", action="store_true", default=None,
                       help="send no temperature (reasoning models reject one)")
    group.add_argument("--token-param", choices=("max_tokens", "max_completion_tokens"), default=None,
                       help="the name the token limit is sent under (default max_tokens; reasoning models want "
                            "max_completion_tokens)")


def add_record_options(parser: argparse.ArgumentParser) -> None:
    """Recording options of ``solve``."""
    group = parser.add_argument_group("recording")
    group.add_argument("--record", type=record_path, default=None, metavar="FILE",
                       help="record every sample to FILE (SQLite; a new file, or an empty one) for resume and "
                            "replay")
    group.add_argument("--keep-text", action=argparse.BooleanOptionalAction, default=None,
                       help=f"keep every reply's text, the winners' too (default: on for a served model; for "
                            f"--model {SIM_MODEL}, only red-flagged and minority replies). Texts are stored a block "
                            "of steps at a time, compressed together: a 20-disk simulated run grows by about 15 "
                            "bytes a step")
