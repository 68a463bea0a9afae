"""Token-priority graphs first: Hypothesis strategies for the graphs ``G^(k)``.

A *graph spec* is the family of token-priority graphs of some dataset (THEORY.md
section 2): for each query token ``k`` a directed graph ``G^(k)`` on ``[K]`` with an
edge ``y -> x`` whenever a sample with query ``k`` and label ``y`` contains ``x != y``.
Not every digraph arises this way.  The query is in its own sequence, so every token
with an out-edge (a label) ``y != k`` has the *forced edge* ``y -> k``.  Hence every
label reaches ``k`` and each ``G^(k)`` has the shape

    upper SCCs (each member -> k)  ->  SCC of k  ->  sink singletons (no out-edges)

Strategies here draw that structure directly (number and sizes of SCCs, a DAG of
levels among them, the forced edges), so the drawn spec *is* the final edge set and
its SCCs and depth are exactly what was asked for.  :mod:`ntp_mechanics.generators.realise` turns a
spec into a dataset whose graphs are exactly the spec.

Source: Li, Huang, Ildiz, Rawat, Oymak, *Mechanics of Next Token Prediction with
Self-Attention*, AISTATS 2024, its definition of the token-priority graph.

Example
-------
>>> spec = GraphSpec.from_edges(3, {2: [(0, 2), (1, 2), (0, 1)]})
>>> spec.depth, spec.is_acyclic, spec.sccs(2)
(2, True, ((0,), (1,), (2,)))
>>> GraphSpec.from_edges(2, {0: [(0, 1)]}).kind
'acyclic'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import PriorityGraph, TokenPriorityGraphs

__all__ = ["GraphSpec", "GraphSpecError", "token_graphs"]

DEFAULT_MAX_K = 8
"""Largest vocabulary :func:`token_graphs` draws when ``K`` is not given."""

EdgeSet = frozenset[tuple[int, int]]


class GraphSpecError(ValueError):
    """Edge sets that no dataset can realise (or that are malformed)."""


@dataclass(frozen=True)
class GraphSpec:
    """Token-priority graphs as data: vocabulary size ``K`` and ``{k: edges of G^(k)}``.

    Frozen and hashable.  A query with an empty edge set is the one-token graph
    ``{k}`` (realised by the sample ``[k] -> k``).  Construction checks that the edge
    sets are realisable: every label ``y != k`` carries the forced edge ``y -> k``.
    """

    K: int
    edges: Mapping[int, EdgeSet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        norm = {
            int(k): frozenset((int(i), int(j)) for i, j in es)
            for k, es in sorted(self.edges.items())
        }
        object.__setattr__(self, "edges", norm)
        _validate(self.K, norm)

    def __hash__(self) -> int:
        return hash((self.K, tuple(self.edges.items())))

    def __repr__(self) -> str:  # pasteable into @example(...)
        body = ", ".join(f"{k}: {sorted(es)}" for k, es in self.edges.items())
        return f"GraphSpec.from_edges({self.K}, {{{body}}})"

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_edges(cls, K: int, edges: Mapping[int, Iterable[tuple[int, int]]]) -> GraphSpec:
        return cls(K, {k: frozenset(es) for k, es in edges.items()})

    @classmethod
    def from_dataset(cls, ds: Dataset) -> GraphSpec:
        """The token-priority graphs of ``ds``."""
        return cls(ds.K, TokenPriorityGraphs.from_dataset(ds).edge_sets())

    # -- graphs ----------------------------------------------------------------------
    @property
    def queries(self) -> tuple[int, ...]:
        return tuple(self.edges)

    def nodes(self, k: int) -> frozenset[int]:
        """Tokens of ``G^(k)``: ``k`` and every edge end."""
        return frozenset({k, *(t for e in self.edges[k] for t in e)})

    def out_neighbours(self, k: int, y: int) -> frozenset[int]:
        return frozenset(j for i, j in self.edges[k] if i == y)

    def labels(self, k: int) -> tuple[int, ...]:
        """Tokens with an out-edge in ``G^(k)`` (the labels a realisation needs)."""
        return tuple(sorted({i for i, _ in self.edges[k]}))

    def graph(self, k: int) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_node(k)
        g.add_edges_from(self.edges[k])
        return g

    @cached_property
    def tpg(self) -> TokenPriorityGraphs:
        """The spec as :class:`ntp_mechanics.model.tpg.TokenPriorityGraphs` (built with
        networkx)."""
        return TokenPriorityGraphs({k: PriorityGraph(k, self.graph(k)) for k in self.edges})

    def sccs(self, k: int) -> tuple[tuple[int, ...], ...]:
        """SCCs of ``G^(k)``, highest priority first (as :attr:`PriorityGraph.sccs`)."""
        return self.tpg[k].sccs

    def depth_of(self, k: int) -> int:
        """Longest path (in edges) of the condensation of ``G^(k)``."""
        return int(nx.dag_longest_path_length(self.tpg[k].condensation))

    @property
    def depth(self) -> int:
        """Largest :meth:`depth_of` over the queries (0 for no queries)."""
        return max((self.depth_of(k) for k in self.edges), default=0)

    # -- classification --------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return sum(len(es) for es in self.edges.values())

    @property
    def n_cyclic_edges(self) -> int:
        return len(self.tpg.cyclic_edges())

    @property
    def n_acyclic_edges(self) -> int:
        return len(self.tpg.acyclic_edges())

    @property
    def is_acyclic(self) -> bool:
        """Every SCC of every graph is a single token (no cyclic edge)."""
        return self.n_cyclic_edges == 0

    @property
    def is_strongly_connected(self) -> bool:
        """Every ``G^(k)`` is one SCC of at least two tokens."""
        return bool(self.edges) and all(
            len(self.nodes(k)) >= 2 and len(self.sccs(k)) == 1 for k in self.edges
        )

    @property
    def kind(self) -> str:
        """``trivial`` (no edge), ``acyclic``, ``strongly_connected`` or ``mixed``.

        With no acyclic edge every graph is strongly connected or the lone query
        (its labels all reach ``k`` through cyclic edges); ``W_svm = 0`` exactly then.
        """
        if self.n_edges == 0:
            return "trivial"
        if self.n_cyclic_edges == 0:
            return "acyclic"
        if self.n_acyclic_edges == 0:
            return "strongly_connected"
        return "mixed"

    @property
    def shares_tokens(self) -> bool:
        """Some token lies in the graphs of two different queries."""
        seen: set[int] = set()
        for k in self.edges:
            nodes = self.nodes(k)
            if seen & nodes:
                return True
            seen |= nodes
        return False


def _validate(K: int, edges: dict[int, EdgeSet]) -> None:
    if not (isinstance(K, int) and K >= 1):
        raise GraphSpecError(f"K must be a positive integer, got {K!r}")
    for k, es in edges.items():
        if not 0 <= k < K:
            raise GraphSpecError(f"query token {k} out of range [0, {K})")
        for i, j in es:
            if not (0 <= i < K and 0 <= j < K):
                raise GraphSpecError(f"edge {i} -> {j} of G^({k}) out of range [0, {K})")
            if i == j:
                raise GraphSpecError(
                    f"self-loop {i} -> {i} in G^({k}): a label never points at itself"
                )
            if i != k and (i, k) not in es:
                raise GraphSpecError(
                    f"G^({k}) has the label {i} (edge {i} -> {j}) but not the forced edge "
                    f"{i} -> {k}: no dataset realises it"
                )


# -- strategies -----------------------------------------------------------------------------
def token_graphs(
    K: int | SearchStrategy[int] | None = None,
    n_queries: int | SearchStrategy[int] | None = None,
    *,
    acyclic_only: bool = False,
    strongly_connected: bool = False,
    depth: int | None = None,
    min_depth: int = 0,
    max_depth: int | None = None,
    min_cyclic_edges: int = 0,
    min_acyclic_edges: int = 0,
    shared_tokens: bool | None = None,
    max_scc_size: int | None = None,
) -> SearchStrategy[GraphSpec]:
    """Realisable token-priority graphs, drawn structure-first.

    Per query ``k``: the depth ``D`` of ``G^(k)`` (longest path in the condensation),
    the SCC of ``k``, upper SCCs on levels ``1..D`` above it (each member with the
    forced edge to ``k``; a level-L SCC has an edge into level L-1, so chains,
    diamonds and incomparable branches all occur), sink singletons below, SCC
    internals (a cycle plus random chords) and extra downward edges.

    * ``K`` - vocabulary size (default drawn from ``[2, 8]``, large enough for the
      other parameters); ``n_queries`` - distinct query tokens (default ``1..3``).
    * ``acyclic_only`` - every SCC a single token (add ``min_acyclic_edges=1`` to
      exclude the edgeless spec); ``strongly_connected`` - every ``G^(k)`` one SCC of
      at least two tokens (depth 0, ``W_svm = 0``).
    * ``depth`` - exact depth of *every* ``G^(k)``; or ``min_depth``/``max_depth``.
    * ``min_cyclic_edges``/``min_acyclic_edges`` - totals over all queries.
    * ``shared_tokens`` - True: some token lies in two queries' graphs; False: the
      graphs' token sets are disjoint; None: either.
    * ``max_scc_size`` - cap on SCC sizes.

    Shrinks towards K = 2, one query, one SCC, few edges.
    """
    if acyclic_only and strongly_connected:
        raise InvalidArgument("acyclic_only and strongly_connected exclude each other")
    if depth is not None:
        if depth < min_depth or (max_depth is not None and depth > max_depth):
            raise InvalidArgument(f"depth={depth} contradicts min_depth/max_depth")
        min_depth = max_depth = depth
    if min_depth < 0 or (max_depth is not None and max_depth < min_depth):
        raise InvalidArgument(f"need 0 <= min_depth <= max_depth, got {min_depth}, {max_depth}")
    if strongly_connected and (min_depth > 0 or min_acyclic_edges > 0):
        raise InvalidArgument("strongly connected graphs have depth 0 and no acyclic edge")
    if strongly_connected:
        max_depth = 0
    if max_depth == 0 and min_acyclic_edges > 0:
        raise InvalidArgument("depth 0 graphs have no acyclic edge")
    cyclic_possible = not acyclic_only and (max_scc_size is None or max_scc_size >= 2)
    if (min_cyclic_edges > 0 or strongly_connected) and not cyclic_possible:
        raise InvalidArgument("cyclic edges need acyclic_only=False and max_scc_size >= 2")
    if isinstance(n_queries, int) and not 1 <= n_queries <= (
        K if isinstance(K, int) else n_queries
    ):
        raise InvalidArgument(f"need 1 <= n_queries <= K, got n_queries={n_queries}, K={K}")
    if shared_tokens and isinstance(n_queries, int) and n_queries < 2:
        raise InvalidArgument("shared_tokens=True needs at least two queries")
    cfg = _Config(
        acyclic=acyclic_only,
        sc=strongly_connected,
        min_depth=min_depth,
        max_depth=max_depth,
        min_cyclic=min_cyclic_edges,
        min_acyclic=min_acyclic_edges,
        shared=shared_tokens,
        max_scc=max_scc_size or 10**9,
    )
    need0 = _min_pool(cfg, 0)
    if isinstance(K, int) and K < need0 + 1:
        raise InvalidArgument(f"K={K} is too small for these parameters (need K >= {need0 + 1})")
    k_lo = max(2, need0 + 1, 2 if shared_tokens else 0)
    Ks = st.integers(k_lo, max(k_lo, DEFAULT_MAX_K)) if K is None else _as_strategy(K)
    return _token_graphs(Ks, None if n_queries is None else _as_strategy(n_queries), cfg)


def _as_strategy(v: int | SearchStrategy[int]) -> SearchStrategy[int]:
    return v if isinstance(v, SearchStrategy) else st.just(v)


@dataclass(frozen=True)
class _Config:
    acyclic: bool
    sc: bool
    min_depth: int
    max_depth: int | None
    min_cyclic: int
    min_acyclic: int
    shared: bool | None
    max_scc: int


def _need_cycle(cfg: _Config, j: int) -> bool:
    """The first query's graph carries a cycle when cyclic edges are required."""
    return j == 0 and cfg.min_cyclic > 0 and not cfg.sc


