// Distance: how long the radio links are, from the GPS positions of the nodes a path names.

import { h, fmt, stats, section, notice, time, shortKey } from "../lib/dom.js";
import { histogram, bars, timeSeries, hourLabel } from "../lib/charts.js";
import { table } from "../lib/table.js";

const LINK_TYPES = { "R↔R": "repeater ↔ repeater", "C↔R": "companion ↔ repeater", "C↔C": "companion ↔ companion" };

function node(name, pk) {
  return h("span", null, name || "?", " ", shortKey(pk));
}

export default {
  name: "distance",
  title: "Distance",
  params: ["region"],
  async render(root, ctx) {
    const d = await ctx.get("/api/analytics/distance", ctx.query());
    const s = d.summary || {};
    root.append(stats([
      { label: "Hops measured", value: fmt(s.totalHops, 0), hint: `${fmt(s.totalPaths, 0)} paths` },
      { label: "Mean hop", value: `${fmt(s.avgDist, 1)} km` },
      { label: "Longest hop", value: `${fmt(s.maxDist, 1)} km` },
    ]));
    if (!s.totalHops) {
      root.append(notice("No hops between nodes with known positions match these filters.", "info"));
      return;
    }
    histogram(root, { title: "Hop lengths", caption: "Distance of each link between consecutive positioned nodes",
      bins: d.distHistogram?.bins || [], xLabel: "km", yLabel: "hops" });
    const cats = Object.entries(d.catStats || {});
    bars(root, { title: "Links by type", caption: "Mean hop length by the roles at its ends",
      labels: cats.map(([k]) => LINK_TYPES[k] || k), values: cats.map(([, v]) => v.avg),
      label: "mean km", yLabel: "mean km", colors: cats.map((_, i) => i) });
    root.append(section("By link type", table({
      columns: [
        { key: "type", label: "Link" },
        { key: "count", label: "Hops", numeric: true, digits: 0 },
        { key: "avg", label: "Mean km", numeric: true, digits: 2 },
        { key: "median", label: "Median km", numeric: true, digits: 2 },
        { key: "min", label: "Min km", numeric: true, digits: 2 },
        { key: "max", label: "Max km", numeric: true, digits: 2 },
      ],
      rows: cats.map(([k, v]) => ({ type: LINK_TYPES[k] || k, ...v })),
    })));
    const over = d.distOverTime || [];
    timeSeries(root, { title: "Hop length over time", caption: "Mean hop length per hour (line) and hops measured (bars)",
      labels: over.map((p) => hourLabel(p.hour)),
      series: [
        { label: "hops", values: over.map((p) => p.count), kind: "bar" },
        { label: "mean km", values: over.map((p) => p.avg), axis: "y2" },
      ], yLabel: "hops", y2Label: "km" });
    const longest = section("Longest hops", table({
      columns: [
        { key: "fromName", label: "From", render: (r) => node(r.fromName, r.fromPk) },
        { key: "toName", label: "To", render: (r) => node(r.toName, r.toPk) },
        { key: "dist", label: "km", numeric: true, digits: 2 },
        { key: "type", label: "Link" },
        { key: "bestSnr", label: "Best SNR", numeric: true, digits: 1 },
        { key: "obsCount", label: "Seen", numeric: true, digits: 0 },
        { key: "timestamp", label: "When", render: (r) => time(r.timestamp) },
      ],
      rows: d.topHops || [],
      limit: 20,
    }));
    longest.classList.add("wide");
    root.append(longest);
    const paths = section("Longest paths", table({
      columns: [
        { key: "totalDist", label: "Total km", numeric: true, digits: 2 },
        { key: "hopCount", label: "Hops", numeric: true, digits: 0 },
        { key: "route", label: "Route", sort: (p) => p.hops.length,
          render: (p) => p.hops.length ? [p.hops[0].fromName || "?", ...p.hops.map((x) => x.toName || "?")].join(" → ") : "–" },
        { key: "timestamp", label: "When", render: (p) => time(p.timestamp) },
      ],
      rows: d.topPaths || [],
      limit: 10,
    }));
    paths.classList.add("wide");
    root.append(paths);
  },
};
