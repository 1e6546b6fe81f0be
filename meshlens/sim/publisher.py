"""Publishing a simulation live to an MQTT broker, as an observer fleet would."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from meshlens.sim import messages
from meshlens.sim.events import Observation
from meshlens.sim.outputs import Progress, RunReport
from meshlens.sim.simulation import Simulation, SimulationSpec


def publish_mqtt(
    spec: SimulationSpec,
    url: str,
    rate_per_s: float,
    on_progress: Progress | None = None,
    *,
    topic_prefix: str = "meshcore",
    limit: int | None = None,
) -> RunReport:
    """Publish the run's messages at `rate_per_s`, stamped with the time they are sent.

    Simulated time is compressed or stretched to the rate; each message's `timestamp` is
    the wall-clock time of publication, as a live uploader's would be.
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp", ""):
        raise ValueError(f"--mqtt {url!r}: only mqtt://HOST[:PORT] is supported")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"meshlens-sim-{spec.seed}")
    if parsed.username:
        client.username_pw_set(parsed.username, parsed.password)
    client.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    client.loop_start()
    report = RunReport()
    sim = Simulation(spec)
    interval = 1.0 / rate_per_s
    started = next_at = time.perf_counter()
    sent = 0
    try:
        for event in sim.events():
            now_ms = time.time_ns() // 1_000_000
            if isinstance(event, Observation):
                kind = "packets"
                payload = messages.packet_message(sim.mesh, event)
                report.observations += 1
            else:
                kind = "status"
                payload = messages.status_message(sim.mesh, event)
                report.status_messages += 1
            payload["timestamp"] = messages.stamp(now_ms)
            topic = messages.topic(sim.mesh, event.observer, kind)
            if topic_prefix != "meshcore":
                topic = topic_prefix + topic[len("meshcore") :]
            client.publish(topic, orjson.dumps(payload), qos=0)
            sent += 1
            if on_progress is not None and sent % 100 == 0:
                on_progress(event.at_ms, report.observations, sim.transmissions)
            if limit is not None and sent >= limit:
                break
            next_at += interval
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    finally:
        client.loop_stop()
        client.disconnect()
    report.transmissions = sim.transmissions
    report.elapsed_s = time.perf_counter() - started
    return report
