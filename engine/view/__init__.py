"""The view a screen shows: immutable snapshots, made live from a running engine or replayed from
a recording. Pure Python: the TUI draws them."""
