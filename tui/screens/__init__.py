"""maker's screens: the live run, the replay (and demo), help, and go-to-step."""
