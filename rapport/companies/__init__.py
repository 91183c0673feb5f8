"""Companies, and contacts ' memberships in them."""
