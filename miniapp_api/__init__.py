"""The HTTP JSON door: the mini-program's API, documented at /openapi.json."""
