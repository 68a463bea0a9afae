"""Token-priority graphs, the theory's predictions (cvxpy) and attention training (torch).

Modules, one concept each:

* :mod:`solvers.tpg` - token-priority graphs ``G^(k)``, SCCs, priority relations.
* :mod:`solvers.loss` - the log-loss ``L(W)`` and its gradient in fp64 (numpy).
* :mod:`solvers.subspaces` - ``S_fin`` and ``S_all`` with orthonormal bases.
* :mod:`solvers.graph_svm` - the Graph-SVM ``W_svm`` (Frobenius and nuclear norm).
* :mod:`solvers.finite` - the finite component ``W_fin`` (soft composition).
* :mod:`solvers.regpath` - the regularization path ``W_R``.
* :mod:`solvers.reference` - naive, independent formulations for cross-checks.
* :mod:`solvers.training` - gradient-descent training of attention (torch).

Importing this package imports neither cvxpy nor torch.
"""
