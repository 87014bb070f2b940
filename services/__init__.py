"""The verbs, shared by every door. Each business rule lives here once."""
