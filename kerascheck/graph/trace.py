"""What each top-level statement reads and writes of the interpreter's state, recorded as it runs.

A fix check builds the graph of a text that differs from one built before in a few statements
(see ``replay``). A statement that reads nothing the edits changed does what it did before: its
writes are copied instead of running it again. To know that, the module's state lives in
containers that note every read and write by location: ``(tag, key)``, the tag naming the
container (module names, the heap, star imports, ...). Reading a whole container (iterating it)
reads ``(tag, ANY)``, which every write to it writes too. The few containers whose reads are
too many to note (``UNREAD``) are written rarely: a build that writes them otherwise than the one
it copies from copies nothing after.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()  # the key of a read of a whole container
Location = tuple[str, object]


class Trace:
    """The locations read and written since the current top-level statement began (the sets are
    cleared for each, never replaced: the containers hold their ``add``)."""

    def __init__(self) -> None:
        self.reads: set[Location] = set()
        self.writes: set[Location] = set()

    def wrote(self, tag: str, key: object) -> None:
        self.writes.add((tag, key))
        self.writes.add((tag, ANY))


class WatchedDict(dict[Any, Any]):
    """A dict that notes reads and writes in a trace (``dict``'s own methods, called on it
    directly, bypass the notes: a replay writes through them)."""

    def __init__(self, trace: Trace, tag: str) -> None:
        super().__init__()
        self.trace = trace
        self.tag = tag
        self._read = trace.reads.add

    def __getitem__(self, key: Any) -> Any:
        self._read((self.tag, key))
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._read((self.tag, key))
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._read((self.tag, key))
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[Any]:
        self._read((self.tag, ANY))
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._read((self.tag, ANY))
        return dict.__len__(self)

    def keys(self) -> Any:
        self._read((self.tag, ANY))
        return dict.keys(self)

    def values(self) -> Any:
        self._read((self.tag, ANY))
        return dict.values(self)

    def items(self) -> Any:
        self._read((self.tag, ANY))
        return dict.items(self)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.trace.wrote(self.tag, key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self.trace.wrote(self.tag, key)
        dict.__delitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        self.trace.wrote(self.tag, key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._read((self.tag, key))
        self.trace.wrote(self.tag, key)
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("write a watched dict key by key")

    def copy(self) -> dict[Any, Any]:
        self._read((self.tag, ANY))
        return dict(dict.items(self))


class WatchedSet(set[Any]):
    """A set (that only grows) noting additions in a trace. Its reads are not noted (they are
    many: every name looked up asks the module's ``global`` names): a build whose statements
    change it otherwise than the build it copies from copies nothing after (see ``replay``)."""

    def __init__(self, trace: Trace, tag: str) -> None:
        super().__init__()
        self.trace = trace
        self.tag = tag

    def add(self, key: Any) -> None:
        self.trace.wrote(self.tag, key)
        set.add(self, key)

    def update(self, *others: Iterable[Any]) -> None:
        for other in others:
            for key in other:
                self.add(key)

    def discard(self, key: Any) -> None:
        raise NotImplementedError("a watched set only grows")


class WatchedList(list[Any]):
    """A list (that only grows at its end) noting additions in a trace, one location for all;
    its reads are not noted, as a ``WatchedSet``'s."""

    def __init__(self, trace: Trace, tag: str) -> None:
        super().__init__()
        self.trace = trace
        self.tag = tag

    def append(self, item: Any) -> None:
        self.trace.wrote(self.tag, ANY)
        list.append(self, item)

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:
            self.append(item)


UNREAD = frozenset({"outer", "volatile", "star", "place"})  # the tags of those containers
