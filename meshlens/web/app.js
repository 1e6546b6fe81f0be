// The dashboard shell: routes /#/<view>?region=&window= to a view module, owns the
// region and window selectors, the warming-up state and the snapshot freshness line.
//
// View contract (docs/dashboard.md): views/<name>.js exports default
// {name, title, params: ["region", "window"], async render(root, ctx)}; it sets nothing on
// <main> itself: the shell marks data-state="ready" when render resolves.

import { h, replace, notice, duration } from "./lib/dom.js";
import { client, Aborted, ApiError } from "./lib/api.js";
import { destroyCharts } from "./lib/charts.js";

export const VIEWS = [
  "overview", "rf", "topology", "distance", "channels",
  "hash-sizes", "hash-collisions", "roles", "observers-skew", "nodes-skew",
];
const DEFAULT_VIEW = "overview";
const TITLES = {
  overview: "Overview", rf: "RF", topology: "Topology", distance: "Distance",
  channels: "Channels", "hash-sizes": "Hash sizes", "hash-collisions": "Hash collisions",
  roles: "Roles", "observers-skew": "Observer clocks", "nodes-skew": "Node clocks",
};
const WINDOWS = new Set(["", "1h", "24h", "1d", "3d", "7d", "1w", "30d"]);

const main = document.getElementById("view");
const status = document.getElementById("status");
const freshness = document.getElementById("freshness");
const regionSelect = document.getElementById("region");
const windowSelect = document.getElementById("window");
const regionField = document.getElementById("region-field");
const windowField = document.getElementById("window-field");

const modules = new Map(); // name -> module, or null when it has none
let current = null; // {controller, token}
let renderToken = 0;
let recomputers = null; // {at, byRoute}
let focusView = false; // after a nav click, move focus to the new view (keyboard users)

