"""Workspaces (tenants): creation, settings, and user membership."""
