"""The pipeline process: `python -m meshlens.ingest.pipeline_child FD` (pipeline_process.py).

FD is the child's end of the socketpair the server made; what to build, the database and
the pipeline's keys and rules, arrives over that pipe first.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from meshlens.ingest.pipeline_process import child_main

if __name__ == "__main__":
    child_main(Connection(int(sys.argv[1])))
