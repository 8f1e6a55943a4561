"""How ``maker inspect`` writes a step as text: a heading with the state shown and the audit's
answer, the messages as sent, then each sample with its figures, its parse or red flag and the
audit's verdict. Made of rich renderables, readable at 80 columns."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from engine.cli.output import figures_table
from engine.recording.format import StepRecord
from engine.task.hanoi import format_move, format_state
from engine.task.parser import Answer
from engine.task.verdict import RED_FLAG_WORDS
from engine.view.inspect import NOT_KEPT, SampleInspection, StepInspection

TEXTS_NOT_KEPT = NOT_KEPT.removeprefix("not kept: ")


def print_step(console: Console, inspection: StepInspection, record: StepRecord, samples: Sequence[SampleInspection],
               *, decided: bool, attempt: str, total: int, keep_text: bool) -> None:
    """The step's heading, its messages, and ``samples`` (all of the step's, or one)."""
    console.print(_heading(inspection, record, decided, attempt, total, keep_text))
    for message in inspection.messages:
        console.print(Rule(f"{message['role']} message", style="dim"))
        console.print(Text(message["content"]))
    for sample in samples:
        console.print(_sample(sample))


def answer_text(answer: Answer) -> str:
    return f"move = {format_move(answer.move)}\nnext_state = {format_state(answer.state)}"


def _heading(inspection: StepInspection, record: StepRecord, decided: bool, attempt: str, total: int,
             keep_text: bool) -> RenderableType:
    if decided:
        how = "the audit found it right" if record.correct else "the audit found it wrong"
        title = Text.assemble((f"step {record.step:,} of {total:,}: decided", "bold"), f"; {how}")
    else:
        title = Text.assemble((f"step {record.step:,} of {total:,}: undecided", "bold yellow"),
                              f"; the run stopped here, no answer got ahead by {record.k}",
                              f" ({attempt})" if attempt else "")
    table = figures_table()
    table.add_row("state shown", format_state(record.state))
    table.add_row("previous move", "none" if record.previous_move is None else format_move(record.previous_move))
    right = inspection.right
    table.add_row("right answer", "none: the strategy has no legal move from this state" if right is None
                  else answer_text(right))
    if decided and record.answer is not None:
        table.add_row("decided", answer_text(record.answer))
    elif not decided:
        table.add_row("leading", "nothing valid" if record.answer is None else answer_text(record.answer))
    table.add_row("samples", _samples_text(inspection))
    if not keep_text:
        table.add_row("texts", TEXTS_NOT_KEPT)
    return Group(title, table)


def _samples_text(inspection: StepInspection) -> str:
    samples = inspection.samples
    votes = sum(1 for sample in samples if sample.answer is not None)
    flags = sum(1 for sample in samples if sample.red_flag is not None)
    cancelled = sum(1 for sample in samples if sample.cancelled)
    parts = [f"{votes} valid vote{'' if votes == 1 else 's'}", f"{flags} red flag{'' if flags == 1 else 's'}"]
    if cancelled:
        parts.append(f"{cancelled} cancelled")
    return f"{len(samples)} in arrival order, 0 to {len(samples) - 1}: " + ", ".join(parts)


def _sample(sample: SampleInspection) -> RenderableType:
    first = "first sample (one agent alone), " if sample.first else ""
    rule = Rule(f"sample {sample.index}: {first}temperature {sample.temperature:g}", style="dim")
    body: Text = Text(sample.text) if sample.text is not None else Text(sample.text_note, style="dim italic")
    table = figures_table()
    table.add_row("tokens in / out", f"{sample.tokens_in:,} / {sample.tokens_out:,}")
    table.add_row("latency", f"{sample.latency_s:,.2f} s")
    table.add_row("finish reason", sample.finish_reason or "none (no reply)")
    if sample.answer is not None:
        table.add_row("parse", answer_text(sample.answer))
    elif sample.red_flag is not None:
        table.add_row("red flag", f"{sample.red_flag.value}: {RED_FLAG_WORDS[sample.red_flag]}")
        if sample.evidence is not None:
            table.add_row("evidence", Text(sample.evidence))
        elif sample.text is None:
            table.add_row("evidence", Text("unknown: the text was not kept", style="dim"))
        else:
            table.add_row("evidence", Text("none: the flag is for what the reply lacks", style="dim"))
    else:
        table.add_row("parse", "none: cancelled before it was judged")
    table.add_row("verdict", _verdict(sample))
    return Group(rule, body, Text(), table)


def _verdict(sample: SampleInspection) -> Text:
    verdict = sample.verdict
    if verdict.correct is None:
        return Text(verdict.why, style="dim")
    if verdict.correct:
        return Text(verdict.why, style="green")
    return Text.assemble(("wrong", "bold red"), ": ", verdict.why)
