"""Every generated frame decodes; adverts verify; channel traffic decrypts where it should."""

from __future__ import annotations

from collections import Counter

from meshlens.sim.events import Observation
from meshlens.sim.simulation import Simulation, SimulationSpec, channel_keys, region_keys
from meshlens.wire import decode_packet


def test_every_frame_decodes_and_every_advert_verifies(dense_spec: SimulationSpec) -> None:
    sim = Simulation(dense_spec)
    keys = channel_keys()
    regions = region_keys(dense_spec.profile)
    types: Counter[str] = Counter()
    decryption: Counter[str] = Counter()
    scoped = 0
    for event in sim.events():
        if not isinstance(event, Observation):
            continue
        packet = decode_packet(event.raw, keys, validate_signatures=True, regions=regions)
        assert packet.anomaly is None, packet
        types[packet.payload_type_name] += 1
        advert = packet.advert
        if advert is not None:
            assert advert.signature_valid is True
            assert advert.name
        message = packet.channel_message
        if message is not None:
            decryption[message.decryption_status] += 1
        scoped += packet.scope_name is not None and packet.scope_name != ""
    for name in (
        "ADVERT",
        "GRP_TXT",
        "REQ",
        "RESPONSE",
        "TXT_MSG",
        "PATH",
        "ANON_REQ",
        "CONTROL",
        "GRP_DATA",
    ):
        assert types[name] > 0, (name, types)
    # Public and the hashtags decrypt; the private channels stay encrypted.
    assert decryption["decrypted"] > 5 * decryption["decryption_failed"] > 0
    assert scoped > 0


def test_traces_and_acks_appear_over_a_longer_run(small_spec: SimulationSpec) -> None:
    import dataclasses

    from meshlens.sim.profiles import PROFILES

    spec = dataclasses.replace(small_spec, profile=PROFILES["small"])
    sim = Simulation(spec)
    for _ in sim.events():
        pass
    assert sim.engine.sent[9] > 0  # TRACE
    assert sim.engine.sent[3] > 0  # ACK
