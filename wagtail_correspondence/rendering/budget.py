"""The work budget of rendering: counted, so that it is the same on every run, and checked
as the work is done, so that content cannot outrun it.

Every render runs inside a budget. One letter (its body, subject, texts and conditions) shares
one budget, set by the assembly, so that 200 blocks cannot add up to minutes; each render
inside it also has a budget of its own. Work is counted in units, each about the cost of
evaluating one template node (a fraction of a microsecond to a microsecond):

- a loop iteration costs the nodes of the loop's body (counted once, when the content is
  compiled);
- a filter, a method call, an operator, a comparison of containers or long strings and a
  slice cost one unit, plus the size of the data they touch where that is more than trivial
  (characters in C-speed work are counted by ``CHARS_PER_UNIT``; work done in Python per
  character or per item, such as ``wordwrap`` or ``sort``, is counted per character or item);
- a value about to be turned into text (output, ``~``, ``join``, ``format``, ``pprint``...)
  is weighed first: characters across nested containers, each shared item counted every time
  it appears, as ``str()`` would write it. A value too heavy is refused before the text is
  built.

A wall-clock limit is checked at the same points as a safety net only: content within the
work budget ends far within it, so re-rendering a letter gives the same result (a letter that
rendered will render again, as long as the budgets are not lowered).
"""

import contextlib
import contextvars
import time

from jinja2.exceptions import SecurityError

from ..conf import get_setting

# The budgets are settings (WAGTAIL_CORRESPONDENCE["RENDER_BUDGET"], see conf.py): units of
# work per render and per letter, the letter's text in characters, and a wall-clock safety
# net. Calibrated with bench/render_budget.py: the heaviest content that fits in a letter's
# budget renders in well under a second, and the demo's letters use under a thousand units.
# Characters copied or scanned at C speed that count as one unit.
CHARS_PER_UNIT = 64
# Values built by content (lists, strings joined from them) weigh at most this many characters.
MAX_VALUE_WEIGHT = 1_000_000
# Checking the clock at every unit would cost more than the units: once per this many.
_CLOCK_STRIDE = 20_000
# Container weights are remembered (per letter) for containers at least this large, at most
# this many: data weighed by one block is not walked again by the next.
_CACHED_FROM_ITEMS = 64
_CACHE_ENTRIES = 4096
# Weighing visits each item in Python.
_UNITS_PER_VISIT = 2


class WorkLimitExceeded(SecurityError):
    """Content asked for more work than a render or a letter may do."""


class Budget:
    __slots__ = ("used", "letter_limit", "render_limit", "render_size", "check_at", "deadline", "seconds",
                 "output", "output_limit", "_weights")

    def __init__(self, letter_limit=None, render_size=None):
        limits = get_setting("RENDER_BUDGET")
        self.used = 0
        self.letter_limit = limits["WORK_PER_LETTER"] if letter_limit is None else letter_limit
        self.render_size = limits["WORK_PER_RENDER"] if render_size is None else render_size
        self.render_limit = self.letter_limit
        self.seconds = limits["SECONDS_PER_LETTER"]
        self.deadline = time.monotonic() + self.seconds
        self.output = 0
        self.output_limit = limits["OUTPUT_PER_LETTER"]
        self._weights = {}
        self._set_next_check()

    def _set_next_check(self):
        self.check_at = min(self.letter_limit, self.render_limit, self.used + _CLOCK_STRIDE)

    def over(self):
        """Called when ``used`` passed ``check_at``: over a limit, past the deadline, or time
        to look at the clock again."""
        if self.used > self.render_limit and self.render_limit < self.letter_limit:
            raise WorkLimitExceeded(
                f"the content needs more work than one block may do (over {self.render_size:,} units: loop "
                f"iterations, filters, calls and operators, counted with the size of the data they touch)")
        if self.used > self.letter_limit:
            raise WorkLimitExceeded(
                f"the letter needs more work than one letter may do (over {self.letter_limit:,} units: loop "
                f"iterations, filters, calls and operators, counted with the size of the data they touch)")
        if time.monotonic() > self.deadline:
            raise WorkLimitExceeded(f"the content took more than {self.seconds:g} seconds to render")
        self._set_next_check()

    def charge(self, units):
        self.used += units
        if self.used > self.check_at:
            self.over()

    def output_left(self):
        return self.output_limit - self.output

    def add_output(self, characters):
        self.output += characters
        if self.output > self.output_limit:
            raise WorkLimitExceeded(self.output_message())

    def output_message(self):
        return f"output too large: a letter's text may be at most {self.output_limit:,} characters"

    # Weights ---------------------------------------------------------------------------

    def weight(self, value):
        return weigh(value, self._weights, self)


