"""Exports: the records a query matches, streamed by a job into a CSV or JSON Lines file that
is downloaded until it expires (and by `rapport export` to standard output)."""
