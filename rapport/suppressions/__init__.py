"""The suppression list: email addresses a workspace keeps out (erased people among them)."""
