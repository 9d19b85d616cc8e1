"""Validations, redemptions and rollbacks: what moves the customer's summary (issue 17)."""
