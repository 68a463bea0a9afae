"""``python -m ntp_mechanics``: the same as the ``ntp-mechanics`` console script."""

from ntp_mechanics.app.cli import main

raise SystemExit(main())