_current = contextvars.ContextVar("correspondence_render_budget", default=None)


def current():
    return _current.get()


def charge(units):
    budget = _current.get()
    if budget is not None:
        budget.used += units
        if budget.used > budget.check_at:
            budget.over()


@contextlib.contextmanager
def letter_budget(limit=None):
    """One budget for everything rendered inside (a letter); inside another, that one is used."""
    budget = _current.get()
    if budget is not None:
        yield budget
        return
    budget = Budget(limit)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


# What starting a render costs beyond its own work (the cache look-up, Jinja's context, the
# output list, and the Python around it in a repeating list or a table): measured.
RENDER_UNITS = 40


@contextlib.contextmanager
def render_budget(limit=None):
    """One render's share of the letter's budget (a letter budget of its own outside a letter)."""
    with letter_budget() as budget:
        saved = budget.render_limit, budget.render_size
        if limit is not None:
            budget.render_size = limit
        budget.render_limit = min(budget.letter_limit, budget.used + budget.render_size)
        budget._set_next_check()
        try:
            budget.charge(RENDER_UNITS)
            yield budget
        finally:
            budget.render_limit, budget.render_size = saved
            budget._set_next_check()


# Weighing ----------------------------------------------------------------------------

_SCALARS = (bool, float, type(None))


def _scalar_weight(value):
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is int:
        return value.bit_length() // 3 + 1  # about its decimal digits
    if kind in _SCALARS:
        return 5
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    return None


def _children(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield item
    else:
        yield from value


CONTAINERS = (list, tuple, dict, set, frozenset, type({}.keys()), type({}.values()), type({}.items()))


def weigh(value, cache=None, budget=None, limit=MAX_VALUE_WEIGHT):
    """About ``len(str(value))``: characters across nested containers, each item counted every
    time it appears (as ``str()`` writes it), two more per item for quotes and separators.
    The walk stops as soon as the weight passes ``limit`` (and answers ``limit + 1``); each
    item visited is a unit of work."""
    weight = _scalar_weight(value)
    if weight is not None:
        return weight
    if isinstance(value, range):
        return len(value) * 8
    if not isinstance(value, CONTAINERS):
        return 8  # dates, decimals, loop objects...: short texts
    # An explicit stack: data nested thousands deep must not reach Python's recursion limit.
    stack = [[value, _children(value), 2, 0]]
    visited = 0
    try:
        while stack:
            frame = stack[-1]
            for child in frame[1]:
                visited += 1
                frame[3] += 1
                weight = _scalar_weight(child)
                if weight is None:
                    if isinstance(child, CONTAINERS):
                        hit = cache.get(id(child)) if cache is not None else None
                        if hit is not None and hit[0] is child:
                            weight = hit[1]
                        else:
                            stack.append([child, _children(child), 2, 0])
                            break
                    elif isinstance(child, range):
                        weight = len(child) * 8
                    else:
                        weight = 8
                frame[2] += weight + 2
                if frame[2] > limit:
                    return limit + 1
            else:
                stack.pop()
                container, _items, total, items = frame
                if cache is not None and items >= _CACHED_FROM_ITEMS and len(cache) < _CACHE_ENTRIES:
                    cache[id(container)] = (container, total)  # kept alive, so its id is not reused
                if not stack:
                    return total
                parent = stack[-1]
                parent[2] += total + 2
                if parent[2] > limit:
                    return limit + 1
        return 0  # pragma: no cover (the loop returns)
    finally:
        if budget is not None:
            budget.charge(visited * _UNITS_PER_VISIT)


def weight(value):
    """The weight of ``value``, remembered for the letter when it is a large container."""
    budget = _current.get()
    if budget is None:
        return weigh(value)
    return weigh(value, budget._weights, budget)


def cost(value):
    """A cheap size for charging work that touches ``value`` at C speed: its characters, or its
    items (one unit each, since each is a Python object to visit)."""
    if isinstance(value, str):
        return len(value) // CHARS_PER_UNIT
    if isinstance(value, (list, tuple, dict, set, frozenset, range)):
        return len(value)
    return 0


__all__ = ["Budget", "WorkLimitExceeded", "letter_budget", "render_budget", "charge", "weight", "weigh", "cost",
           "current", "MAX_VALUE_WEIGHT", "CHARS_PER_UNIT", "RENDER_UNITS"]
