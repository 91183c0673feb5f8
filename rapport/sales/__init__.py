"""The sales pipeline: pipelines and their stages, leads and their stage moves."""
