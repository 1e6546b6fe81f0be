"""Allow `python -m meshlens`."""

from meshlens.cli import main

raise SystemExit(main())
