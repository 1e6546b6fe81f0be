// Hash sizes: how many bytes relays use for their path hashes, which repeaters moved to
// 2- and 3-byte hashes, and which nodes can relay multi-byte paths at all.

import { h, fmt, stats, section, notice, time, shortKey } from "../lib/dom.js";
import { bars, timeSeries, hourLabel } from "../lib/charts.js";
import { table } from "../lib/table.js";

const SIZES = ["1", "2", "3"];
const SIZE_LABEL = { 0: "unknown (zero-hop adverts only)", 1: "1 byte", 2: "2 bytes", 3: "3 bytes" };
const CAPABILITY = ["confirmed", "suspected", "unknown"];

function nodeName(row) {
  return h("span", null, row.name || "(unnamed)", " ", shortKey(row.pubkey));
}

function pct(part, whole) {
  return whole ? `${fmt((part * 100) / whole, 1)} %` : "–";
}

export default {
  name: "hash-sizes",
  title: "Hash sizes",
  params: ["region"],
  async render(root, ctx) {
    const hs = await ctx.get("/api/analytics/hash-sizes", ctx.query());
    const dist = hs.distribution || {};
    const total = hs.total || 0;
    const capability = hs.multiByteCapability || [];
    const multi = hs.multiByteNodes || [];
    root.append(stats([
      { label: "Relayed transmissions", value: fmt(total, 0), hint: "with at least one hop" },
      { label: "1-byte paths", value: pct(dist["1"] || 0, total) },
      { label: "2-byte paths", value: pct(dist["2"] || 0, total) },
      { label: "3-byte paths", value: pct(dist["3"] || 0, total) },
      { label: "Multi-byte nodes", value: fmt(multi.length, 0), hint: "advertising 2 or 3 bytes" },
      { label: "Multi-byte capable", value: fmt(capability.filter((c) => c.status === "confirmed").length, 0),
        hint: `confirmed; ${fmt(capability.filter((c) => c.status === "suspected").length, 0)} suspected` },
    ]));
    if (!total && !multi.length && !capability.length) {
      root.append(notice("No relayed transmissions or adverts match these filters.", "info"));
      return;
    }
    bars(root, { title: "Path hash sizes", caption: "Relayed transmissions by the size of their path hashes",
      labels: SIZES.map((s) => SIZE_LABEL[s]), values: SIZES.map((s) => dist[s] || 0),
      label: "transmissions", xLabel: "hash size", yLabel: "transmissions", colors: [0, 1, 2] });
    const byRep = hs.distributionByRepeaters || {};
    const repKeys = Object.keys(byRep).sort();
    bars(root, { title: "Repeaters by hash size", caption: "Repeaters by the hash size of their latest relayed advert",
      labels: repKeys.map((k) => SIZE_LABEL[k] || `${k} bytes`), values: repKeys.map((k) => byRep[k]),
      label: "repeaters", xLabel: "hash size", yLabel: "repeaters", colors: repKeys.map((k) => (Number(k) + 5) % 6) });
    const hourly = hs.hourly || [];
    if (hourly.length) {
      timeSeries(root, { title: "Hash sizes per hour", caption: "Relayed transmissions per hour, by hash size",
        labels: hourly.map((r) => hourLabel(r.hour)),
        series: SIZES.map((s) => ({ label: SIZE_LABEL[s], values: hourly.map((r) => r[s] || 0), kind: "bar" })),
        yLabel: "transmissions", stacked: true });
    }
    const counts = CAPABILITY.map((s) => capability.filter((c) => c.status === s).length);
    bars(root, { title: "Multi-byte capability", caption: "Repeaters and rooms by whether they can relay multi-byte paths",
      labels: CAPABILITY, values: counts, label: "nodes", xLabel: "status", yLabel: "nodes", colors: [2, 1, 5] });

    const capPanel = section("Multi-byte capability by node", table({
      caption: "Confirmed: seen advertising or relaying multi-byte hashes; suspected: its prefix appears in multi-byte paths",
      columns: [
        { key: "name", label: "Node", render: nodeName },
        { key: "role", label: "Role" },
        { key: "status", label: "Status", sort: (c) => CAPABILITY.indexOf(c.status) },
        { key: "evidence", label: "Evidence" },
        { key: "maxHashSize", label: "Max size", numeric: true, digits: 0 },
        { key: "lastSeen", label: "Last seen", render: (c) => time(c.lastSeen) },
      ],
      rows: capability, limit: 25, empty: "No repeater or room server heard.",
    }));
    capPanel.classList.add("wide");
    root.append(capPanel);
    root.append(section("Nodes advertising multi-byte hashes", table({
      columns: [
        { key: "name", label: "Node", render: nodeName },
        { key: "role", label: "Role" },
        { key: "hashSize", label: "Size", numeric: true, digits: 0 },
        { key: "packets", label: "Adverts", numeric: true, digits: 0 },
        { key: "lastSeen", label: "Last advert", render: (n) => time(n.lastSeen) },
      ],
      rows: multi, limit: 25, empty: "Every node advertises 1-byte hashes.",
    })));
    root.append(section("Most relayed hops", table({
      caption: "Path hops by how often they appear (top 50)",
      columns: [
        { key: "hex", label: "Hop", render: (t) => h("code", null, t.hex) },
        { key: "size", label: "Bytes", numeric: true, digits: 0 },
        { key: "count", label: "Appearances", numeric: true, digits: 0 },
        { key: "name", label: "Likely node", render: (t) => (t.name ? nodeName(t) : "unknown") },
      ],
      rows: hs.topHops || [], limit: 15,
    })));
    if (ctx.region && hs.attributionMethod) {
      root.append(h("p", { class: "caption wide" },
        hs.attributionMethod === "repeater"
          ? "Region filter: nodes are attributed to the region where observers hear their zero-hop adverts."
          : "Region filter: transmissions are attributed to the region of the observers that heard them."));
    }
  },
};
