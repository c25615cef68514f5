"""Which input partition a borrower's records belong on: the Java client's partitioner.

The event-time merge and the borrower table assume that partition *p* of both
input topics holds the same borrowers. Producers do not guarantee it: the Java
client and aiokafka hash keys with murmur2, librdkafka-based clients
(confluent-kafka, kcat, most non-Java clients) with CRC32 by default. A
borrower whose payments and missed payments land on different partitions gets
two half-states and wrong tiers, with no error anywhere. The processor checks
every record against murmur2, the partitioner the service's own topics and
the Java ecosystem (Kafka Streams included) use.

>>> partitioner = KeyPartitioner(partitions=8)
>>> partitioner.partition_of(b"B000123") == partitioner.partition_of(b"B000123")
True
>>> KeyPartitioner(partitions=1).partition_of(b"anything")
0
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2

CACHE_LIMIT = 200_000
"""Keys remembered with their partition (murmur2 in Python costs about 1.4 us a key);
the cache starts afresh once full."""


class KeyPartitioner:
    """Partition of a record key among ``partitions``, as the Java client's default
    partitioner picks it for keyed records: ``(murmur2(key) & 0x7fffffff) % partitions``."""

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        self.partitions = partitions
        self._known: dict[bytes, int] = {}

    def partition_of(self, key: bytes) -> int:
        partition = self._known.get(key)
        if partition is None:
            if len(self._known) >= CACHE_LIMIT:
                self._known.clear()
            partition = (murmur2(key) & 0x7FFFFFFF) % self.partitions
            self._known[key] = partition
        return partition
