// Clock-skew vocabulary shared by the roles and clock views: severities in the order an
// operator should look at them, their labels and chart colours, and skew formatting.

import { h, fmt } from "./dom.js";

/** Worst first (the order CoreScope's clock tab sorts by). */
export const SEVERITIES = ["no_clock", "bimodal_clock", "absurd", "critical", "warning", "ok"];

export const SEVERITY_LABEL = {
  no_clock: "No clock", bimodal_clock: "Bimodal clock", absurd: "Absurd (≥ 30 d)",
  critical: "Critical (≥ 1 h)", warning: "Warning (≥ 5 min)", ok: "OK (< 5 min)",
};

// Indexes into the theme's --series-N colours (charts.js palette()).
export const SEVERITY_COLOR = { no_clock: 5, bimodal_clock: 0, absurd: 4, critical: 3, warning: 1, ok: 2 };

/** The severity of an absolute skew in seconds (the analytic's thresholds). */
export function classify(absSec) {
  if (absSec >= 365 * 86400) return "no_clock";
  if (absSec >= 30 * 86400) return "absurd";
  if (absSec >= 3600) return "critical";
  if (absSec >= 300) return "warning";
  return "ok";
}

/** A signed skew in seconds for people: "+4.2 s", "−3 h", "+2.1 d". */
export function skewText(sec) {
  if (sec === null || sec === undefined || Number.isNaN(sec)) return "–";
  const sign = sec > 0 ? "+" : sec < 0 ? "−" : "";
  const a = Math.abs(sec);
  if (a < 90) return `${sign}${fmt(a, 1)} s`;
  if (a < 90 * 60) return `${sign}${fmt(a / 60, 1)} min`;
  if (a < 36 * 3600) return `${sign}${fmt(a / 3600, 1)} h`;
  if (a < 730 * 86400) return `${sign}${fmt(a / 86400, 1)} d`;
  return `${sign}${fmt(a / (365.25 * 86400), 0)} y`;
}

/** A severity as a labelled badge (text, so it reads without colour). */
export function severityBadge(severity) {
  return h("span", { class: `badge sev-${severity}` }, SEVERITY_LABEL[severity] || severity);
}

/** Sort key: worst severity first. */
export function severityRank(severity) {
  const i = SEVERITIES.indexOf(severity);
  return i < 0 ? SEVERITIES.length : i;
}

// Buckets of |skew| for the offsets chart: a log-like scale an operator can read.
export const SKEW_BUCKETS = [
  [0, 10, "< 10 s"], [10, 60, "10 s – 1 min"], [60, 300, "1 – 5 min"], [300, 3600, "5 min – 1 h"],
  [3600, 86400, "1 h – 1 d"], [86400, 30 * 86400, "1 – 30 d"], [30 * 86400, 365 * 86400, "30 d – 1 y"],
  [365 * 86400, Infinity, "≥ 1 y"],
];

/** Counts of |values| per SKEW_BUCKETS entry. */
export function bucketCounts(values) {
  const counts = SKEW_BUCKETS.map(() => 0);
  for (const v of values) {
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    const a = Math.abs(v);
    const i = SKEW_BUCKETS.findIndex(([lo, hi]) => a >= lo && a < hi);
    if (i >= 0) counts[i] += 1;
  }
  return counts;
}

/** The median of numbers (null for none). */
export function median(values) {
  const xs = values.filter((v) => typeof v === "number" && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!xs.length) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}
