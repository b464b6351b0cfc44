"""mesh.runtime.fetch_wait on a real aiokafka consumer against tansu: an idle consumer fetches less often,
and the first record after its idle spell is still delivered, with the short wait back at once."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka.admin import AdminClient, NewTopic

from mesh.runtime.fetch_wait import FetchWait, install

pytestmark = pytest.mark.integration


class Counted(FetchWait):
    """Counts the fetches it is told about."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fetches = 0

    def fetched(self, records: bool) -> int:
        self.fetches += 1
        return super().fetched(records)


def _topic(settings) -> str:
    name = f"{settings.topic_prefix}fetchwait.{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result(15)
    return name


def test_an_idle_consumer_fetches_less_often_and_the_next_record_still_arrives(settings):
    topic = _topic(settings)

    async def go():
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest",
                                    fetch_max_wait_ms=5, enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
        await consumer.start()
        await producer.start()
        wait = Counted(5, 200, idle_after_s=1.0)
        install(consumer._fetcher, wait)
        try:
            async def fetches_in(seconds: float) -> int:
                before, end = wait.fetches, time.monotonic() + seconds
                while time.monotonic() < end:
                    await consumer.getmany(timeout_ms=50)
                return wait.fetches - before

            busy = await fetches_in(0.8)  # within the idle time: the short wait
            assert wait.wait_ms == 5
            await fetches_in(1.5)  # now idle: backing off to the cap
            assert wait.wait_ms == 200 and consumer._fetcher._fetch_max_wait_ms == 200
            idle = await fetches_in(0.8)
            assert idle * 5 < busy, (idle, busy)  # 200 ms waits against 5 ms ones: far fewer requests

            await producer.send_and_wait(topic, b"after the idle spell")
            got, deadline = [], time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                got = [r.value for rs in (await consumer.getmany(timeout_ms=100)).values() for r in rs]
            assert got == [b"after the idle spell"]
            assert wait.wait_ms == 5 and consumer._fetcher._fetch_max_wait_ms == 5  # short again at once
        finally:
            await consumer.stop()
            await producer.stop()

    asyncio.run(go())