def _lo_depth(cfg: _Config, j: int) -> int:
    if cfg.sc:
        return 0
    return max(cfg.min_depth, 1 if j == 0 and cfg.min_acyclic > 0 else 0)


def _min_pool(cfg: _Config, j: int) -> int:
    """Fewest tokens besides ``k`` the j-th query's graph needs."""
    lo = _lo_depth(cfg, j)
    cyc = _need_cycle(cfg, j) or cfg.sc
    return lo + 1 if cyc else lo


@st.composite
def _token_graphs(
    draw: st.DrawFn,
    Ks: SearchStrategy[int],
    n_queries: SearchStrategy[int] | None,
    cfg: _Config,
) -> GraphSpec:
    K = draw(Ks)
    assume(K >= _min_pool(cfg, 0) + 1)
    q_lo = 2 if cfg.shared else 1
    q = draw(st.integers(q_lo, max(q_lo, min(3, K))) if n_queries is None else n_queries)
    assume(q_lo <= q <= K)
    queries = draw(st.lists(st.integers(0, K - 1), min_size=q, max_size=q, unique=True))
    pools = draw(_pools(K, queries, cfg))
    edges = {k: draw(_query_graph(k, pool, j, cfg)) for j, (k, pool) in enumerate(pools)}
    spec = GraphSpec(K, edges)
    assume(spec.n_cyclic_edges >= cfg.min_cyclic and spec.n_acyclic_edges >= cfg.min_acyclic)
    if cfg.shared is not None:
        assume(spec.shares_tokens == cfg.shared)
    return spec


