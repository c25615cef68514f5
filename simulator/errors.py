"""Why the simulator refuses a configuration.

A subclass of :class:`ValueError`, so callers that only know the standard
library still catch it, while tests and the CLI can tell it apart from a bug.
"""


class ConfigError(ValueError):
    """Raised by :class:`simulator.PortfolioConfig` when a setting cannot describe a portfolio."""
