"""MAKER on the Towers of Hanoi: the engine. Pure Python; imports nothing from Textual.

- ``task``: the puzzle, the agent's prompt, the parser and its red flags
- ``models``: the sampler protocol, the simulated model, the openai sampler, prices, the factory
- ``voting``: the first-to-ahead-by-k tally, the scaling laws, forecast, plan and calibration
- ``run``: configuration, totals, events, the step loop, the sampling loops, control, session
- ``recording``: the file format, the step codec, writer, reader, info, export and re-voting
- ``view``: the snapshots a screen shows, live or replayed
- ``cli``: the headless command line
"""
