// Topology: how long paths are, which repeaters carry the mesh, which links are busiest,
// and how far each observer hears (reach rings, drawn for one observer at a time).

import { h, fmt, stats, section, notice, shortKey, replace } from "../lib/dom.js";
import { bars, destroyChartsIn } from "../lib/charts.js";
import { table } from "../lib/table.js";

function nodeCell(name, pubkey, hop) {
  return h("span", null, name || h("code", null, hop), " ", pubkey ? shortKey(pubkey) : null);
}

export default {
  name: "topology",
  title: "Topology",
  params: ["region", "window"],
  async render(root, ctx) {
    // The whole body is ~95% reach rings of every observer; the default shape is also
    // served in parts, so read the summary and then one observer's rings at a time.
    // Filtered shapes have no parts: their (smaller) body comes whole.
    const filtered = Boolean(ctx.region || ctx.window);
    const topo = filtered
      ? await ctx.get("/api/analytics/topology", ctx.query())
      : await ctx.get("/api/analytics/topology/summary");
    const loadReach = filtered
      ? async (id) => topo.perObserverReach?.[id]
      : (id) => ctx.get(`/api/analytics/topology/${encodeURIComponent(id)}`);
    root.append(stats([
      { label: "Median hops", value: fmt(topo.medianHops, 0), hint: `mean ${fmt(topo.avgHops, 2)}` },
      { label: "Longest path", value: `${fmt(topo.maxHops, 0)} hops` },
      { label: "Nodes heard", value: fmt(topo.uniqueNodes, 0), hint: "in the last 7 days" },
      { label: "Repeaters seen", value: fmt((topo.topRepeaters || []).length, 0), hint: "top list" },
    ]));
    const dist = topo.hopDistribution || [];
    if (!dist.length) {
      root.append(notice("No relayed transmissions match these filters.", "info"));
      return;
    }
    bars(root, { title: "Hop distribution", caption: "Transmissions by the hop count of their best observation",
      labels: dist.map((d) => `${d.hops}`), values: dist.map((d) => d.count),
      label: "transmissions", xLabel: "hops", yLabel: "transmissions" });
    const vs = topo.hopsVsSnr || [];
    bars(root, { title: "SNR by hop count", caption: "Mean SNR of the best observation, by hops",
      labels: vs.map((d) => `${d.hops}`), values: vs.map((d) => Number((d.avgSnr ?? 0).toFixed(2))),
      label: "mean SNR (dB)", xLabel: "hops", yLabel: "mean SNR (dB)", colors: vs.map(() => 2) });
    const reps = topo.topRepeaters || [];
    bars(root, { title: "Top repeaters", caption: "Relays by how often they appear in paths",
      labels: reps.map((r) => r.name || r.hop), values: reps.map((r) => r.count),
      label: "appearances", horizontal: true });
    root.append(section("Busiest links", table({
      caption: "Consecutive hops in paths (top 15)",
      columns: [
        { key: "nameA", label: "From", render: (p) => nodeCell(p.nameA, p.pubkeyA, p.hopA) },
        { key: "nameB", label: "To", render: (p) => nodeCell(p.nameB, p.pubkeyB, p.hopB) },
        { key: "count", label: "Transmissions", numeric: true, digits: 0 },
      ],
      rows: topo.topPairs || [],
    })));
    root.append(await reachSection(topo, loadReach, ctx));
    const best = section("Closest observer per node", table({
      caption: "Each relay's nearest observer (in hops)",
      columns: [
        { key: "name", label: "Node", render: (b) => nodeCell(b.name, b.pubkey, b.hop) },
        { key: "observer_name", label: "Observer" },
        { key: "minDist", label: "Hops away", numeric: true, digits: 0 },
      ],
      rows: topo.bestPathList || [],
      limit: 15,
    }));
    root.append(best);
    root.append(section("Heard by several observers", table({
      caption: "Relays more than one observer hears, with the nearest (top 50)",
      columns: [
        { key: "name", label: "Node", render: (m) => nodeCell(m.name, m.pubkey, m.hop) },
        { key: "n", label: "Observers", numeric: true, digits: 0 },
        { key: "nearest", label: "Nearest observer" },
        { key: "minDist", label: "Hops", numeric: true, digits: 0 },
      ],
      rows: (topo.multiObsNodes || []).map((m) => {
        const near = [...m.observers].sort((a, b) => a.minDist - b.minDist)[0] || {};
        return { ...m, n: m.observers.length, nearest: near.observer_name, minDist: near.minDist };
      }),
      limit: 15,
    })));
  },
};

/** Reach rings: an observer picker; one observer's rings are loaded and drawn at a time. */
async function reachSection(topo, loadReach, ctx) {
  const observers = topo.reachObservers
    ? topo.reachObservers.filter((o) => o.id)
    : Object.entries(topo.perObserverReach || {}).filter(([id]) => id)
      .map(([id, e]) => ({ id, name: e.observer_name }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  const body = h("div", { class: "reach-body" });
  const select = h("select", { id: "reach-observer", onchange: () => draw(select.value) },
    observers.map((o) => h("option", { value: o.id }, o.name || o.id.slice(0, 8))));
  const panel = section("Reach rings",
    h("p", { class: "caption" }, "Which relays an observer hears at each distance (1 = the last relay before it)."),
    h("div", { class: "toolbar" }, h("label", null, "Observer ", select)),
    body);
  panel.classList.add("wide");

  async function draw(id) {
    panel.dataset.state = "loading";
    let entry;
    try {
      entry = await loadReach(id);
    } catch (err) {
      if (!ctx.isCurrent() || err.name === "Aborted") return;
      destroyChartsIn(body);
      replace(body, notice(`Could not load this observer's reach: ${err.message}`, "error"));
      panel.dataset.state = "error";
      return;
    }
    if (!ctx.isCurrent() || select.value !== id) return; // superseded by a newer choice
    destroyChartsIn(body);
    if (!entry) {
      replace(body, notice("This observer has no reach data.", "info"));
      panel.dataset.state = "ready";
      return;
    }
    replace(body);
    const rings = entry.rings || [];
    bars(body, { title: `Relays per ring: ${entry.observer_name || id.slice(0, 8)}`,
      labels: rings.map((r) => `${r.hops}`), values: rings.map((r) => r.nodes.length),
      label: "relays", xLabel: "hops from the observer", yLabel: "relays" });
    body.append(table({
      caption: "Relays by ring",
      columns: [
        { key: "ring", label: "Ring", numeric: true, digits: 0 },
        { key: "name", label: "Relay", render: (n) => nodeCell(n.name, n.pubkey, n.hop) },
        { key: "count", label: "Heard", numeric: true, digits: 0 },
        { key: "distRange", label: "Hops seen" },
      ],
      rows: rings.flatMap((r) => r.nodes.map((n) => ({ ...n, ring: r.hops }))),
      limit: 25,
    }));
    panel.dataset.state = "ready";
  }

  if (observers.length) await draw(observers[0].id);
  else replace(body, notice("No observer heard relayed traffic.", "info"));
  return panel;
}
