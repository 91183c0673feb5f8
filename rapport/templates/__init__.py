"""Email templates: content with merge tags, rendered per recipient in a sandbox."""
