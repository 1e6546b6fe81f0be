// Node clocks: which nodes' clocks are wrong, by how much and how fast they drift, and
// one node's history when it is picked (fetched then, not before).

import { h, fmt, stats, section, notice, time } from "../lib/dom.js";
import { bars, histogram } from "../lib/charts.js";
import { table } from "../lib/table.js";
import {
  SEVERITIES, SEVERITY_LABEL, SEVERITY_COLOR, SKEW_BUCKETS, bucketCounts, skewText, severityBadge,
  severityRank, median,
} from "../lib/skew.js";
import { showClockHistory } from "../lib/clock-history.js";

const DRIFT_LIMIT = 600; // s/day: the drift histogram's range; steeper drifts fall in the end bins

export default {
  name: "nodes-skew",
  title: "Node clocks",
  params: [],
  async render(root, ctx) {
    const fleet = await ctx.get("/api/nodes/clock-skew");
    const rows = [...(fleet || [])].sort((a, b) => severityRank(a.severity) - severityRank(b.severity) ||
      Math.abs(b.recentMedianSkewSec) - Math.abs(a.recentMedianSkewSec));
    const count = (s) => rows.filter((r) => r.severity === s).length;
    root.append(stats([
      { label: "Nodes with clock data", value: fmt(rows.length, 0) },
      { label: "OK", value: fmt(count("ok"), 0), hint: "within 5 min" },
      { label: "Warning or worse", value: fmt(count("warning") + count("critical") + count("absurd"), 0) },
      { label: "No usable clock", value: fmt(count("no_clock") + count("bimodal_clock"), 0), hint: "unset or bimodal" },
      { label: "Median |skew|", value: skewText(median(rows.map((r) => Math.abs(r.recentMedianSkewSec)))) },
      { label: "Drifting > 1 min/day", value: fmt(rows.filter((r) => Math.abs(r.driftPerDaySec) > 60).length, 0) },
    ]));
    if (!rows.length) {
      root.append(notice("No node clock data yet: it comes from adverts heard by several observers.", "info"));
      return;
    }
    bars(root, { title: "Nodes by severity", caption: "Classified by the skew of their recent adverts",
      labels: SEVERITIES.map((s) => SEVERITY_LABEL[s]), values: SEVERITIES.map(count),
      label: "nodes", xLabel: "severity", yLabel: "nodes", colors: SEVERITIES.map((s) => SEVERITY_COLOR[s]) });
    bars(root, { title: "Clock offsets", caption: "Nodes by the size of their current skew (either direction)",
      labels: SKEW_BUCKETS.map((b) => b[2]), values: bucketCounts(rows.map((r) => r.recentMedianSkewSec)),
      label: "nodes", xLabel: "|skew|", yLabel: "nodes", colors: SKEW_BUCKETS.map(() => 0) });
    histogram(root, { title: "Drift", caption: `Seconds gained (+) or lost (−) per day; beyond ±${DRIFT_LIMIT} s counted at the ends`,
      bins: driftBins(rows.map((r) => r.driftPerDaySec).filter((v) => v !== 0)), xLabel: "s/day", yLabel: "nodes", digits: 0 });

    const history = h("div", { class: "clock-history" }, h("p", { class: "placeholder" },
      "Choose “History” on a node to see its clock over time."));
    const pick = (r) => {
      historyPanel.hidden = false;
      showClockHistory(ctx, history, r.pubkey, r.nodeName || r.pubkey.slice(0, 8));
      historyPanel.scrollIntoView({ block: "nearest" });
    };
    const list = section("Nodes", table({
      caption: "Worst clocks first",
      columns: [
        { key: "nodeName", label: "Node", render: (r) => r.nodeName || r.pubkey.slice(0, 8) },
        { key: "nodeRole", label: "Role" },
        { key: "severity", label: "Severity", sort: (r) => severityRank(r.severity), render: (r) => severityBadge(r.severity) },
        { key: "recentMedianSkewSec", label: "Current skew", numeric: true, sort: (r) => Math.abs(r.recentMedianSkewSec),
          render: (r) => skewText(r.recentMedianSkewSec) },
        { key: "medianSkewSec", label: "All-time median", numeric: true, render: (r) => skewText(r.medianSkewSec) },
        { key: "driftPerDaySec", label: "Drift / day", numeric: true, sort: (r) => Math.abs(r.driftPerDaySec),
          render: (r) => skewText(r.driftPerDaySec) },
        { key: "sampleCount", label: "Samples", numeric: true, digits: 0 },
        { key: "lastAdvertTS", label: "Last advert", render: (r) => (r.lastAdvertTS ? time(new Date(r.lastAdvertTS * 1000).toISOString()) : "–") },
        { key: "pubkey", label: "History", render: (r) => h("button", { type: "button", class: "history-button",
          "aria-label": `Clock history of ${r.nodeName || r.pubkey.slice(0, 8)}`, onclick: () => pick(r) }, "History") },
      ],
      rows, limit: 25,
    }));
    list.classList.add("wide");
    root.append(list);
    const historyPanel = section("One node's clock history", history);
    historyPanel.classList.add("wide");
    historyPanel.id = "node-history";
    root.append(historyPanel);
  },
};

function driftBins(values) {
  const width = DRIFT_LIMIT / 10;
  const bins = [];
  for (let x = -DRIFT_LIMIT; x < DRIFT_LIMIT; x += width) bins.push({ x, w: width, count: 0 });
  for (const v of values) {
    const i = Math.min(bins.length - 1, Math.max(0, Math.floor((v + DRIFT_LIMIT) / width)));
    bins[i].count += 1;
  }
  return bins;
}
