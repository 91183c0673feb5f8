"""Sync status: where each contact lives in other systems, recorded by the tools that sync it."""
