"""core.memo: values kept by the identity of the objects they came from."""

from __future__ import annotations

from core.memo import ByIdentity


def test_values_are_found_by_the_same_objects_only() -> None:
    memo: ByIdentity[str] = ByIdentity()
    first, equal = [1, 2], [1, 2]
    memo.put("from first", first)
    assert memo.get(first) == "from first"
    assert memo.get(equal) is None  # equal is not the same object
    memo.put("from both", first, equal)
    assert (memo.get(first, equal), memo.get(equal, first)) == ("from both", None)


def test_the_oldest_leave_first_and_what_is_kept_keeps_its_objects() -> None:
    memo: ByIdentity[int] = ByIdentity(size=2)
    kept = [object() for _ in range(3)]
    for number, source in enumerate(kept):
        memo.put(number, source)
    assert [memo.get(source) for source in kept] == [None, 1, 2]
    # An object kept alive only by the memo cannot lend its id to another one.
    memo.put(7, object())
    assert memo.get(object()) is None
