"""Patrons: a self-hostable, Voucherify-compatible Customers API."""

__version__ = "0.1.0"
