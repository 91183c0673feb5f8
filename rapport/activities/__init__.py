"""Activities (calls, meetings, emails, notes, tracked events) on contacts and companies."""
