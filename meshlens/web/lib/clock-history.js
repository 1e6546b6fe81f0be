// One node's clock history (its per-advert skew samples, drift, and the per-observer
// evidence behind its latest adverts), fetched from /api/nodes/{pubkey}/clock-skew only
// when someone asks for that node: the samples can run to tens of kilobytes per node.

import { h, fmt, stats, notice, replace, time } from "./dom.js";
import { scatter, destroyChartsIn } from "./charts.js";
import { table } from "./table.js";
import { ApiError } from "./api.js";
import { severityBadge, skewText } from "./skew.js";

/** Draw `pubkey`'s clock history into `body` (replacing what was there). */
export async function showClockHistory(ctx, body, pubkey, label) {
  destroyChartsIn(body);
  replace(body, h("p", { class: "placeholder" }, `Loading the clock history of ${label}…`));
  let d;
  try {
    d = await ctx.get(`/api/nodes/${encodeURIComponent(pubkey)}/clock-skew`);
  } catch (err) {
    if (!ctx.isCurrent()) return;
    if (err instanceof ApiError && err.status === 404) {
      replace(body, notice(`${label} has no clock data: none of its adverts carried a usable timestamp.`, "info"));
      return;
    }
    if (err instanceof ApiError) replace(body, notice(`Could not load the clock history: ${err.message}`, "error"));
    return;
  }
  if (!ctx.isCurrent()) return;
  replace(body);
  body.dataset.pubkey = pubkey;
  const cal = d.calibrationSummary || {};
  body.append(stats([
    { label: "Severity", value: severityBadge(d.severity) },
    { label: "Current skew", value: skewText(d.recentMedianSkewSec), hint: "median of recent adverts" },
    { label: "Drift", value: `${skewText(d.driftPerDaySec)} / day` },
    { label: "Samples", value: fmt(d.sampleCount, 0), hint: `${fmt((d.goodFraction ?? 0) * 100, 0)} % of recent ones good` },
    { label: "Calibrated", value: d.calibrated ? "yes" : "no",
      hint: cal.totalSamples ? `${fmt(cal.calibratedSamples, 0)} of ${fmt(cal.totalSamples, 0)} observations` : null },
    { label: "Last advert", value: d.lastAdvertTS ? time(new Date(d.lastAdvertTS * 1000).toISOString()) : "–" },
  ]));
  const samples = d.samples || [];
  if (samples.length) {
    const last = samples.reduce((m, s) => Math.max(m, s.ts), 0);
    scatter(body, { title: `Clock skew over time: ${label}`,
      caption: "Each advert's skew (its clock minus the observers' corrected time); 0 h is the latest advert",
      points: samples.map((s) => ({ x: Number(((s.ts - last) / 3600).toFixed(2)), y: s.skew })),
      xLabel: "hours before the latest advert", yLabel: "skew (s)" });
  } else {
    body.append(notice("No individual samples kept for this node.", "info"));
  }
  const evidence = (d.recentHashEvidence || []).map((e) => ({
    hash: e.hash, timestamp: e.timestamp, median: e.medianCorrectedSkewSec, observers: e.observers.length,
    names: [...new Set(e.observers.map((o) => o.observerName || o.observerID))].join(", "),
  }));
  body.append(table({
    caption: "Latest adverts: skew as each observer saw it",
    columns: [
      { key: "hash", label: "Advert", render: (e) => h("code", null, e.hash) },
      { key: "timestamp", label: "Sent at", render: (e) => (e.timestamp ? time(new Date(e.timestamp * 1000).toISOString()) : "–") },
      { key: "median", label: "Median corrected skew", numeric: true, render: (e) => skewText(e.median) },
      { key: "observers", label: "Observations", numeric: true, digits: 0 },
      { key: "names", label: "Heard by" },
    ],
    rows: evidence, limit: 10, empty: "No recent multi-observer evidence.",
  }));
  const bad = d.recentBadSamples || [];
  if (bad.length) {
    body.append(table({
      caption: "Recent adverts off by more than an hour",
      columns: [
        { key: "hash", label: "Advert", render: (b) => h("code", null, b.hash) },
        { key: "advertTS", label: "Advert time", render: (b) => time(new Date(b.advertTS * 1000).toISOString()) },
        { key: "skewSec", label: "Skew", numeric: true, render: (b) => skewText(b.skewSec) },
      ],
      rows: bad, limit: 10,
    }));
  }
}