@st.composite
def _pools(
    draw: st.DrawFn, K: int, queries: list[int], cfg: _Config
) -> list[tuple[int, list[int]]]:
    """Tokens each query's graph may use besides ``k`` (disjoint iff shared=False)."""
    if cfg.shared is not False:
        return [(k, [t for t in range(K) if t != k]) for k in queries]
    rest = [t for t in range(K) if t not in queries]
    needs = [_min_pool(cfg, j) for j in range(len(queries))]
    assume(sum(needs) <= len(rest))
    out = []
    for j, k in enumerate(queries):
        reserve = sum(needs[j + 1 :])
        size = draw(st.integers(needs[j], len(rest) - reserve))
        out.append((k, rest[:size]))
        rest = rest[size:]
    return out


@st.composite
def _query_graph(draw: st.DrawFn, k: int, pool: list[int], j: int, cfg: _Config) -> EdgeSet:
    cyc = _need_cycle(cfg, j)
    if cfg.sc:
        assume(pool)
        size = draw(st.integers(2, min(cfg.max_scc, len(pool) + 1)))
        members = [k, *draw(st.permutations(pool))[: size - 1]]
        return frozenset(draw(_scc_edges(members, k)))
    lo = _lo_depth(cfg, j)
    hi = len(pool) - (1 if cyc else 0)
    if cfg.max_depth is not None:
        hi = min(hi, cfg.max_depth)
    assume(lo <= hi)
    D = draw(st.integers(lo, hi))
    return frozenset(draw(_layered_graph(k, pool, D, cyc, cfg)))


