"""The panes of maker's screens, one widget a module; each draws from a snapshot."""
