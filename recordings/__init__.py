"""Small recordings shipped with maker, as package data: see README.md here, and
:func:`engine.paths.demo_recording` for the path of the one ``maker demo`` loops."""
