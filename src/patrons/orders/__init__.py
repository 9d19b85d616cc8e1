"""Orders: /v1/orders, and the customer's `summary.orders` (issue 17)."""
