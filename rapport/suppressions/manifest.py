"""The suppression list (no routes yet: other domains consult it through its service)."""

from rapport.kit.manifest import Manifest

MANIFEST = Manifest(name="suppressions")
