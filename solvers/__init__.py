"""Token-priority graphs, the theory's predictions (cvxpy) and attention training (torch).

Modules, one concept each:

* :mod:`ntp_mechanics.model.tpg` - token-priority graphs ``G^(k)``, SCCs, priority relations.
* :mod:`ntp_mechanics.solvers.loss` - the log-loss ``L(W)`` and its gradient in fp64 (numpy).
* :mod:`ntp_mechanics.solvers.subspaces` - ``S_fin`` and ``S_all`` with orthonormal bases.
* :mod:`ntp_mechanics.solvers.graph_svm` - the Graph-SVM ``W_svm`` (Frobenius and nuclear norm).
* :mod:`ntp_mechanics.solvers.svm_dual` - its matrix-free dual (the fast Frobenius path).
* :mod:`ntp_mechanics.solvers.finite` - the finite component ``W_fin`` (soft composition).
* :mod:`ntp_mechanics.solvers.regpath` - the regularization path ``W_R``.
* :mod:`ntp_mechanics.solvers.reference` - naive, independent formulations for cross-checks.
* :mod:`ntp_mechanics.solvers.step_rules` - GD with fixed, normalised and Polyak steps (numpy).
* :mod:`ntp_mechanics.solvers.training` - gradient-descent training of attention (torch),
  one dataset (``train``) or many in one tensor program (``train_batch``).

Importing this package imports neither cvxpy nor torch.
"""
