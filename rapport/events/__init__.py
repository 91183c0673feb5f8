"""Domain events: recorded in the transaction of each change, listed as the audit log."""
