"""The data model, the bottom layer: datasets, token-priority graphs, errors.

* :mod:`ntp_mechanics.model.dataset` - :class:`Dataset`, its JSON and ``.npz`` formats,
  ``load_dataset``.
* :mod:`ntp_mechanics.model.tpg` - token-priority graphs ``G^(k)``, SCCs, priority.
* :mod:`ntp_mechanics.model.sparse_tpg` - the same graphs as sparse arrays, at corpus scale.
* :mod:`ntp_mechanics.model.errors` - the errors every layer raises.

Nothing here imports another layer, Hypothesis, cvxpy or torch.
"""
