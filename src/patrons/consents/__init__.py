"""Consents: PUT /v1/customers/{id}/consents and GET /v1/consents, the legacy calls the JS SDK
still makes."""
