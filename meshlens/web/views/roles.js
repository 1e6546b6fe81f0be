// Roles: what kinds of node make up the mesh and how well each kind keeps time, with the
// nodes of one role listed a page at a time (loaded when asked for, never all at once).

import { h, fmt, stats, section, notice, replace, time, shortKey } from "../lib/dom.js";
import { bars, timeSeries, palette } from "../lib/charts.js";
import { table } from "../lib/table.js";
import { SEVERITIES, SEVERITY_LABEL, SEVERITY_COLOR, skewText } from "../lib/skew.js";

const PAGE = 25;
const COUNT_FIELD = {
  ok: "okCount", warning: "warningCount", critical: "criticalCount", absurd: "absurdCount",
  no_clock: "noClockCount", bimodal_clock: "bimodalClockCount",
};
const SEVERITY_SERIES = ["ok", "warning", "critical", "absurd", "bimodal_clock", "no_clock"];

export default {
  name: "roles",
  title: "Roles",
  params: [],
  async render(root, ctx) {
    const data = await ctx.get("/api/analytics/roles");
    const roles = data.roles || [];
    const trouble = roles.reduce((n, r) => n + r.warningCount + r.criticalCount + r.absurdCount, 0);
    const noClock = roles.reduce((n, r) => n + r.noClockCount + r.bimodalClockCount, 0);
    root.append(stats([
      { label: "Nodes", value: fmt(data.totalNodes, 0), hint: `${fmt(roles.length, 0)} roles` },
      ...roles.slice(0, 4).map((r) => ({ label: cap(r.role), value: fmt(r.nodeCount, 0),
        hint: `${fmt((r.nodeCount * 100) / (data.totalNodes || 1), 0)} % of nodes` })),
      { label: "Clocks off by ≥ 5 min", value: fmt(trouble, 0), hint: `${fmt(noClock, 0)} without a usable clock` },
    ]));
    if (!roles.length) {
      root.append(notice("No node has advertised a role yet.", "info"));
      return;
    }
    const labels = roles.map((r) => cap(r.role));
    bars(root, { title: "Nodes by role", caption: "Nodes by the role their adverts announce",
      labels, values: roles.map((r) => r.nodeCount), label: "nodes", xLabel: "role", yLabel: "nodes",
      colors: roles.map((_, i) => i) });
    const health = timeSeries(root, { title: "Clock health by role", caption: "Nodes with clock data, by clock-skew severity",
      labels, stacked: true, yLabel: "nodes",
      series: SEVERITY_SERIES.map((s) => ({ label: SEVERITY_LABEL[s], kind: "bar",
        values: roles.map((r) => r[COUNT_FIELD[s]] || 0) })) });
    severityColours(health, SEVERITY_SERIES);
    bars(root, { title: "Typical clock error by role", caption: "Median absolute clock skew (seconds)",
      labels, values: roles.map((r) => r.medianAbsSkewSec), label: "median |skew| (s)",
      xLabel: "role", yLabel: "seconds", colors: roles.map(() => 1) });
    root.append(section("Roles", table({
      columns: [
        { key: "role", label: "Role", render: (r) => cap(r.role) },
        { key: "nodeCount", label: "Nodes", numeric: true, digits: 0 },
        { key: "withSkew", label: "With clock data", numeric: true, digits: 0 },
        { key: "medianAbsSkewSec", label: "Median |skew|", numeric: true, render: (r) => skewText(r.medianAbsSkewSec) },
        { key: "meanAbsSkewSec", label: "Mean |skew|", numeric: true, render: (r) => skewText(r.meanAbsSkewSec) },
        ...SEVERITIES.map((s) => ({ key: COUNT_FIELD[s], label: SEVERITY_LABEL[s].split(" (")[0], numeric: true, digits: 0 })),
      ],
      rows: roles, className: "wide",
    })));
    root.lastChild.classList.add("wide");
    root.append(await nodesSection(ctx, roles));
  },
};

/** Colour a chart's series by severity (a series' colour is otherwise its position). */
function severityColours(fig, severities) {
  const chart = globalThis.Chart.getChart(fig.querySelector("canvas"));
  const p = palette();
  chart.data.datasets.forEach((ds, i) => {
    ds.backgroundColor = ds.borderColor = p[SEVERITY_COLOR[severities[i]] % p.length];
  });
  chart.update();
}

function cap(role) {
  return role ? role[0].toUpperCase() + role.slice(1) : "Unknown";
}

/** One role's nodes, a page at a time, from /api/nodes (pinned with asOf while paging). */
async function nodesSection(ctx, roles) {
  const body = h("div");
  const select = h("select", { id: "role-nodes", onchange: () => load(select.value, 0, null) },
    roles.map((r) => h("option", { value: r.role }, cap(r.role))));
  const panel = section("Nodes by role",
    h("div", { class: "toolbar" }, h("label", null, "Role ", select)), body);
  panel.classList.add("wide");

  async function load(role, offset, asOf) {
    replace(body, h("p", { class: "placeholder" }, "Loading…"));
    try {
      const page = await ctx.get("/api/nodes", { role, limit: PAGE, offset, asOf, sortBy: "name" });
      if (!ctx.isCurrent()) return;
      const nodes = page.nodes || [];
      const total = page.total ?? nodes.length;
      const prev = h("button", { type: "button", class: "page-prev", disabled: offset === 0,
        onclick: () => load(role, Math.max(0, offset - PAGE), page.asOf) }, "Previous");
      const next = h("button", { type: "button", class: "page-next", disabled: offset + nodes.length >= total,
        onclick: () => load(role, offset + PAGE, page.asOf) }, "Next");
      replace(body, table({
        caption: `${cap(role)}: ${fmt(nodes.length ? offset + 1 : 0, 0)}–${fmt(offset + nodes.length, 0)} of ${fmt(total, 0)}`,
        columns: [
          { key: "name", label: "Name", render: (n) => n.name || "(unnamed)" },
          { key: "public_key", label: "Key", render: (n) => shortKey(n.public_key) },
          { key: "advert_count", label: "Adverts", numeric: true, digits: 0 },
          { key: "hash_size", label: "Hash size", numeric: true, digits: 0 },
          { key: "last_seen", label: "Last seen", render: (n) => time(n.last_seen) },
        ],
        rows: nodes, limit: PAGE, empty: "No nodes with this role.",
      }), h("div", { class: "pager" }, prev, next));
    } catch (err) {
      if (ctx.isCurrent() && err.name !== "Aborted") replace(body, notice(`Could not load nodes: ${err.message}`, "error"));
    }
  }

  await load(roles[0].role, 0, null);
  return panel;
}
