"""Merging two contacts: a write model across contacts, companies, tags, activities, tasks and
sync links."""
