"""The streaming service: Faust app, topics, tables, settings, broker and CLI."""
