"""Rapport: a self-hosted, multi-tenant, API-first CRM and marketing-automation platform."""

__version__ = "0.1.0"
