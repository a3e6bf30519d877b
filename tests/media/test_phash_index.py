"""The pHash index finds exactly what comparing with every stored hash finds, and follows the
table (item and cluster hashes; not bare requests')."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.media.phash_index import PhashIndex, codes, index_for
from domain.db import Database
from domain.knowledge import ItemData, upsert_item
from domain.media import hamming, remember
from domain.models import KnowledgeItem

STORED = 20_000


def flipped(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def linear(stored: np.ndarray, query: str, cut: int) -> set[int]:
    """Row ids (positions here) within `cut` bits, by comparing with every stored hash."""
    distances = np.bitwise_count(stored ^ codes([query])).sum(axis=1)
    return {int(i) for i in np.nonzero(distances <= cut)[0]}


@pytest.fixture(scope="module")
def stored() -> tuple[list[str], PhashIndex]:
    rng = random.Random(14)
    templates = [rng.getrandbits(64) for _ in range(200)]
    values: list[str] = []
    for n in range(STORED):  # half unrelated, half near copies of a few templates
        value = rng.getrandbits(64) if n % 2 else flipped(rng.choice(templates),
                                                          rng.randrange(0, 24), rng)
        values.append(f"{value:016x}")
    index = PhashIndex()
    index.add(list(enumerate(values)))
    return values, index


@pytest.mark.parametrize("cut", [0, 6, 16, 21])
def test_the_index_finds_what_the_linear_scan_finds(stored: tuple[list[str], PhashIndex],
                                                    cut: int) -> None:
    values, index = stored
    matrix = codes(values)
    rng = random.Random(cut)
    queries = [f"{flipped(int(rng.choice(values), 16), rng.randrange(0, 22), rng):016x}"
               for _ in range(150)] + [f"{rng.getrandbits(64):016x}" for _ in range(50)]
    found_any = 0
    for query in queries:
        expected = linear(matrix, query, cut)
        got = index.near([query], cut, limit=STORED)
        assert set(got) == expected, query
        assert [hamming(values[i], query) for i in got] == sorted(
            hamming(values[i], query) for i in got)  # closest first
        found_any += bool(expected)
    assert found_any >= (1 if cut == 0 else 30)  # the queries do have neighbours to find


def test_several_hashes_at_once_and_bad_values(stored: tuple[list[str], PhashIndex]) -> None:
    values, index = stored
    frames = [values[10], values[11], "not-a-hash"]
    matrix = codes(values)
    expected = linear(matrix, values[10], 16) | linear(matrix, values[11], 16)
    assert set(index.near(frames, 16, limit=STORED)) == expected
    assert index.near([], 16) == [] and PhashIndex().near([values[0]], 16) == []


async def test_the_index_follows_item_hashes_only(database: Database) -> None:
    await database.migrate()
    async with database.session() as session:
        await upsert_item(session, ItemData(claim="A fake notice about water", verdict="false",
                                            explanation="It is fake."))
        item = await session.get(KnowledgeItem, 1)
        assert item is not None
        await remember(session, "a" * 64, ["0f0f0f0f0f0f0f0f"], item_id=item.id)
    async with database.session() as session:
        index = await index_for(database, session)
    assert len(index) == 1 and index.near(["0f0f0f0f0f0f0f0e"], 6)
    async with database.session() as session:
        await remember(session, "b" * 64, ["ffff0000ffff0000"], item_id=1)
        await remember(session, "c" * 64, ["1234123412341234"])  # a bare request's
    async with database.session() as session:
        again = await index_for(database, session)
    assert again is index and len(index) == 2
    assert index.near(["ffff0000ffff0001"], 6) and not index.near(["1234123412341234"], 6)


def test_a_reused_row_id_is_indexed_with_its_new_value() -> None:
    index = PhashIndex()
    index.add([(1, "0000000000000000"), (2, "00000000ffffffff")])
    index.add([(2, "ffffffff00000000")])  # row 2 deleted, its id given to a new row
    assert index.near(["ffffffff00000001"], 6) == [2] and len(index) == 3
