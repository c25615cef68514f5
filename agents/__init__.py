"""Faust agents and timers: thin wiring from topics to :mod:`streams.processor`."""
