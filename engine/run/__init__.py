"""The run: its configuration, totals and events, the step loop with its audit, the sampling loops
that vote, the control a screen steers it with, and the session that ties a run to its recording."""
