"""The experiment engine: the paper's experiment and ``ntp-mechanics sweep``.

One module per part, each importing only those above it in this list (no cycle):

* :mod:`~ntp_mechanics.app.experiment.protocol` - the vocabularies (dataset kinds
  ``DRAWS``, ``EMBEDDINGS``, ``INITS``); the training protocol itself is
  :data:`ntp_mechanics.solvers.training.PAPER_PROTOCOL`;
* :mod:`~ntp_mechanics.app.experiment.grid` - a grid of parameters (``Grid``,
  ``parse_grid`` for a SPEC string, ``Task``);
* :mod:`~ntp_mechanics.app.experiment.engine` - runs tasks on local processes or a
  Dask cluster;
* :mod:`~ntp_mechanics.app.experiment.trial` - one trial: draw a dataset, train,
  measure (``Trial``, ``TrialResult``, ``run_trials``);
* :mod:`~ntp_mechanics.app.experiment.paper` - the paper's plan (``PaperPlan``, whose
  ``grid`` is a ``Grid``), its run on the engine, its summary and conclusions;
* :mod:`~ntp_mechanics.app.experiment.tasks` - a sweep task as a trial, chunk by chunk;
* :mod:`~ntp_mechanics.app.experiment.store` - the Parquet rows of a sweep;
* :mod:`~ntp_mechanics.app.experiment.figures` (the report's) and
  :mod:`~ntp_mechanics.app.experiment.grid_figures` (a sweep's) - the figures.
"""
