"""Realistic sample data for trying Rapport out."""
