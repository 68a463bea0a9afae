"""Automaton inputs: fresh sequences for claim C (hard retrieval, then soft composition).

Claim C (THEORY.md section 5) concerns an input with query ``k`` whose tokens all
lie in ``G^(k)``.  If the tokens present contain a *dominating* token - one that
reaches every other token present in ``G^(k)`` - the trained attention concentrates
on the dominating token's SCC; if the highest tokens present are incomparable no
such prediction is made.  :func:`automaton_inputs` draws both kinds from a
:class:`~ntp_mechanics.generators.graphs.GraphSpec`.

Source: Li et al., *Mechanics of Next Token Prediction with Self-Attention*,
AISTATS 2024, its automaton view of the trained layer (hard retrieval of the
highest-priority SCC, then soft composition over it).

Example
-------
>>> from ntp_mechanics.generators.graphs import GraphSpec
>>> spec = GraphSpec.from_edges(3, {2: [(0, 2), (1, 2)]})   # 0 and 1 incomparable
>>> no_dominating_pairs(spec, 2)
((0, 1),)
>>> AutomatonInput.of(spec, (1, 0, 2)).dominating is None
True
>>> AutomatonInput.of(spec, (1, 2)).dominating
1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.graphs import GraphSpec

__all__ = ["AutomatonInput", "automaton_inputs", "no_dominating_pairs"]


@dataclass(frozen=True)
class AutomatonInput:
    """A query-``k``-last token sequence over ``G^(k)`` and its dominating token.

    ``dominating`` is the smallest token present that reaches every token present
    (its SCC in ``G^(k)`` is where claim C puts the attention), or None when the
    highest tokens present are incomparable.  The repr pastes into ``@example``.
    """

    tokens: tuple[int, ...]
    query: int
    dominating: int | None

    @classmethod
    def of(cls, spec: GraphSpec, tokens: Sequence[int]) -> AutomatonInput:
        """Classify ``tokens`` (query = last token) against ``spec``."""
        tokens = tuple(int(t) for t in tokens)
        k = tokens[-1]
        if k not in spec.edges:
            raise ValueError(f"{k} is not a query token of the spec")
        if not set(tokens) <= spec.nodes(k):
            raise ValueError(f"tokens {sorted(set(tokens) - spec.nodes(k))} are not in G^({k})")
        dom = spec.tpg[k].dominating(frozenset(tokens))
        return cls(tokens, k, dom[0] if dom else None)

    @property
    def has_dominating(self) -> bool:
        return self.dominating is not None


def no_dominating_pairs(spec: GraphSpec, k: int) -> tuple[tuple[int, int], ...]:
    """Incomparable pairs ``(a, b)`` of ``G^(k)`` such that ``{a, b, k}`` has no
    dominating token (so any input built on them has none)."""
    g = spec.tpg[k]
    nodes = sorted(spec.nodes(k))
    return tuple(
        (a, b)
        for i, a in enumerate(nodes)
        for b in nodes[i + 1 :]
        if not g.reaches(a, b) and not g.reaches(b, a) and not g.dominating({a, b, k})
    )


def automaton_inputs(
    spec: GraphSpec,
    query: int | None = None,
    *,
    dominating: bool | None = None,
    max_len: int = 8,
) -> SearchStrategy[AutomatonInput]:
    """Fresh inputs over ``G^(query)`` (query drawn from the spec when None).

    ``dominating``: True - the tokens present have a dominating token; False - they
    do not (needs :func:`no_dominating_pairs` non-empty for some query; other specs
    are rejected); None - either.  Tokens repeat and are shuffled up to ``max_len``.
    """
    if query is not None and query not in spec.edges:
        raise InvalidArgument(f"{query} is not a query token of {spec!r}")
    queries = spec.queries if query is None else (query,)
    without = tuple(k for k in queries if no_dominating_pairs(spec, k))
    if dominating is False and query is not None and not without:
        raise InvalidArgument(f"every input over G^({query}) has a dominating token")

    @st.composite
    def _draw(draw: st.DrawFn) -> AutomatonInput:
        want = dominating
        if want is None:
            want = draw(st.booleans()) if without else True
        candidates = queries if want else without
        assume(candidates)
        k = draw(st.sampled_from(candidates))
        room = max(0, max_len - 3)
        present = draw(_dominated_set(spec, k, room) if want else _undominated_set(spec, k, room))
        tokens = draw(_sequence(sorted(present), k, max_len))
        return AutomatonInput.of(spec, tokens)

    return _draw()


def _below(spec: GraphSpec, k: int, tops: Sequence[int]) -> list[int]:
    g = spec.tpg[k]
    return sorted(n for n in spec.nodes(k) if n not in tops and any(g.reaches(t, n) for t in tops))


@st.composite
def _dominated_set(draw: st.DrawFn, spec: GraphSpec, k: int, room: int) -> set[int]:
    """``{t, k}`` plus tokens below ``t``, for a token ``t`` reaching ``k``."""
    g = spec.tpg[k]
    t = draw(st.sampled_from(sorted(n for n in spec.nodes(k) if g.reaches(n, k))))
    below = [n for n in _below(spec, k, [t]) if n != k]
    extra = draw(st.lists(st.sampled_from(below), unique=True, max_size=room)) if below else []
    return {t, k, *extra}


@st.composite
def _undominated_set(draw: st.DrawFn, spec: GraphSpec, k: int, room: int) -> set[int]:
    """``{a, b, k}`` for incomparable ``a, b`` plus tokens below them: no dominating token."""
    a, b = draw(st.sampled_from(no_dominating_pairs(spec, k)))
    below = [n for n in _below(spec, k, [a, b]) if n != k]
    extra = draw(st.lists(st.sampled_from(below), unique=True, max_size=room)) if below else []
    return {a, b, k, *extra}


@st.composite
def _sequence(draw: st.DrawFn, present: list[int], k: int, max_len: int) -> tuple[int, ...]:
    """Every token of ``present`` at least once, ``k`` last, repeats and shuffling."""
    body = [t for t in present if t != k]
    room = max_len - 1 - len(body)
    if room > 0:
        body += draw(st.lists(st.sampled_from(present), max_size=room))
    body = list(draw(st.permutations(body))) if len(body) > 1 else body
    return (*body, k)
