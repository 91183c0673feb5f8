"""The dashboard: sales figures (the open pipeline, won and lost, time in stage, sales cycle),
the caller's activities and tasks, new contacts and companies, over a period."""
