"""The web door: server-rendered pages (H5 pages behind shared cards, the leader's console)."""
