"""Chat command handlers by topic: small routers with filters."""
