// Thin wrappers over Chart.js: each chart is a <figure> with a caption, a canvas whose
// aria-label summarises it, and the same data as a table under a <details>, so the
// numbers are there for screen readers, keyboards and anyone who wants them exact.

import { h, fmt } from "./dom.js";
import { table } from "./table.js";

const live = new Set();

/** Destroy every chart made since the last call (before a view is replaced). */
export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}

/** Destroy the charts inside `el` (before a part of a view is redrawn). */
export function destroyChartsIn(el) {
  for (const chart of live) {
    if (el.contains(chart.canvas)) {
      chart.destroy();
      live.delete(chart);
    }
  }
}

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The series colours of the current theme (app.css --series-1..6). */
export function palette() {
  return [1, 2, 3, 4, 5, 6].map((i) => css(`--series-${i}`) || "#4878d0");
}

function applyTheme() {
  const Chart = globalThis.Chart;
  Chart.defaults.color = css("--muted") || "#555";
  Chart.defaults.borderColor = css("--grid") || "#ddd";
  Chart.defaults.font.family = css("--font") || "system-ui, sans-serif";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
}

let counter = 0;

function figure(parent, { title, caption, summary, data }) {
  const id = `fig-${++counter}`;
  const canvas = h("canvas", { role: "img", "aria-label": `${title}. ${summary}` });
  const fig = h("figure", { class: "chart", "aria-labelledby": id },
    h("figcaption", { id }, title, caption ? h("span", { class: "caption" }, caption) : null),
    h("div", { class: "chart-box" }, canvas),
    data ? h("details", { class: "chart-data" },
      h("summary", null, "Data table"),
      table({ caption: title, columns: data.columns, rows: data.rows, limit: data.limit ?? 50 })) : null);
  parent.append(fig);
  return { fig, canvas };
}

function make(canvas, config) {
  const Chart = globalThis.Chart;
  if (!Chart) throw new Error("the chart library did not load");
  applyTheme();
  const chart = new Chart(canvas, config);
  live.add(chart);
  return chart;
}

function axisTitle(text) {
  return text ? { display: true, text } : { display: false };
}

function peak(labels, values) {
  let best = -1;
  values.forEach((v, i) => { if (best < 0 || v > values[best]) best = i; });
  return best < 0 ? "no data" : `highest ${fmt(values[best])} at ${labels[best]}`;
}

/** Histogram of `bins` [{x, w, count}] (the API's shape): one bar per bin. */
export function histogram(parent, { title, caption, bins, xLabel, yLabel = "count", digits = 1 }) {
  const labels = bins.map((b) => `${fmt(b.x, digits)} to ${fmt(b.x + b.w, digits)}`);
  const values = bins.map((b) => b.count);
  const summary = bins.length
    ? `${bins.length} bins from ${fmt(bins[0].x, digits)} to ${fmt(bins.at(-1).x + bins.at(-1).w, digits)}${xLabel ? " " + xLabel : ""}; ${peak(labels, values)}.`
    : "No data.";
  const { fig, canvas } = figure(parent, {
    title, caption, summary,
    data: { columns: [{ key: "bin", label: xLabel || "bin" }, { key: "count", label: yLabel, numeric: true }],
      rows: bins.map((b, i) => ({ bin: labels[i], count: b.count })) },
  });
  make(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: yLabel, data: values, backgroundColor: palette()[0],
      barPercentage: 1, categoryPercentage: 1 }] },
    options: { plugins: { legend: { display: false } },
      scales: {
        // Ticks name each bin by its start; the data table gives the full ranges.
        x: { title: axisTitle(xLabel), ticks: { maxRotation: 0, autoSkip: true,
          callback: (_, i) => fmt(bins[i].x, digits) } },
        y: { beginAtZero: true, title: axisTitle(yLabel) },
      } },
  });
  return fig;
}

/** Bars for categories: labels and values (horizontal for long names). */
export function bars(parent, { title, caption, labels, values, label = "count", horizontal = false,
  xLabel, yLabel, colors }) {
  const summary = labels.length ? `${labels.length} bars; ${peak(labels, values)}.` : "No data.";
  const { fig, canvas } = figure(parent, {
    title, caption, summary,
    data: { columns: [{ key: "name", label: xLabel || "name" }, { key: "value", label, numeric: true }],
      rows: labels.map((name, i) => ({ name, value: values[i] })) },
  });
  if (horizontal) fig.classList.add(labels.length > 12 ? "tall" : "medium");
  const p = palette();
  make(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label, data: values,
      backgroundColor: colors ? colors.map((c) => p[c % p.length]) : p[0] }] },
    options: { indexAxis: horizontal ? "y" : "x", plugins: { legend: { display: false } },
      scales: { x: { title: axisTitle(horizontal ? yLabel : xLabel), beginAtZero: horizontal },
        y: { title: axisTitle(horizontal ? xLabel : yLabel), beginAtZero: !horizontal } } },
  });
  return fig;
}

