"""The query language (CQL): one tree that a text `where` and a JSON `filter` both parse to,
the fields domains offer to it, and the compiler from tree to one SQL condition."""
