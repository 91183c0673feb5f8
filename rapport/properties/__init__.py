"""Custom properties: definitions per entity, and the checks every write of values passes."""