/** Parse location.hash into {view, region, window}. */
export function parseHash(hash) {
  const text = (hash || "").replace(/^#\/?/, "");
  const [path, qs = ""] = text.split("?");
  const params = new URLSearchParams(qs);
  return {
    view: path || DEFAULT_VIEW,
    region: params.get("region") || "",
    window: WINDOWS.has(params.get("window") || "") ? params.get("window") || "" : "",
  };
}

/** The hash for a view and its filters (only the params the view takes). */
export function buildHash(view, { region, window: win }, params = ["region", "window"]) {
  const q = new URLSearchParams();
  if (region && params.includes("region")) q.set("region", region);
  if (win && params.includes("window")) q.set("window", win);
  const qs = q.toString();
  return `#/${view}${qs ? "?" + qs : ""}`;
}

async function loadModule(name) {
  if (modules.has(name)) return modules.get(name);
  let mod = null;
  if (VIEWS.includes(name)) {
    try {
      mod = (await import(`./views/${name}.js`)).default;
    } catch (err) {
      // A view not written yet is "not available", not an error (the shell still works).
      if (!(err instanceof TypeError)) throw err;
      mod = null;
    }
  }
  modules.set(name, mod);
  return mod;
}

function setState(state) {
  main.dataset.state = state;
  if (state === "ready") performance.mark(`meshlens:ready:${main.dataset.view}`); // bench/dashboard.py
  main.setAttribute("aria-busy", state === "loading" || state === "warming" ? "true" : "false");
}

function markNav(name) {
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function showFilters(params) {
  const region = params.includes("region");
  const win = params.includes("window");
  regionField.hidden = !region;
  regionSelect.disabled = !region;
  windowField.hidden = !win;
  windowSelect.disabled = !win;
}

async function fetchRecomputers(signal) {
  if (recomputers && Date.now() - recomputers.at < 5000) return recomputers.byRoute;
  try {
    const r = await fetch("/api/analytics/recomputers", { signal });
    if (!r.ok) return null;
    const body = await r.json();
    const byRoute = new Map(body.recomputers.map((rc) => [rc.route, rc]));
    // The server's clock (this answer is no-store, so its Date is fresh), to age snapshots
    // by their Last-Modified whatever the browser's own clock says.
    const serverDate = Date.parse(r.headers.get("Date") || "");
    byRoute.serverOffsetMs = Number.isNaN(serverDate) ? 0 : serverDate - Date.now();
    recomputers = { at: Date.now(), byRoute };
    return byRoute;
  } catch {
    return null;
  }
}

function freshnessLine(metas, byRoute) {
  const parts = [];
  const seen = new Set();
  for (const meta of metas.values()) {
    if (meta.label) { // reported by the view itself
      parts.push(`${meta.label}: snapshot ${duration(meta.ageSec)} old`);
      continue;
    }
    // An analytic's route, or one of its parts (e.g. /api/analytics/topology/summary).
    const rc = byRoute?.get(meta.path) ??
      [...(byRoute?.values() ?? [])].find((r) => meta.path.startsWith(r.route + "/"));
    if (!rc || seen.has(rc.name + meta.filtered)) continue; // a plain resource, or said
    seen.add(rc.name + meta.filtered);
    const label = rc.name;
    if (meta.filtered) {
      parts.push(`${label}: computed for this filter` +
        (meta.ageSec !== null ? `, ${duration(meta.ageSec)} ago` : ""));
      continue;
    }
    // A snapshot the browser kept in its cache (max-age) carries the Age it had then;
    // Last-Modified against the server's clock is its age now.
    const modified = Date.parse(meta.lastModified || "");
    const age = !Number.isNaN(modified)
      ? Math.max(0, (Date.now() + (byRoute.serverOffsetMs || 0) - modified) / 1000)
      : meta.ageSec ?? rc.snapshotAgeSec;
    let text = `${label}: snapshot ${duration(age)} old`;
    if (rc.nextDueInSec !== null && rc.nextDueInSec !== undefined) {
      text += `, next recompute ${rc.nextDueInSec <= 0 ? "due now" : "in " + duration(rc.nextDueInSec)}`;
    }
    if (rc.stale) text += " (stale)";
    parts.push(text);
  }
  return parts.join(" · ");
}

const FRESHNESS_EVERY_MS = 10_000;
let freshnessTimer = null;

/** Say how old the view's snapshots are and when they recompute; keep it current. */
async function showFreshness(token, metas, signal) {
  clearInterval(freshnessTimer);
  const update = async () => {
    const byRoute = await fetchRecomputers(signal);
    if (token === renderToken) replace(freshness, freshnessLine(metas, byRoute) || "");
    else clearInterval(freshnessTimer);
  };
  await update();
  if (token === renderToken && freshness.textContent) {
    freshnessTimer = setInterval(update, FRESHNESS_EVERY_MS);
  }
}

/** Render the view named in the hash. */
async function route() {
  const state = parseHash(location.hash);
  const token = ++renderToken;
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller, token };
  destroyCharts();

  const mod = await loadModule(state.view);
  if (token !== renderToken) return;
  const name = state.view;
  main.dataset.view = name;
  markNav(name);
  replace(status);
  replace(freshness);

  if (!mod) {
    showFilters([]);
    document.title = "meshlens";
    replace(main, h("h1", null, TITLES[name] || "Not available"),
      notice(VIEWS.includes(name)
        ? `The ${TITLES[name]} view is not available in this build yet.`
        : `There is no view called “${name}”. Choose one from the menu.`, "info"));
    main.dataset.available = "false";
    setState("ready");
    return;
  }
  main.dataset.available = "true";
  const params = mod.params || [];
  showFilters(params);
  regionSelect.value = state.region;
  if (regionSelect.value !== state.region) addRegionOption(state.region);
  windowSelect.value = state.window;
  if (windowSelect.value !== state.window) { // a valid spelling the menu lacks (1d, 1w)
    windowSelect.append(h("option", { value: state.window }, state.window));
    windowSelect.value = state.window;
  }
  document.title = `${mod.title} · meshlens`;
  setState("loading");
  replace(main, h("h1", null, mod.title), h("p", { class: "placeholder" }, "Loading…"));

  const metas = new Map();
  const api = client({
    signal: controller.signal,
    onWarming(path, seconds) {
      if (token !== renderToken) return;
      setState("warming");
      replace(status, notice(`Warming up: ${path} is still computing its first snapshot. ` +
        `Retrying in ${duration(seconds)}…`, "warming"));
    },
    onMeta(meta) {
      if (token !== renderToken) return;
      metas.set(meta.url, meta);
      if (main.dataset.state === "warming") {
        setState("loading");
        replace(status);
      }
    },
  });
  const ctx = {
    get: api.get,
    region: params.includes("region") ? state.region : "",
    window: params.includes("window") ? state.window : "",
    signal: controller.signal,
    /** The query of the shell's filters, for the params this view takes. */
    query(extra) {
      return { region: this.region, window: this.window, ...extra };
    },
    /** Report an age the shell cannot see in headers (e.g. from a JSON field). */
    reportAge(label, ageSec) {
      metas.set(label, { path: label, url: label, ageSec, filtered: false, label });
    },
    isCurrent() { return token === renderToken; },
  };

  const root = h("div", { class: "view-body" });
  try {
    await mod.render(root, ctx);
    if (token !== renderToken) return;
    replace(main, h("h1", null, mod.title), root);
    setState("ready");
    if (focusView) {
      focusView = false;
      main.focus({ preventScroll: true });
    }
    await showFreshness(token, metas, controller.signal);
  } catch (err) {
    if (err instanceof Aborted || token !== renderToken) return;
    console.warn(`view ${name} failed:`, err);
    const text = err instanceof ApiError
      ? `Could not load ${err.path}: ${err.message}${err.status ? ` (HTTP ${err.status})` : ""}.`
      : `This view failed to render: ${err.message}`;
    replace(main, h("h1", null, mod.title), notice(text, "error"));
    setState("error");
  }
}

function addRegionOption(code) {
  if (!code) return;
  if ([...regionSelect.options].some((o) => o.value === code)) return;
  regionSelect.append(h("option", { value: code }, code));
  regionSelect.value = code;
}

async function loadRegions() {
  try {
    const r = await fetch("/api/observers");
    if (!r.ok) return;
    const body = await r.json();
    const codes = [...new Set(body.observers.map((o) => o.iata).filter(Boolean))].sort();
    for (const code of codes) addRegionOption(code);
    regionSelect.value = parseHash(location.hash).region;
  } catch {
    // The selector still works with what the link named; the view will say if it fails.
  }
}

function onFilterChange() {
  const state = parseHash(location.hash);
  const mod = modules.get(state.view);
  location.hash = buildHash(state.view, { region: regionSelect.value, window: windowSelect.value },
    mod?.params || []);
}

function start() {
  regionSelect.addEventListener("change", onFilterChange);
  windowSelect.addEventListener("change", onFilterChange);
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  // Keep the filters when moving between views: nav links carry the current query.
  document.getElementById("nav-links").addEventListener("click", (e) => {
    const a = e.target.closest("a");
    if (!a) return;
    e.preventDefault();
    const name = a.getAttribute("href").slice(2);
    focusView = true;
    location.hash = buildHash(name, { region: regionSelect.value, window: windowSelect.value });
  });
  window.addEventListener("hashchange", route);
  // Charts read their colours from CSS: redraw when the system theme changes.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", route);
  loadRegions();
  route();
}

start();
