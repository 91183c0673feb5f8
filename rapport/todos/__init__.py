"""Tasks (to-dos): titled, due, assigned, and linked to contacts and companies."""
