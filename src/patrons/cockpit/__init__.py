"""The cockpit: server-rendered admin pages under /cockpit, on the API's own services."""
