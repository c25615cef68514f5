"""A simulated lending portfolio whose event stream drives the demo, the benchmark
and the risk-model evaluation.

Borrowers follow one of four archetypes (reliable, forgetful, struggling,
defaulter); a few drift mid-period (hardship or recovery). The stream is
plain domain events; publishing them is the streaming layer's job, so
nothing here imports Kafka or Faust. :func:`contact_inputs` adds what the
borrowers tell the lender and the contacts nobody instructed, and
:func:`simulate_with_contacts` merges both streams.

>>> from itertools import islice
>>> config = PortfolioConfig(borrowers=1000, months=24, seed=7)
>>> events = list(islice(simulate(config), 1000))
>>> all(a.event_time <= b.event_time for a, b in zip(events, events[1:]))
True
>>> events == list(islice(simulate(config), 1000))
True
"""

from simulator.archetypes import Behaviour
from simulator.borrowers import Borrower, Loan, borrowers
from simulator.config import ARCHETYPES, DEFAULT_MIX, PortfolioConfig
from simulator.contacts import contact_inputs, simulate_with_contacts
from simulator.errors import ConfigError
from simulator.portfolio import count_events, simulate

__all__ = [
    "ARCHETYPES",
    "DEFAULT_MIX",
    "Behaviour",
    "Borrower",
    "ConfigError",
    "Loan",
    "PortfolioConfig",
    "borrowers",
    "contact_inputs",
    "count_events",
    "simulate",
    "simulate_with_contacts",
]
