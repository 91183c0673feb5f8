"""Contacts: the people a workspace knows."""