/** An hour label ('2026-11-24T21') as "24 Nov 21:00" (local time). */
export function hourLabel(hour) {
  const d = new Date(hour.length === 13 ? `${hour}:00:00Z` : hour);
  if (Number.isNaN(d.getTime())) return hour;
  return d.toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/**
 * A time series over shared labels. series: [{label, values, axis: "y"|"y2", kind:
 * "line"|"bar"}]; the right-hand axis appears when a series uses "y2".
 */
export function timeSeries(parent, { title, caption, labels, series, yLabel, y2Label, stacked = false }) {
  const p = palette();
  const summary = labels.length
    ? `${labels.length} points from ${labels[0]} to ${labels.at(-1)}; ` +
      series.map((s) => `${s.label} ${peak(labels, s.values)}`).join("; ") + "."
    : "No data.";
  const columns = [{ key: "t", label: "time" },
    ...series.map((s, i) => ({ key: `s${i}`, label: s.label, numeric: true, digits: 1 }))];
  const rows = labels.map((t, r) => Object.fromEntries([["t", t],
    ...series.map((s, i) => [`s${i}`, s.values[r]])]));
  const { fig, canvas } = figure(parent, { title, caption, summary, data: { columns, rows } });
  const hasY2 = series.some((s) => s.axis === "y2");
  make(canvas, {
    data: { labels, datasets: series.map((s, i) => ({
      type: s.kind || "line", label: s.label, data: s.values, yAxisID: s.axis || "y",
      borderColor: p[i % p.length], backgroundColor: p[i % p.length], pointRadius: 0,
      borderWidth: 2, spanGaps: true, order: s.kind === "bar" ? 2 : 1,
    })) },
    options: {
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { display: series.length > 1 } },
      scales: {
        x: { stacked, ticks: { maxTicksLimit: 8, maxRotation: 0 } },
        y: { stacked, beginAtZero: true, title: axisTitle(yLabel), position: "left" },
        ...(hasY2 ? { y2: { title: axisTitle(y2Label), position: "right", grid: { drawOnChartArea: false } } } : {}),
      },
    },
  });
  return fig;
}

/** A scatter plot of points [{x, y}]. */
export function scatter(parent, { title, caption, points, xLabel, yLabel }) {
  const xs = points.map((pt) => pt.x);
  const ys = points.map((pt) => pt.y);
  const summary = points.length
    ? `${points.length} points; ${xLabel} from ${fmt(Math.min(...xs))} to ${fmt(Math.max(...xs))}, ` +
      `${yLabel} from ${fmt(Math.min(...ys))} to ${fmt(Math.max(...ys))}.`
    : "No data.";
  const { fig, canvas } = figure(parent, {
    title, caption, summary,
    data: { columns: [{ key: "x", label: xLabel, numeric: true }, { key: "y", label: yLabel, numeric: true }],
      rows: points, limit: 200 },
  });
  make(canvas, {
    type: "scatter",
    data: { datasets: [{ label: title, data: points, backgroundColor: palette()[0] + "99", pointRadius: 2.5 }] },
    options: { plugins: { legend: { display: false } },
      scales: { x: { title: axisTitle(xLabel) }, y: { title: axisTitle(yLabel) } } },
  });
  return fig;
}

/**
 * A grid of cells as an HTML table (no canvas: every cell is text already).
 * rows/cols: header labels; cell(r, c) -> {text, className, title}; legend: [{className, label}].
 */
export function heatGrid(parent, { title, caption, rows, cols, cell, legend = [] }) {
  const id = `fig-${++counter}`;
  const grid = h("table", { class: "heat-grid" },
    h("caption", { class: "visually-hidden" }, title),
    h("thead", null, h("tr", null, h("td"), cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows.map((r, ri) => h("tr", null, h("th", { scope: "row" }, r),
      cols.map((_, ci) => {
        const v = cell(ri, ci);
        return h("td", { class: v.className, title: v.title }, v.text ?? "");
      })))));
  const fig = h("figure", { class: "chart heat", "aria-labelledby": id },
    h("figcaption", { id }, title, caption ? h("span", { class: "caption" }, caption) : null),
    h("div", { class: "heat-scroll" }, grid),
    legend.length ? h("ul", { class: "legend" }, legend.map((item) =>
      h("li", null, h("span", { class: `swatch ${item.className}`, "aria-hidden": "true" }), item.label))) : null);
  parent.append(fig);
  return fig;
}
