"""The decoded reference profiles kept between cycles (monitoring/references.py)."""

from __future__ import annotations

import orjson

from fuseboard.monitoring.references import DECODED_PER_BYTE, ReferenceCache


def test_a_document_is_decoded_once_while_its_text_is_unchanged() -> None:
    cache = ReferenceCache()
    text = orjson.dumps({"features": {"x": {"counts": [1, 2, 3]}}}).decode()
    first = cache.decoded(7, text)
    assert first == orjson.loads(text)
    assert cache.decoded(7, str(text)) is first  # equal text, the same object
    changed = orjson.dumps({"features": {"x": {"counts": [1, 2, 4]}}, "importance": {}}).decode()
    again = cache.decoded(7, changed)  # the profile was updated (importance, estimators): decoded again
    assert again == orjson.loads(changed) and again is not first
    assert cache.decoded(7, changed) is again and len(cache) == 1


def test_the_cache_stays_under_its_limit_and_forgets_versions_no_longer_read() -> None:
    text = orjson.dumps({"edges": list(range(100))})
    size = int(len(text) * (1 + DECODED_PER_BYTE))
    cache = ReferenceCache(limit_bytes=2 * size)
    for key in range(5):
        assert cache.decoded(key, text) == orjson.loads(text)  # decoded whether kept or not
    assert len(cache) == 2 and cache.held_bytes <= cache.limit_bytes
    cache.sweep()  # all five were read since the last sweep: the two kept stay
    assert len(cache) == 2
    cache.decoded(0, text)
    cache.sweep()  # only version 0 read since: version 1 goes
    assert len(cache) == 1 and cache.held_bytes == size
    assert cache.decoded(3, {"already": "decoded"}) == {"already": "decoded"}  # PostgreSQL's drivers decode JSON
    assert len(cache) == 1
