"""Email campaigns: audiences frozen when sending starts, one durable job per chunk of
recipients, every recipient a message row sent at most once."""
