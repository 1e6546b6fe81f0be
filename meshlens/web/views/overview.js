// Overview: what the store holds, who is on the mesh, and how fresh each analytic is.

import { h, fmt, duration, time, stats, section, shortKey } from "../lib/dom.js";
import { bars } from "../lib/charts.js";
import { table } from "../lib/table.js";

const ROLES = [["repeaters", "Repeaters"], ["companions", "Companions"], ["rooms", "Room servers"], ["sensors", "Sensors"]];

export default {
  name: "overview",
  title: "Overview",
  params: [],
  async render(root, ctx) {
    const [st, health, rc, obs] = await Promise.all([
      ctx.get("/api/stats"),
      ctx.get("/api/health"),
      ctx.get("/api/analytics/recomputers"),
      ctx.get("/api/observers"),
    ]);
    const load = health.load || {};
    // An empty store (issue 3): say how to get data in, as the server words it.
    if (health.hint) root.append(emptyStore());
    root.append(stats([
      { label: "Transmissions", value: fmt(st.totalTransmissions, 0), hint: `${fmt(st.packetsLastHour, 0)} in the last hour` },
      { label: "Observations", value: fmt(st.totalObservations, 0) },
      { label: "Nodes", value: fmt(st.totalNodes, 0), hint: `${fmt(st.totalNodesAllTime, 0)} ever seen` },
      { label: "Observers", value: fmt(st.totalObservers, 0) },
      { label: "Last 24 h", value: fmt(st.packetsLast24h, 0), hint: "transmissions" },
      { label: "Store", value: `${fmt(st.storeDataMB, 1)} MB`, hint: `process ${fmt(st.processRSSMB, 0)} MB` },
      { label: "Uptime", value: duration(health.uptime),
        hint: load.loading ? `loading ${fmt((load.fraction || 0) * 100, 0)} %` : (health.demo ? "demo feed" : "loaded") },
    ]));
    const counts = st.counts || {};
    bars(root, { title: "Nodes by role", caption: "Nodes heard, by the role their adverts announce",
      labels: ROLES.map(([, label]) => label), values: ROLES.map(([key]) => counts[key] ?? 0),
      label: "nodes", colors: [0, 1, 2, 3] });
    root.append(section("Analytics snapshots", table({
      columns: [
        { key: "name", label: "Analytic", render: (r) => r.built ? h("a", { href: `#/${viewOf(r.name)}` }, r.name) : r.name },
        { key: "state", label: "State", sort: (r) => r.state },
        { key: "snapshotAgeSec", label: "Snapshot age", numeric: true, render: (r) => r.built ? duration(r.snapshotAgeSec) : "–" },
        { key: "nextDueInSec", label: "Next recompute", numeric: true, render: (r) => r.built ? duration(r.nextDueInSec) : "–" },
        { key: "lastDurationMs", label: "Last compute (ms)", numeric: true, digits: 0 },
        { key: "failures", label: "Failures", numeric: true, digits: 0 },
      ],
      rows: rc.recomputers.map((r) => ({ ...r, state: !r.built ? "not built" : r.stale ? "stale" : r.ready ? "ready" : "warming up" })),
    })));
    const observers = section("Observers", table({
      columns: [
        { key: "name", label: "Name", render: (o) => o.name || shortKey(o.id) },
        { key: "iata", label: "Region" },
        { key: "packet_count", label: "Packets", numeric: true, digits: 0 },
        { key: "packetsLastHour", label: "Last hour", numeric: true, digits: 0 },
        { key: "last_seen", label: "Last seen", render: (o) => time(o.last_seen) },
        { key: "noise_floor", label: "Noise floor (dBm)", numeric: true },
      ],
      rows: obs.observers || [],
    }));
    observers.classList.add("wide");
    root.append(observers);
  },
};

const VIEW_OF = { "observers-clock-skew": "observers-skew", "nodes-clock-skew": "nodes-skew" };
function viewOf(analytic) {
  return VIEW_OF[analytic] || analytic;
}

/** What to do when the store is empty (shown while /api/health carries a `hint`). */
function emptyStore() {
  const panel = section("No data yet",
    h("p", null, "meshlens has stored nothing so far. To fill this dashboard:"),
    h("ul", null,
      h("li", null, "connect observers: point meshcoretomqtt at an MQTT broker listed in ",
        h("code", null, "mqttSources"), " in the configuration;"),
      h("li", null, "or stop the server and import captures: ", h("code", null, "meshlens import FILE…"),
        " (MQTT JSONL, packet JSONL or a CoreScope database);"),
      h("li", null, "or try the simulated mesh: ", h("code", null, "meshlens serve --demo"), ".")));
  panel.classList.add("wide", "empty-store");
  return panel;
}
