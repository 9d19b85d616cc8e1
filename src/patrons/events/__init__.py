"""Custom events: POST /v1/events records `customer.custom_event` in the customer's activity."""
