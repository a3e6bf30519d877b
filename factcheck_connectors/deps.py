"""What the connectors use of the process they run in, and nothing more.

The runtime's `Services` has all of it; a script or a test can pass anything else that does.
"""

from __future__ import annotations

from typing import Protocol

from domain.db import Database
from domain.settings import Settings


class ConnectorServices(Protocol):
    """The database, the settings, and a callback for after knowledge items were written (the
    process reloads its search index then, so residents are answered from the new items)."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    async def items_written(self) -> None: ...
