"""Tortoise models, one module per aggregate, linked by label ("models.User")."""
