"""The chat door: webhooks, signatures and AES, dedupe, dispatch, outbound messenger."""
