"""Webhooks: subscriptions to events, and signed, retried, ordered deliveries."""
