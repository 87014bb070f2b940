"""The clock door: thin jobs that call services."""
