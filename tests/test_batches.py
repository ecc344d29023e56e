"""core.batches: calls made while a batch is out are sent together as the next one, and each gets its answer."""

from __future__ import annotations

import asyncio

import pytest

from core.batches import Batches


class Recorder:
    """A `send` that answers each key doubled, holding every batch until `release` is set."""

    def __init__(self) -> None:
        self.sent: list[dict[str, int]] = []
        self.release = asyncio.Event()
        self.fail_next = False

    async def __call__(self, batch: dict[str, int]) -> dict[str, int]:
        self.sent.append(dict(batch))
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("database gone")
        return {key: value * 2 for key, value in batch.items() if key != "absent"}


async def test_calls_made_while_a_batch_is_out_go_together_in_the_next() -> None:
    send = Recorder()
    batches: Batches[str, int, int] = Batches(send)
    first = asyncio.create_task(batches("a", 1))
    await asyncio.sleep(0.01)  # the first batch is out, holding
    rest = [asyncio.create_task(batches(f"k{n}", n)) for n in range(49)]
    await asyncio.sleep(0.01)
    assert send.sent == [{"a": 1}]  # none of the others went out with a batch sent before they asked
    send.release.set()
    assert await first == 2
    assert await asyncio.gather(*rest) == [n * 2 for n in range(49)]
    assert [len(batch) for batch in send.sent] == [1, 49]


async def test_one_key_twice_in_a_batch_is_sent_once_with_the_later_argument() -> None:
    send = Recorder()
    send.release.set()
    batches: Batches[str, int, int] = Batches(send)
    answers = await asyncio.gather(batches("a", 1), batches("a", 5), batches("absent", 3))
    assert list(answers) == [10, 10, None]  # a key the answer lacks gets None
    assert send.sent == [{"a": 5, "absent": 3}]


async def test_a_failed_batch_fails_its_calls_only_and_the_next_batch_goes_out() -> None:
    send = Recorder()
    batches: Batches[str, int, int] = Batches(send)
    send.fail_next = True
    doomed = [asyncio.create_task(batches(key, 1)) for key in ("a", "b")]
    await asyncio.sleep(0.01)
    later = asyncio.create_task(batches("c", 3))
    send.release.set()
    for task in doomed:
        with pytest.raises(ConnectionError, match="database gone"):
            await task
    assert await later == 6
    assert await batches("a", 2) == 4  # nothing is left stuck


async def test_a_caller_giving_up_does_not_cancel_the_others_answer() -> None:
    send = Recorder()
    batches: Batches[str, int, int] = Batches(send)
    impatient = asyncio.create_task(batches("a", 1))
    patient = asyncio.create_task(batches("a", 1))
    await asyncio.sleep(0.01)
    impatient.cancel()
    send.release.set()
    assert await patient == 2
    assert impatient.cancelled()


async def test_batches_are_no_larger_than_their_size() -> None:
    send = Recorder()
    send.release.set()
    batches: Batches[str, int, int] = Batches(send, size=10)
    answers = await asyncio.gather(*(batches(f"k{n}", n) for n in range(25)))
    assert answers == [n * 2 for n in range(25)]
    assert [len(batch) for batch in send.sent] == [10, 10, 5]


async def test_calls_made_for_later_are_sent_with_the_others_and_settled_waits_for_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    send = Recorder()
    batches: Batches[str, int, int] = Batches(send)
    batches.later("a", 1)  # returns at once: nobody waits for this one
    await asyncio.sleep(0.01)
    batches.later("b", 2)
    waited = asyncio.create_task(batches("c", 3))
    await asyncio.sleep(0.01)
    assert batches.backlog == 2  # b and c wait for the batch out (a) to be answered
    send.release.set()
    await batches.settled()
    assert batches.backlog == 0
    assert send.sent == [{"a": 1}, {"b": 2, "c": 3}]
    assert await waited == 6

    send.fail_next = True
    batches.later("d", 4)
    await batches.settled()  # the failure is logged, never raised where nobody waits
    assert [r.getMessage() for r in caplog.records] == ["event=batch_failed error=ConnectionError"]
