"""How models write an answer: decorated forms of a right answer, and malformed ones with the red
flag each deserves. Written for this project; shared by the parser's tests and the fake server.

A form is a function of the move and the state, written as text the way a model might: in the
paper's format between inline triple backticks, in code blocks, in bold, in bullets, spread over
lines, on one line, with prose or punctuation around it.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.task.hanoi import Move, State
from engine.task.parser import RedFlag

Form = Callable[[Move, State], str]
NBSP, THIN = "\u00a0", "\u2009"


def _m(move: Move, sep: str = ", ") -> str:
    return "[" + sep.join(str(value) for value in move) + "]"


def _s(state: State, sep: str = ", ", inner: str = ", ") -> str:
    return "[" + sep.join("[" + inner.join(str(disk) for disk in peg) + "]" for peg in state) + "]"


def _tall(state: State, indent: str = "  ") -> str:
    """The state over several lines, one peg a line."""
    pegs = ",\n".join(f"{indent}[{', '.join(str(disk) for disk in peg)}]" for peg in state)
    return f"[\n{pegs}\n]"


DECORATED: dict[str, Form] = {
    "plain lines": lambda m, s: f"move = {_m(m)}\nnext_state = {_s(s)}",
    "paper's triple backticks": lambda m, s: f"```move = {_m(m)}```\n```next_state = {_s(s)}```",
    "single backticks": lambda m, s: f"`move = {_m(m)}`\n`next_state = {_s(s)}`",
    "fenced block": lambda m, s: f"```\nmove = {_m(m)}\nnext_state = {_s(s)}\n```",
    "fenced python block": lambda m, s: f"```python\nmove = {_m(m)}\nnext_state = {_s(s)}\n```",
    "bold lines": lambda m, s: f"**move = {_m(m)}**\n**next_state = {_s(s)}**",
    "bold labels": lambda m, s: f"**move** = {_m(m)}\n**next_state** = {_s(s)}",
    "backticked labels and values": lambda m, s: f"`move` = `{_m(m)}`\n`next_state` = `{_s(s)}`",
    "dash bullets": lambda m, s: f"- move = {_m(m)}\n- next_state = {_s(s)}",
    "star bullets": lambda m, s: f"* move = {_m(m)}\n* next_state = {_s(s)}",
    "numbered": lambda m, s: f"1. move = {_m(m)}\n2. next_state = {_s(s)}",
    "block quote": lambda m, s: f"> move = {_m(m)}\n> next_state = {_s(s)}",
    "headings": lambda m, s: f"### move = {_m(m)}\n### next_state = {_s(s)}",
    "capitalised labels": lambda m, s: f"Move = {_m(m)}\nNext_State = {_s(s)}",
    "upper case labels": lambda m, s: f"MOVE = {_m(m)}\nNEXT_STATE = {_s(s)}",
    "no spaces": lambda m, s: f"move={_m(m, ',')}\nnext_state={_s(s, ',', ',')}",
    "wide spaces": lambda m, s: f"move   =   [ {m[0]} ,  {m[1]} ,  {m[2]} ]\nnext_state  =  [ {_s(s, ' , ')[1:-1]} ]",
    "tabs": lambda m, s: f"move\t=\t{_m(m)}\nnext_state\t=\t{_s(s)}",
    "non-breaking spaces": lambda m, s: f"move{NBSP}={NBSP}{_m(m, ',' + NBSP)}\nnext_state{NBSP}={NBSP}{_s(s)}",
    "thin spaces in lists": lambda m, s: f"move = {_m(m, ',' + THIN)}\nnext_state = {_s(s, ',' + THIN)}",
    "state over lines": lambda m, s: f"move = {_m(m)}\nnext_state = {_tall(s)}",
    "state over lines, tabbed": lambda m, s: f"move = {_m(m)}\nnext_state =\n{_tall(s, chr(9))}",
    "equals on its own line": lambda m, s: f"move\n=\n{_m(m)}\nnext_state\n=\n{_s(s)}",
    "one line, comma": lambda m, s: f"move = {_m(m)}, next_state = {_s(s)}",
    "one line, semicolon": lambda m, s: f"move = {_m(m)}; next_state = {_s(s)}",
    "one line, and": lambda m, s: f"So ```move = {_m(m)}``` and ```next_state = {_s(s)}```.",
    "trailing full stops": lambda m, s: f"move = {_m(m)}.\nnext_state = {_s(s)}.",
    "trailing commas": lambda m, s: f"move = {_m(m)},\nnext_state = {_s(s)},",
    "prose before": lambda m, s: f"The answer is move = {_m(m)}\nand the result is next_state = {_s(s)}",
    "prose after": lambda m, s: f"move = {_m(m)} (the smallest disk)\nnext_state = {_s(s)} as required",
    "reasoning first": lambda m, s: f"Disk 1 is on top, so I move it.\n\nmove = {_m(m)}\nnext_state = {_s(s)}",
    "state first": lambda m, s: f"next_state = {_s(s)}\nmove = {_m(m)}",
    "blank lines between": lambda m, s: f"move = {_m(m)}\n\n\nnext_state = {_s(s)}",
    "windows line ends": lambda m, s: f"move = {_m(m)}\r\nnext_state = {_s(s)}\r\n",
    "double quotes": lambda m, s: f'"move = {_m(m)}"\n"next_state = {_s(s)}"',
    "single quotes": lambda m, s: f"'move = {_m(m)}'\n'next_state = {_s(s)}'",
    "italics": lambda m, s: f"*move = {_m(m)}*\n_next_state = {_s(s)}_",
    "html code": lambda m, s: f"<code>move = {_m(m)}</code>\n<code>next_state = {_s(s)}</code>",
    "table cells": lambda m, s: f"| move = {_m(m)} |\n| next_state = {_s(s)} |",
    "latex dollars": lambda m, s: f"$move = {_m(m)}$\n$next_state = {_s(s)}$",
    "check marks": lambda m, s: f"\u2705 move = {_m(m)}\n\u2705 next_state = {_s(s)}",
    "empty pegs spaced": lambda m, s: f"move = {_m(m)}\nnext_state = {_s(s, ', ', ' , ')}".replace("[]", "[ ]"),
    "final answer section": lambda m, s: (f"## Final answer\n\n```move = {_m(m)}```\n\n"
                                          f"```next_state = {_s(s)}```\n\nI hope this helps!"),
    "a draft then the answer": lambda m, s: (f"Draft: move = [9, 9, 9]\nnext_state = [[1]]\nNo, that is wrong.\n"
                                             f"move = {_m(m)}\nnext_state = {_s(s)}"),
    "python trailing commas": lambda m, s: (f"```python\nmove = [{m[0]}, {m[1]}, {m[2]},]\nnext_state = [\n"
                                            + "".join(f"    [{', '.join(map(str, peg))}],\n" for peg in s) + "]\n```"),
    "json-ish block": lambda m, s: f'```json\n{{"move =": "x"}}\n```\nmove = {_m(m)}\nnext_state = {_s(s)}',
}

MALFORMED: dict[str, tuple[str, RedFlag]] = {
    "no move": ("next_state = [[3, 2], [], [1]]", RedFlag.NO_MOVE),
    "move with a colon": ("move: [1, 0, 2]\nnext_state = [[3, 2], [], [1]]", RedFlag.NO_MOVE),
    "move inside a word": ("remove = [1, 0, 2]\nnext_state = [[3, 2], [], [1]]", RedFlag.NO_MOVE),
    "no state": ("move = [1, 0, 2]", RedFlag.NO_STATE),
    "state with a colon": ("move = [1, 0, 2]\nnext_state: [[3, 2], [], [1]]", RedFlag.NO_STATE),
    "state inside a word": ("move = [1, 0, 2]\nmy_next_state = [[3, 2], [], [1]]", RedFlag.NO_STATE),
    "move of two numbers": ("move = [1, 2]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move of four numbers": ("move = [1, 0, 2, 1]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move in parentheses": ("move = (1, 0, 2)\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move in words": ("move = disk 1 from peg 0 to peg 2\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move with a fraction": ("move = [1.0, 0, 2]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move to the same peg": ("move = [1, 0, 0]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move of no such disk": ("move = [4, 0, 2]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move of disk 0": ("move = [0, 0, 2]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move to peg 3": ("move = [1, 0, 3]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "move to a negative peg": ("move = [1, 0, -1]\nnext_state = [[3, 2], [], [1]]", RedFlag.BAD_MOVE),
    "the template echoed last": ("move = [1, 0, 2]\nnext_state = [[3, 2], [], [1]]\n"
                                 "(format: move = [disk id, from peg, to peg])", RedFlag.BAD_MOVE),
    "state of two pegs": ("move = [1, 0, 2]\nnext_state = [[3, 2], [1]]", RedFlag.BAD_STATE),
    "state of four pegs": ("move = [1, 0, 2]\nnext_state = [[3, 2], [], [1], []]", RedFlag.BAD_STATE),
    "a disk twice": ("move = [1, 0, 2]\nnext_state = [[3, 2], [1], [1]]", RedFlag.BAD_STATE),
    "a disk missing": ("move = [1, 0, 2]\nnext_state = [[3], [], [1]]", RedFlag.BAD_STATE),
    "a disk too many": ("move = [1, 0, 2]\nnext_state = [[4, 3, 2], [], [1]]", RedFlag.BAD_STATE),
    "state never closed": ("move = [1, 0, 2]\nnext_state = [[3, 2], [], [1]", RedFlag.BAD_STATE),
    "state in braces": ("move = [1, 0, 2]\nnext_state = {0: [3, 2], 1: [], 2: [1]}", RedFlag.BAD_STATE),
    "pegs nested deeper": ("move = [1, 0, 2]\nnext_state = [[[3, 2]], [], [1]]", RedFlag.BAD_STATE),
    "a fraction of a disk": ("move = [1, 0, 2]\nnext_state = [[3, 2.5], [], [1]]", RedFlag.BAD_STATE),
    "disks in words": ("move = [1, 0, 2]\nnext_state = [[three, two], [], [one]]", RedFlag.BAD_STATE),
}
"""Malformed replies for a 3-disk tower, whose right answer from [[3, 2, 1], [], []] is
move [1, 0, 2] and next state [[3, 2], [], [1]]."""
