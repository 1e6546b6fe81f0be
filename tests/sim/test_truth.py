"""The ground truth file lines up with what meshlens stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meshlens.db.database import ReadOnlyDatabase
from meshlens.ingest.loader import load_store
from meshlens.sim.outputs import write_database
from meshlens.sim.simulation import SimulationSpec, channel_keys
from meshlens.sim.truth import GroundTruth
from meshlens.store.store import PacketStore


def test_hop_nodes_name_a_relay_whose_key_starts_with_each_stored_hop(
    small_spec: SimulationSpec, tmp_path: Path
) -> None:
    path = tmp_path / "sim.db"
    report = write_database(small_spec, path)
    assert report.truth_path is not None
    truth = GroundTruth.load(report.truth_path)
    assert len(truth) == report.observations
    store = PacketStore()
    with ReadOnlyDatabase(path) as db:
        load_store(db, store, keys=channel_keys())
    snap = store.snapshot()
    hop_nodes = truth.hop_nodes(snap)
    assert hop_nodes.shape == snap.hops.shape and snap.hops.size > 100
    assert np.all(hop_nodes >= 0)  # every stored observation came from this run
    for i in range(0, snap.hops.size, 7):
        key = str(truth.node_keys[hop_nodes[i]]).upper()
        assert key.startswith(snap.hop_hex[int(snap.hops[i])])
    # Relays are repeaters (TRACE routes too); companions never forward.
    roles = {str(truth.node_roles[n]) for n in np.unique(hop_nodes)}
    assert roles == {"repeater"}
