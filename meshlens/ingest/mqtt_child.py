"""The MQTT receipt process: `python -m meshlens.ingest.mqtt_child FD` (mqtt_process.py).

FD is the child's end of the socketpair the server made; the rest, the source to receive
first, arrives over that pipe.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from meshlens.ingest.mqtt_process import child_main

if __name__ == "__main__":
    child_main(Connection(int(sys.argv[1])))
