"""The mutant catalogue of ``ci/mutation.py``: realistic bugs the suite must catch.

Each entry: ``id``; ``area`` (``solvers``, ``kernel`` = verdicts, evidence and
controls, ``generators``, ``model`` = token-priority graphs); ``file``; ``original``,
an exact snippet that must occur exactly once in the file (else the mutant is STALE and
the run fails: keep the catalogue in step with the code); ``replacement``;
``description``; ``tests``, the targeted pytest selection that should fail; and,
for a mutant that cannot change any observable result, ``equivalent``: why.

Mutants target code meant to last (certificates, loss, subspaces, regularization path,
conic expression, token-priority graphs, verdict rules, evidence, controls,
generators) rather than the internals of a solve method.  The first entries are the
bugs of issue 14 ("Tests with teeth") that the suite once missed.
"""

CERT = "tests/test_certificates.py"
GEN_BOUNDS = "tests/test_generator_boundaries.py"

MUTANTS = [
    # -- the six survivors of issue 14 --------------------------------------------------
    dict(
        id="control-dropped-unmodified", area="kernel",
        file="ntp_mechanics/kernel/evidence/controls.py",
        original="        W = graph_svm(pred.dataset, TokenPriorityGraphs(graphs)).W\n",
        replacement="        W = graph_svm(pred.dataset, TokenPriorityGraphs(graphs)).W\n"
                    "        W = pred.svm.W\n",
        description="dropped-constraint control returns the unmodified Graph-SVM",
        tests=["theorems/claim_A_regularization_path.py::test_control_dropped_constraint_is_rejected"],
    ),
    dict(
        id="control-unreduced-is-W_fin", area="kernel",
        file="ntp_mechanics/kernel/evidence/controls.py",
        original="    return cl.W(c)\n",
        replacement="    return pred.W_fin\n",
        description="unreduced-finite-component control returns W_fin itself",
        tests=["theorems/claim_A_regularization_path.py::test_control_unreduced_W_fin_is_rejected"],
    ),
    dict(
        id="control-drops-least-binding", area="kernel",
        file="ntp_mechanics/kernel/evidence/controls.py",
        original="i, j, k = svm.constraints[int(np.argmax(svm.duals))]",
        replacement="i, j, k = svm.constraints[int(np.argmin(svm.duals))]",
        description="dropped-constraint control drops the least binding (maybe inactive) one",
        tests=["theorems/claim_B_gradient_descent.py::test_control_dropped_constraint_is_rejected"],
    ),
    dict(
        id="svm-certificate-always-true", area="solvers", file="solvers/graph_svm.py",
        original="    def ok(self) -> bool:\n        return (\n",
        replacement="    def ok(self) -> bool:\n        return True or (\n",
        description="the Graph-SVM certificate accepts anything",
        tests=[CERT + "::test_svm_certificate_rejects_a_perturbed_point"],
    ),
    dict(
        id="w_fin-grad-tol-loose", area="solvers", file="solvers/finite.py",
        original="GRAD_TOL = 1e-8", replacement="GRAD_TOL = 1e-2",
        description="W_fin's gradient tolerance loosened from 1e-8 to 1e-2",
        tests=[CERT + "::test_w_fin_certificate_rejects_a_perturbed_point"],
    ),
    dict(
        id="fw-gap-sign", area="solvers", file="solvers/regpath.py",
        original="    gap = float(g @ c + R * gnorm)",
        replacement="    gap = float(g @ c - R * gnorm)",
        description="the regularization path's Frank-Wolfe gap with its sign flipped",
        tests=[CERT + "::test_frank_wolfe_gap_is_its_definition"],
    ),
    dict(
        id="conic-log-m", area="solvers", file="solvers/conic.py",
        original="    value = w @ (u - Ay @ c - np.array(y_offs)) / loss.n",
        replacement="    value = w @ (u - Ay @ c) / loss.n",
        description="the exponential-cone loss drops its log m_i term",
        tests=[CERT + "::test_conic_loss_equals_exact_loss"],
    ),
    dict(
        id="equicorrelated-endpoints", area="generators", file="generators/embeddings.py",
        original="rho = st.floats(0.9 * lo, 0.9) if K > 1",
        replacement="rho = st.floats(lo, 1.0) if K > 1",
        description="equicorrelated embeddings widened to their singular endpoints",
        tests=[GEN_BOUNDS + "::test_default_equicorrelated_range_is_full_rank"],
    ),
    # -- solvers: certificates, loss, conic, subspaces, regularization path -------------
    dict(
        id="svm-cert-margin", area="solvers", file="solvers/graph_svm.py",
        original="float(np.max(1.0 - _margins(Z, tpg.acyclic_edges()), initial=0.0)),",
        replacement="float(np.max(0.9 - _margins(Z, tpg.acyclic_edges()), initial=0.0)),",
        description="the certificate checks margin 0.9 instead of 1 (wrong margin)",
        tests=[CERT + "::test_svm_certificate_rejects_a_shorter_point"],
    ),
    dict(
        id="svm-cert-dual-sign", area="solvers", file="solvers/graph_svm.py",
        original="dual_viol = float(max(0.0, -lam.min()))",
        replacement="dual_viol = float(max(0.0, lam.min()))",
        description="dual feasibility tests the wrong sign of the multipliers",
        tests=[CERT + "::test_svm_certificate_rejects_a_multiplier_of_the_wrong_sign"],
    ),
    dict(
        id="svm-cert-stationarity-sign", area="solvers", file="solvers/graph_svm.py",
        original="stat = np.linalg.norm(2 * W - Lam_perp)",
        replacement="stat = np.linalg.norm(2 * W + Lam_perp)",
        description="KKT stationarity with the gradient sign flipped",
        tests=[CERT + "::test_svm_certificate_accepts_the_solution"],
    ),
    dict(
        id="svm-reduced-constraint-dropped", area="solvers", file="solvers/graph_svm.py",
        original="for a, b in sorted(nx.transitive_reduction(C).edges):",
        replacement="for a, b in sorted(nx.transitive_reduction(C).edges)[1:]:",
        description="one arc of each transitive reduction dropped (a dropped constraint)",
        tests=["tests/test_graph_svm.py"],
    ),
    dict(
        id="fin-reduced-keeps-lower", area="solvers", file="solvers/finite.py",
        original="keep[i] = [m and g.same(int(v), s.label)",
        replacement="keep[i] = [m and g.reaches(s.label, int(v))",
        description="the reduced dataset keeps lower-priority tokens (no hard retrieval)",
        tests=["tests/test_finite.py"],
    ),
    dict(
        id="loss-label-grad-sign", area="solvers", file="solvers/loss.py",
        original="g = np.where(self.label_mask, -s * (off / p)[:, None], s)",
        replacement="g = np.where(self.label_mask, s * (off / p)[:, None], s)",
        description="the loss gradient on label positions with the wrong sign",
        tests=["tests/test_finite.py"],
    ),
    dict(
        id="loss-multiplicity", area="solvers", file="solvers/loss.py",
        original="lse_y = logsumexp(np.where(self.label_mask, a, -np.inf), axis=1)",
        replacement="lse_y = np.max(np.where(self.label_mask, a, -np.inf), axis=1)",
        description="the exact loss ignores the label's multiplicity (drops log m_i)",
        tests=[CERT + "::test_conic_loss_equals_exact_loss"],
    ),
    dict(
        id="conic-merge-weight", area="solvers", file="solvers/conic.py",
        original="            groups[key][0] += 1",
        replacement="            groups[key][0] += 0",
        description="identical samples merged without their weight",
        tests=[CERT + "::test_conic_loss_equals_exact_loss"],
    ),
    dict(
        id="conic-count-offset", area="solvers", file="solvers/conic.py",
        original="            offs.append(np.log(cnt))",
        replacement="            offs.append(0.0)",
        description="repeated tokens counted once in the log-sum-exp",
        tests=[CERT + "::test_conic_loss_equals_exact_loss"],
    ),
    dict(
        id="regpath-kkt-sign", area="solvers", file="solvers/regpath.py",
        original="kkt = float(np.linalg.norm(g + mu * c)) / gnorm",
        replacement="kkt = float(np.linalg.norm(g - mu * c)) / gnorm",
        description="the path's KKT residual with the multiplier's sign flipped",
        tests=["tests/test_regpath.py"],
    ),
    dict(
        id="regpath-resolution-dropped", area="solvers", file="solvers/regpath.py",
        original="kkt <= KKT_TOL and s_min > UNDERFLOW and resolved",
        replacement="kkt <= KKT_TOL",
        description="the path certifies points past fp64 resolution (underflow unchecked)",
        tests=[CERT + "::test_path_certificate_rejects_a_point_past_fp64_resolution"],
    ),
    dict(
        id="regpath-interior-curvature", area="solvers", file="solvers/regpath.py",
        original="lam_min > CURVATURE_MIN and dist <= INTERIOR_DIST",
        replacement="lam_min > CURVATURE_MIN or dist <= INTERIOR_DIST",
        description="interior points certified without curvature",
        tests=[CERT + "::test_path_certificate_rejects_an_interior_point_off_the_minimiser"],
    ),
    dict(
        id="subspace-fin-first-scc", area="solvers", file="solvers/subspaces.py",
        original="for k, g in tpg.items() for c in g.sccs))",
        replacement="for k, g in tpg.items() for c in g.sccs[:1]))",
        description="S_fin spanned by the first SCC of each graph only",
        tests=["tests/test_finite.py"],
    ),
    dict(
        id="subspace-all-is-fin", area="solvers", file="solvers/subspaces.py",
        original="for c in nx.weakly_connected_components(g.graph)",
        replacement="for c in nx.strongly_connected_components(g.graph)",
        description="S_all spanned by the cyclic edges only",
        tests=["tests/test_regpath.py"],
    ),
    # -- model: token-priority graphs --------------------------------------------------
    dict(
        id="tpg-reversed-edges", area="model", file="ntp_mechanics/model/tpg.py",
        original="es.update((s.label, x) for x in s.tokens if x != s.label)",
        replacement="es.update((x, s.label) for x in s.tokens if x != s.label)",
        description="token-priority graph edges reversed",
        tests=["tests/test_tpg.py"],
    ),
    dict(
        id="tpg-levels-off-by-one", area="model", file="ntp_mechanics/model/tpg.py",
        original="level[c] = max((level[s] + 1 for s in C.successors(c)), default=0)",
        replacement="level[c] = max((level[s] + 1 for s in C.successors(c)), default=1)",
        description="longest-path levels with sinks at 1",
        tests=["tests/test_tpg.py"],
    ),
    # -- kernel: verdict rules, evidence, controls -------------------------------------
    dict(
        id="verdict-plateau-flipped", area="kernel", file="ntp_mechanics/kernel/verdict.py",
        original="if good and math.isfinite(r) and r >= plateau and",
        replacement="if good and math.isfinite(r) and r <= plateau and",
        description="the contradiction rule reads a decaying sequence as a plateau",
        tests=["tests/test_verdict_rules.py"],
    ),
    dict(
        id="verdict-consistent-large", area="kernel", file="ntp_mechanics/kernel/verdict.py",
        original="if good and fit.limit <= tol and",
        replacement="if good and fit.limit <= large and",
        description="consistency accepts a limit up to the contradiction threshold",
        tests=["tests/test_verdict_rules.py"],
    ),
    dict(
        id="verdict-converged-floor", area="kernel", file="ntp_mechanics/kernel/verdict.py",
        original="conv = tol / 10 if converged is None else converged",
        replacement="conv = tol if converged is None else converged",
        description="any error under the tolerance counts as converged",
        tests=["tests/test_verdict_rules.py"],
    ),
    dict(
        id="verdict-empty-consistent", area="kernel", file="ntp_mechanics/kernel/verdict.py",
        original="        if not vs:\n            return cls.INCONCLUSIVE",
        replacement="        if not vs:\n            return cls.CONSISTENT",
        description="no evidence at all is CONSISTENT",
        tests=["tests/test_verdict_rules.py"],
    ),
    dict(
        id="verdict-combine-optimistic", area="kernel", file="ntp_mechanics/kernel/verdict.py",
        original="        if cls.INCONCLUSIVE in vs:\n            return cls.INCONCLUSIVE\n"
                 "        return cls.CONSISTENT",
        replacement="        return cls.CONSISTENT",
        description="combining ignores INCONCLUSIVE parts",
        tests=["tests/test_verdict_rules.py"],
    ),
    dict(
        id="path-target-sign", area="kernel", file="ntp_mechanics/kernel/evidence/path.py",
        original="dir_errs.append(float(np.linalg.norm(p.W / p.R - target)))",
        replacement="dir_errs.append(float(np.linalg.norm(p.W / p.R + target)))",
        description="claim A measures the distance to -W_svm",
        tests=["theorems/claim_A_regularization_path.py::test_paper_cases_are_consistent"],
    ),
    dict(
        id="iterates-norm-growth", area="kernel", file="ntp_mechanics/kernel/evidence/iterates.py",
        original="growing = norms[-1] >= 2 * ns and",
        replacement="growing = norms[-1] >= 0 * ns or",
        description="claim B's unbounded-norm check always passes",
        tests=["tests/test_evidence_rules.py"],
    ),
    dict(
        id="automaton-off-scc", area="kernel", file="ntp_mechanics/kernel/evidence/automaton.py",
        original="        off.append(float(s[~inside].sum()))",
        replacement="        off.append(float(s[inside].sum()) * 0.0)",
        description="claim C never measures attention off the label's SCC",
        tests=["tests/test_evidence_rules.py"],
    ),
    dict(
        id="attention-svm-selects-query", area="kernel",
        file="ntp_mechanics/kernel/evidence/special_cases.py",
        original='sel = s.label if select == "label" else s.query',
        replacement='sel = s.query if select == "label" else s.label',
        description="claim E's attention SVM selects the query instead of the label",
        tests=["theorems/claim_E_special_cases.py::test_paper_acyclic_cases_are_consistent"],
    ),
    dict(
        id="weights-cos-rule-off", area="kernel", file="ntp_mechanics/kernel/evidence/weights.py",
        original="    if along < -bS - COS_SLACK * rho:",
        replacement="    if along < -bS - COS_SLACK * rho - 1e9:",
        description="check's rule '<W, W_svm> only increases under GD' disabled",
        tests=["tests/test_evidence_rules.py"],
    ),
    dict(
        id="weights-path-rule-loose", area="kernel",
        file="ntp_mechanics/kernel/evidence/weights.py",
        original="    far = scale >= MIN_SCALE and path >= PATH_BAD and",
        replacement="    far = scale >= MIN_SCALE and path >= 2 * PATH_BAD and",
        description="check's path-distance contradiction threshold doubled",
        tests=["tests/test_evidence_rules.py"],
    ),
    dict(
        id="premise-disabled", area="kernel", file="ntp_mechanics/kernel/claim_support.py",
        original="    if gap is not None and gap >= min_gap:\n        return\n",
        replacement="    if True:\n        return\n",
        description="negative controls no longer assert their premise",
        tests=["tests/test_control_premise.py"],
    ),
    dict(
        id="precise-loss-log1p", area="kernel", file="ntp_mechanics/kernel/evidence/common.py",
        original="per = np.where(ls < 0, np.log1p(np.exp(ls)), np.logaddexp(0.0, ls))",
        replacement="per = np.logaddexp(0.0, ls)",
        description="the accurate loss uses logaddexp on both branches",
        tests=["theorems/claim_A_regularization_path.py::test_paper_cases_are_consistent"],
        equivalent="np.logaddexp(0, x) is computed as max(0, x) + log1p(exp(-|x|)), which "
                   "for x < 0 is log1p(exp(x)) to the last bit: the two branches agree",
    ),
    # -- generators ------------------------------------------------------------------------
    dict(
        id="realise-adds-edges", area="generators", file="generators/realise.py",
        original="    return sorted({y, k} | spec.out_neighbours(k, y))",
        replacement="    return sorted({y, k} | spec.out_neighbours(k, y) | spec.nodes(k))",
        description="a realisation repeats tokens that add edges to the drawn graph",
        tests=["tests/test_generators_realise.py"],
    ),
    dict(
        id="graphs-open-cycle", area="generators", file="generators/graphs.py",
        original="edges = {(members[i], members[(i + 1) % s]) for i in range(s)} if s > 1",
        replacement="edges = {(members[i], members[(i + 1) % s]) for i in range(s - 1)} if s > 1",
        description="an SCC's cycle is not closed (graph kinds mislabelled)",
        tests=["tests/test_generators_graphs.py"],
    ),
    dict(
        id="graphs-depth-sinks", area="generators", file="generators/graphs.py",
        original="    n_sinks = l0\n",
        replacement="    n_sinks = 0\n",
        description="no sink under a level-1 query SCC: the depth is off by one",
        tests=["tests/test_generators_graphs.py"],
    ),
    dict(
        id="unit-norm-condition", area="generators", file="generators/embeddings.py",
        original="            if gram_condition(E) <= max_cond:",
        replacement="            if True:",
        description="unit-norm embeddings no longer bounded in condition number",
        tests=["tests/test_generators_embeddings.py", GEN_BOUNDS],
    ),
    dict(
        id="overcomplete-coherence", area="generators", file="generators/embeddings.py",
        original="            if C.max() <= coh:",
        replacement="            if True:",
        description="overcomplete rows no longer kept distinguishable",
        tests=["tests/test_generators_embeddings.py", GEN_BOUNDS],
    ),
    dict(
        id="paper-labels-unrealisable", area="generators", file="generators/datasets.py",
        original="    return tokens, draw(st.sampled_from(tokens))",
        replacement="    return tokens, draw(st.integers(0, K - 1))",
        description="labels drawn from the vocabulary, not from the sequence",
        tests=["tests/test_generators_datasets.py", GEN_BOUNDS],
    ),
    dict(
        id="paper-variable-lengths", area="generators", file="generators/datasets.py",
        original="length = draw(st.integers(1, T)) if variable else T",
        replacement="length = draw(st.integers(1, T))",
        description="fixed-length datasets get variable lengths",
        tests=["tests/test_generators_datasets.py", GEN_BOUNDS],
    ),
    dict(
        id="automaton-pairs-dominated", area="generators", file="generators/automaton.py",
        original="not g.reaches(b, a) and not g.dominating({a, b, k})",
        replacement="not g.reaches(b, a)",
        description="'no dominating token' inputs may be dominated by the query",
        tests=["tests/test_generators_datasets.py"],
    ),
    dict(
        id="automaton-top-unreachable", area="generators", file="generators/automaton.py",
        original="t = draw(st.sampled_from(sorted(n for n in spec.nodes(k) if g.reaches(n, k))))",
        replacement="t = draw(st.sampled_from(sorted(spec.nodes(k))))",
        description="'dominating' inputs built on a token that may not reach the query",
        tests=["tests/test_generators_datasets.py",
               GEN_BOUNDS + "::test_dominated_inputs_beside_a_sink_the_query_does_not_reach"],
    ),
    dict(
        id="equicorrelated-renormalise", area="generators", file="generators/embeddings.py",
        original="    E = E @ _rotation(rng, d)\n"
                 "    return E / np.linalg.norm(E, axis=1, keepdims=True)",
        replacement="    E = E @ _rotation(rng, d)\n    return E",
        description="equicorrelated rows not renormalised after the rotation",
        tests=["tests/test_generators_embeddings.py", GEN_BOUNDS],
        equivalent="the rows of a factor of a Gram matrix with unit diagonal already have "
                   "norm 1, and a rotation keeps it: the division changes them by rounding only",
    ),
]
