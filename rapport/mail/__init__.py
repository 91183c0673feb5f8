"""Outbound email: SMTP connections of a workspace, and one-to-one emails to contacts sent
through them by background jobs."""
