"""mesh.io.slots: which part of a key picks its Redis Cluster slot, and the check on what runs together."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from mesh.errors import KeysInTwoSlots
from mesh.io.slots import first_key, one_slot, slot_of, tag_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("key, tag", [
    ("sb:t:{acme}:task:t1", "acme"),
    ("sb:deks", "sb:deks"),  # no tag: the whole key
    ("sb:{}:x", "sb:{}:x"),  # an empty tag counts as none, as Redis has it
    ("a{b}c{d}", "b"),  # the first tag
    ("a{b", "a{b"),  # unclosed: none
])
def test_the_tag_is_what_redis_hashes(key, tag):
    assert tag_of(key) == tag
    assert slot_of(key) == key_slot(tag.encode())


def test_keys_in_one_slot_pass_and_in_two_are_refused_with_their_names():
    one_slot(["sb:t:{acme}:task:t1", "sb:t:{acme}:budget"], "a script")
    with pytest.raises(KeysInTwoSlots, match="a script touches keys in different Redis Cluster slots") as err:
        one_slot(["sb:t:{acme}:task:t1", "sb:t:{globex}:task:t1"], "a script")
    assert "{globex}" in str(err.value) and not err.value.retriable


@pytest.mark.parametrize("args, key", [
    (("EVALSHA", "abc", 2, "k1", "k2", "arg"), "k1"),
    (("EVALSHA", "abc", 0, "arg"), None),
    (("SET", "k", "v"), "k"),
    (("ZADD", "z", 1, "m"), "z"),
    (("PING",), None),
])
def test_the_key_a_pipelined_command_is_routed_by(args, key):
    assert first_key(args) == key
