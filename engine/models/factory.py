"""Build a sampler from a model's name: the only place that tells the simulated model from a served one.

``sim`` is the seeded simulated model in this process; any other name is asked of an
OpenAI-compatible server through the ``openai`` SDK (imported only then). A recording keeps a
sampler's :meth:`~engine.models.sampler.Sampler.settings`, from which :func:`rebuild_sampler`
makes it again on resume.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.models.sampler import ModelError, Sampler
from engine.models.sim import SIM_MODEL, SimConfig, SimulatedLLM
from engine.models.urls import split_urls


class ModelSetupError(ModelError):
    """The options cannot make a sampler (no key, a bad address, simulated-model options for a
    served model): the user's input, so one line and exit 2."""

    usage = True


class ServerOptions(BaseModel):
    """How to reach an OpenAI-compatible server. The key is read from the environment variable
    ``api_key_env`` names; it is never an option and never written down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_urls: tuple[str, ...] = ()
    """The servers (a fleet when several); none: ``$OPENAI_BASE_URL`` (comma-separated), then OpenAI."""
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(16, ge=1)
    rpm: int | None = Field(None, ge=1)
    """Requests a minute at most, across the fleet (None: no cap on this side)."""
    tpm: int | None = Field(None, ge=1)
    """Tokens a minute at most (the prompt and the most a reply may have), across the fleet."""
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(8, ge=0)
    """Retries of a body that is not a chat completion (a bad body) before the run stops."""
    patience_s: float = Field(600.0, gt=0)
    """How long a run waits without a single reply from any server before it stops (resumable)."""
    hedging: bool = True
    """Send a slow request of the oldest step a second time (:mod:`engine.models.hedge`)."""
    proxy: str | None = None
    """An HTTP proxy for every request, over the environment's (never recorded)."""
    send_temperature: bool = True
    token_parameter: str = "max_tokens"


def is_simulated(model: str) -> bool:
    """True for the simulated model's name."""
    return model == SIM_MODEL


def make_sampler(model: str, *, sim: SimConfig | None = None, server: ServerOptions | None = None) -> Sampler:
    """The simulated model for ``sim``'s name, else a served model reached with ``server``."""
    if is_simulated(model):
        return SimulatedLLM(sim or SimConfig())
    if sim is not None:
        raise ModelSetupError("simulated-model options only apply to the simulated model (--model sim)")
    return _served(model, server or ServerOptions())


def rebuild_sampler(model: str, settings: dict[str, Any], first_step: int, server: ServerOptions | None) -> Sampler:
    """A recorded run's sampler again, to go on from ``first_step``.

    The simulated model takes its recorded configuration: its draws depend on the step, not on
    the order of calls, so the resumed part draws what an unbroken run would have drawn. A served
    model takes its recorded request options, with ``server``'s in place of any given anew.
    """
    if settings.get("kind") == SIM_MODEL:
        try:
            config = SimConfig.model_validate({key: value for key, value in settings.items() if key != "kind"})
        except ValidationError as exc:
            raise ModelSetupError(f"the recorded simulated model is invalid ({exc.errors()[0]['msg']})") from None
        return SimulatedLLM(config)
    if settings.get("kind") != "openai":
        raise ModelSetupError(f"the recorded model {model!r} cannot be rebuilt here")
    urls = settings.get("base_urls") or ([settings["base_url"]] if settings.get("base_url") else [])
    recorded = ServerOptions(
        base_urls=tuple(urls),
        api_key_env=settings.get("api_key_env", "OPENAI_API_KEY"),
        concurrency=settings.get("concurrency", 16),
        rpm=settings.get("rpm"),
        tpm=settings.get("tpm"),
        timeout_s=settings.get("timeout_s", 60.0),
        patience_s=settings.get("patience_s", 600.0),
        max_retries=settings.get("max_retries", 8),
        hedging=settings.get("hedging", True),
        send_temperature=settings.get("send_temperature", True),
        token_parameter=settings.get("token_parameter", "max_tokens"),
    )
    given = server.model_dump(exclude_unset=True) if server is not None else {}
    return _served(settings.get("model", model), recorded.model_copy(update=given))


def formula_votes_for(settings: dict[str, Any], k: int) -> float | None:
    """Valid votes per step the gambler's-ruin formula gives for a simulated model's configured
    error rate; None for a served model, whose error rate is not known in advance."""
    if settings.get("kind") != SIM_MODEL:
        return None
    try:
        return SimConfig.model_validate({key: value for key, value in settings.items() if key != "kind"}).expected_votes(k)
    except ValidationError:
        return None


def _sendable(key: str) -> bool:
    """Whether a key can go in an ``Authorization`` header: printable ASCII only."""
    return key.isascii() and key.isprintable()


def _served(model: str, server: ServerOptions) -> Sampler:
    source = "--base-url" if server.base_urls else "$OPENAI_BASE_URL"
    base_urls = list(server.base_urls) or split_urls(os.environ.get("OPENAI_BASE_URL", ""))
    for url in base_urls:
        if not url.startswith(("http://", "https://")):
            raise ModelSetupError(f"{source} {url!r} is not an http(s) URL")
    if len(set(base_urls)) < len(base_urls):
        raise ModelSetupError(f"the same server is given twice in {source}")
    api_key = os.environ.get(server.api_key_env)
    if api_key and not _sendable(api_key):
        raise ModelSetupError(f"${server.api_key_env} holds characters an HTTP header cannot carry (a letter outside "
                              "ASCII, a line break or another control character): check the key you copied there")
    if not api_key:
        if not base_urls:
            raise ModelSetupError(
                f"set ${server.api_key_env} to your OpenAI API key (or name another variable with --api-key-env)"
            )
        api_key = "no-key"  # local servers (vLLM, Ollama, llama.cpp) usually ask for none
    import httpx2  # the SDK and its HTTP client load only for served models

    from engine.models.openai_sampler import OpenAISampler

    try:
        return OpenAISampler(
            model,
            api_key=api_key,
            base_urls=base_urls,
            concurrency=server.concurrency,
            rpm=server.rpm,
            tpm=server.tpm,
            timeout_s=server.timeout_s,
            max_retries=server.max_retries,
            patience_s=server.patience_s,
            hedging=server.hedging,
            proxy=server.proxy,
            send_temperature=server.send_temperature,
            token_parameter=server.token_parameter,
            key_source=server.api_key_env,
        )
    except ImportError:  # httpx needs a package for a SOCKS proxy, which this install leaves out
        raise ModelSetupError("a SOCKS proxy (from $ALL_PROXY, or --proxy) needs the socksio package: "
                              "pip install socksio, or use an HTTP proxy") from None
    except (ValueError, httpx2.InvalidURL) as exc:  # a proxy address httpx cannot read
        where = "--proxy" if server.proxy else "the proxy in $HTTPS_PROXY, $HTTP_PROXY or $ALL_PROXY"
        raise ModelSetupError(f"{where} is not a usable proxy URL ({exc})") from None