@st.composite
def _scc_edges(draw: st.DrawFn, members: list[int], k: int | None) -> set[tuple[int, int]]:
    """A cycle through ``members`` (in order) plus random chords, plus ``y -> k``."""
    s = len(members)
    edges = {(members[i], members[(i + 1) % s]) for i in range(s)} if s > 1 else set()
    chords = [(a, b) for a in members for b in members if a != b and (a, b) not in edges]
    if chords:
        edges |= set(draw(st.lists(st.sampled_from(chords), unique=True)))
    if k is not None:
        edges |= {(y, k) for y in members if y != k}
    return edges


_ROLE_ORDER = ("join_k", "join_upper", "new_upper", "sink")


@st.composite
def _layered_graph(
    draw: st.DrawFn, k: int, pool: list[int], D: int, cyc: bool, cfg: _Config
) -> set[tuple[int, int]]:
    """``G^(k)`` of exact depth ``D``: uppers on levels, k's SCC, sinks (see module doc)."""
    # k's SCC has level l0: 1 when it points at a sink, else 0.  Uppers fill l0+1..D.
    l0 = 0 if D == 0 else draw(st.integers(0, 1))
    k_size = 1
    uppers = [[lvl, 1] for lvl in range(l0 + 1, D + 1)]  # [level, size]
    n_sinks = l0
    budget = len(pool) - D
    if D == 0:  # only growing k's SCC is possible
        budget = 0 if cfg.acyclic else min(budget, cfg.max_scc - 1)
    n_extra = draw(st.integers(1 if cyc else 0, budget))
    for e in range(n_extra):
        roles = []
        if not cfg.acyclic:
            roles += [("join_k", 0)] if k_size < cfg.max_scc else []
            roles += [("join_upper", i) for i, u in enumerate(uppers) if u[1] < cfg.max_scc]
        if not (cyc and e == 0):
            roles += [("new_upper", lvl) for lvl in range(l0 + 1, D + 1)]
            roles += [("sink", 0)] if D > 0 else []
        assume(roles)
        # pick the kind of growth first (join an SCC / new upper / sink), then where
        kinds = sorted({r for r, _ in roles}, key=_ROLE_ORDER.index)
        role = draw(st.sampled_from(kinds))
        arg = draw(st.sampled_from([a for r, a in roles if r == role]))
        if role == "join_k":
            k_size += 1
        elif role == "join_upper":
            uppers[arg][1] += 1
        elif role == "new_upper":
            uppers.append([arg, 1])
        else:
            n_sinks += 1
    # assign tokens: k's SCC, then uppers, then sinks
    order = iter(draw(st.permutations(pool)))
    k_scc = [k, *(next(order) for _ in range(k_size - 1))]
    ups = [(lvl, [next(order) for _ in range(size)]) for lvl, size in uppers]
    sinks = [next(order) for _ in range(n_sinks)]
    edges = draw(_scc_edges(k_scc, k))
    for _, members in ups:
        edges |= draw(_scc_edges(members, k))
    edges |= draw(_level_edges(k_scc, ups, sinks, l0))
    return edges


