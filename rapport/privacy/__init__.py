"""A person's data: everything held on them, as one document (export), and erasing it for good."""
