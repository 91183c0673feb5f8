"""CSV imports of contacts."""