@st.composite
def _level_edges(
    draw: st.DrawFn,
    k_scc: list[int],
    ups: list[tuple[int, list[int]]],
    sinks: list[int],
    l0: int,
) -> set[tuple[int, int]]:
    """Cross-SCC edges that fix every level, plus optional downward extras."""
    edges: set[tuple[int, int]] = set()
    for lvl, members in ups:  # a level-L upper needs a successor on level L-1
        if lvl >= l0 + 2:
            below = [m for lv, ms in ups if lv == lvl - 1 for m in ms]
            edges.add((draw(st.sampled_from(members)), draw(st.sampled_from(below))))
    k_parents = k_scc if l0 == 1 else []
    upper_nodes = [m for _, ms in ups for m in ms]
    for i, s in enumerate(sinks):  # the first sink hangs under k's SCC when l0 = 1
        parents = k_parents if i == 0 and l0 == 1 else k_parents + upper_nodes
        edges.add((draw(st.sampled_from(parents)), s))
    # optional extras: any edge from a level-L SCC to something on a lower level
    cands = [(y, s) for y in k_parents for s in sinks]
    for lvl, members in ups:
        lower = k_scc[1:] + sinks + [m for lv, ms in ups if lv < lvl for m in ms]
        cands += [(u, x) for u in members for x in lower]
    cands = [c for c in cands if c not in edges]
    if cands:
        edges |= set(draw(st.lists(st.sampled_from(cands), unique=True)))
    return edges
