"""The micro-agent's prompt: a template of a system part and a user part, and what fills it each step.

Three ways to get a template (``--prompt``): ``paper``, the paper's prompt in our words (the
default); ``guided``, this project's earlier prompt, which helps the model more; and a user's own
file (``--prompt-file``, :func:`load_template`). The user part holds the two placeholders
``{previous_move}`` and ``{current_state}``; each step fills them and nothing else, so the agent
sees no history. A template's :attr:`PromptTemplate.digest` names its exact text in recordings and
calibrations, so that measurements made with one prompt are never silently used for another.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.task.hanoi import Move, State, format_move, format_state
from engine.task.styles import guided_system, guided_user, paper_system, paper_user

PREVIOUS_MOVE = "{previous_move}"
CURRENT_STATE = "{current_state}"
Style = Literal["paper", "guided", "file"]
STYLES: tuple[str, ...] = ("paper", "guided")
"""The built-in styles; a user's file is the third."""
DEFAULT_STYLE = "paper"


class Message(TypedDict):
    """One chat message as the chat-completions API takes it."""

    role: str
    content: str


class PromptError(ValueError):
    """A prompt template that cannot be used: one line says why."""


class PromptTemplate(BaseModel):
    """A prompt as a run uses it, with the placeholders the user part fills each step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    style: Style
    system: str
    user: str
    no_previous_move: str = "none"
    """What ``{previous_move}`` becomes at the first step."""
    source: str | None = None
    """The file a user's template came from."""

    @property
    def digest(self) -> str:
        """The first 12 hex digits of the SHA-256 of the text the agent is shown."""
        text = "\0".join((self.system, self.user, self.no_previous_move))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """``paper (3f2a9c81b0d4)``: the style and its digest, for people."""
        return f"{self.style} ({self.digest})"

    def check(self) -> PromptTemplate:
        """Raise :class:`PromptError` unless the user part holds each placeholder once."""
        for placeholder in (PREVIOUS_MOVE, CURRENT_STATE):
            count = self.user.count(placeholder)
            if count != 1:
                where = f"{self.source}: " if self.source else ""
                raise PromptError(f"{where}the user part must hold {placeholder} exactly once (it holds it {count} times)")
        return self


def built_in(style: str, disks: int) -> PromptTemplate:
    """The ``paper`` or ``guided`` prompt for a tower of ``disks`` disks (disk 1's direction
    depends on whether there is an odd or even number of disks)."""
    if style == "paper":
        return PromptTemplate(style="paper", system=paper_system(), user=paper_user(disks))
    if style == "guided":
        return PromptTemplate(style="guided", system=guided_system(), user=guided_user(disks),
                              no_previous_move="none (this is the first move)")
    raise PromptError(f"no prompt style {style!r} (choose from {', '.join(STYLES)}, or give --prompt-file)")


def load_template(path: Path) -> PromptTemplate:
    """A user's template from a TOML file with ``system`` and ``user`` strings (and, optionally,
    ``no_previous_move``); see the README for the format."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"{path}: not a TOML prompt template ({exc})") from None
    try:
        template = PromptTemplate(style="file", source=str(path), **raw)
    except (ValidationError, TypeError) as exc:
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc), "loc": ()}
        where = ".".join(str(part) for part in detail["loc"]) or "the file"
        raise PromptError(f"{path}: {where}: {detail['msg']} (a template has system and user strings)") from None
    return template.check()


class PromptBuilder:
    """Builds each step's messages from a template; the parts that never change are built once."""

    def __init__(self, template: PromptTemplate) -> None:
        self.template = template.check()
        self.system: Message = {"role": "system", "content": template.system}
        user = template.user
        first, second = sorted((PREVIOUS_MOVE, CURRENT_STATE), key=user.index)
        head, rest = user.split(first)
        middle, tail = rest.split(second)
        self._parts = (head, middle, tail)
        self._state_first = first == CURRENT_STATE

    def messages(self, previous_move: Move | None, state: State) -> list[Message]:
        """The system and user messages for one step."""
        previous = self.template.no_previous_move if previous_move is None else format_move(previous_move)
        shown = format_state(state)
        head, middle, tail = self._parts
        first, second = (shown, previous) if self._state_first else (previous, shown)
        return [self.system, {"role": "user", "content": f"{head}{first}{middle}{second}{tail}"}]
