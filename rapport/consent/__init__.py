"""Marketing consent: each contact's email subscription status, double opt-in included."""
