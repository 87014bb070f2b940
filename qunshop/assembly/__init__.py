"""The assembly: the app factory, its resources and background work, the CLI, the database
server and the development stand-ins. Only the entry points import it."""
