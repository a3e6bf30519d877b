"""Share codes: the short code a published answer's card link carries (`t.me/<bot>?start=a42`,
or `/start a42` prefilled in a WhatsApp click-to-chat link).

The code names the answer and nothing else: every card of an answer carries the same one,
whoever passes it on, so a new resident who follows it tells us which answer reached them,
never who shared it. Invitation codes start with "j" and are at least 8 characters; share
codes start with "a" and are shorter, so the two never meet.
"""

from __future__ import annotations

import re

SHARE_CODE = re.compile(r"^a([1-9][0-9]{0,11})$")


def share_code(answer_id: int) -> str:
    return f"a{answer_id}"


def answer_of(code: str) -> int | None:
    """The answer id a share code names, or None when `code` is no share code."""
    found = SHARE_CODE.match(code.strip())
    return int(found.group(1)) if found else None
