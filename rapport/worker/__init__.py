"""Durable jobs: the queue, the worker that runs them, and the platform's own periodic tasks."""
