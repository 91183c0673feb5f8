"""Lists (segments) of contacts or companies: static, or dynamic and kept current from the
change events."""
