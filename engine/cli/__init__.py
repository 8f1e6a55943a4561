"""The command line: arguments, one module per command, and how results are printed."""
