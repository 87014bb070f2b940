"""WeChat's protocols: pure functions (signatures, XML, crypto) and async API clients.

Knows nothing of the business; services and the chat door call it. Outbound HTTP uses the
app's one aiohttp ClientSession, handed in by the caller. The one thing kept is the access
token (``tokens.TokenCache``), in the caller's Redis, so every worker shares it.
"""
