"""Tags: labels a workspace puts on contacts and companies."""
