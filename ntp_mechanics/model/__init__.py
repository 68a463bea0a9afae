"""The data model, the bottom layer: datasets, token-priority graphs, errors.

* :mod:`ntp_mechanics.model.dataset` - :class:`Dataset`, its JSON format, ``load_dataset``.
* :mod:`ntp_mechanics.model.tpg` - token-priority graphs ``G^(k)``, SCCs, priority.
* :mod:`ntp_mechanics.model.errors` - the errors every layer raises.

Nothing here imports another layer, Hypothesis, cvxpy or torch.
"""
