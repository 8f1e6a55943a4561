"""Recordings: every sample of a run in a crash-safe SQLite file. The file's format, the step
codec, the writer, the reader, and what is built on them: info, export and re-voting."""
