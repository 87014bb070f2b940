"""Qunshop: group chats as storefronts. This package is the composition root."""
