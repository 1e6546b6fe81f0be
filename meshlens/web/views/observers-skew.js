// Observer clocks: how far each observer's clock sits from the consensus of the others
// (the offset the skew analytic corrects for), and, for one observer at a time, how its
// own clock drifts (its own adverts' history, loaded on demand).

import { h, fmt, stats, section, notice, shortKey } from "../lib/dom.js";
import { bars } from "../lib/charts.js";
import { table } from "../lib/table.js";
import { SEVERITIES, SEVERITY_LABEL, SEVERITY_COLOR, classify, skewText, severityBadge, severityRank, median } from "../lib/skew.js";
import { showClockHistory } from "../lib/clock-history.js";

const CHART_ROWS = 40; // the offsets chart shows the observers furthest off; the table has all

export default {
  name: "observers-skew",
  title: "Observer clocks",
  params: [],
  async render(root, ctx) {
    const [offsets, listed] = await Promise.all([
      ctx.get("/api/observers/clock-skew"),
      ctx.get("/api/observers"),
    ]);
    const byId = new Map((listed.observers || []).map((o) => [o.id.toUpperCase(), o]));
    const rows = (offsets || []).map((c) => {
      const o = byId.get(String(c.observerID).toUpperCase()) || {};
      return { ...c, name: o.name || "", iata: o.iata || "", lastSeen: o.last_seen, severity: classify(Math.abs(c.offsetSec)) };
    });
    const abs = rows.map((r) => Math.abs(r.offsetSec));
    root.append(stats([
      { label: "Calibrated observers", value: fmt(rows.length, 0), hint: `of ${fmt((listed.observers || []).length, 0)} observers` },
      { label: "Median offset", value: skewText(median(abs)), hint: "absolute" },
      { label: "Largest offset", value: skewText(rows.length ? rows[0].offsetSec : null), hint: rows[0]?.name || "" },
      { label: "Off by ≥ 5 min", value: fmt(rows.filter((r) => r.severity !== "ok").length, 0) },
    ]));
    if (!rows.length) {
      root.append(notice("No observer offsets yet: they need adverts heard by several observers.", "info"));
      return;
    }
    const shown = rows.slice(0, CHART_ROWS);
    bars(root, { title: "Observer clock offsets",
      caption: `Seconds ahead (+) or behind (−) the other observers${rows.length > CHART_ROWS ? `; the ${CHART_ROWS} furthest off` : ""}`,
      labels: shown.map((r) => r.name || r.observerID.slice(0, 8)), values: shown.map((r) => r.offsetSec),
      label: "offset (s)", horizontal: true, xLabel: "observer", yLabel: "offset (s)",
      colors: shown.map((r) => SEVERITY_COLOR[r.severity]) });
    const present = SEVERITIES.filter((s) => s !== "bimodal_clock");
    bars(root, { title: "Observers by severity", caption: "Offsets classified with the node-clock thresholds",
      labels: present.map((s) => SEVERITY_LABEL[s]), values: present.map((s) => rows.filter((r) => r.severity === s).length),
      label: "observers", xLabel: "severity", yLabel: "observers", colors: present.map((s) => SEVERITY_COLOR[s]) });

    const history = h("div", { class: "clock-history" });
    const select = h("select", { id: "observer-history",
      onchange: () => showClockHistory(ctx, history, select.value, select.selectedOptions[0].textContent) },
    rows.map((r) => h("option", { value: r.observerID.toLowerCase() }, r.name || r.observerID.slice(0, 8))));
    const list = section("Offsets", table({
      caption: "Observers whose clocks the analytic calibrated (furthest off first)",
      columns: [
        { key: "name", label: "Observer", render: (r) => h("span", null, r.name || "(unnamed)", " ", shortKey(r.observerID)) },
        { key: "iata", label: "Region" },
        { key: "offsetSec", label: "Offset", numeric: true, sort: (r) => Math.abs(r.offsetSec), render: (r) => skewText(r.offsetSec) },
        { key: "severity", label: "Severity", sort: (r) => severityRank(r.severity), render: (r) => severityBadge(r.severity) },
        { key: "samples", label: "Samples", numeric: true, digits: 0 },
      ],
      rows, limit: 50,
    }));
    list.classList.add("wide");
    root.append(list);
    const drift = section("Drift of one observer",
      h("p", { class: "caption" }, "An observer is a node too: its own adverts show how its clock drifts."),
      h("div", { class: "toolbar" }, h("label", null, "Observer ", select)), history);
    drift.classList.add("wide");
    root.append(drift);
    await showClockHistory(ctx, history, select.value, select.selectedOptions[0].textContent);
  },
};
