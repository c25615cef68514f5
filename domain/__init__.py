"""Delinquency domain: the rules of collections, with no Kafka or Faust in sight.

Everything here is plain, typed Python so that the rules can be read in one
place, unit-tested without a broker, and reused by the simulator, the
benchmarks and (in later work) the risk model.
"""
