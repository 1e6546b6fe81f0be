// Hash collisions: which one-byte path prefixes several repeaters share (so a path hop is
// ambiguous), how far apart they are, and how full each hash space is.
//
// The 16x16 grid is an HTML table of buttons: every cell is its hex text with its class
// as a word in its label, arrow keys move between cells, and choosing one lists its nodes.

import { h, fmt, stats, section, notice, replace, shortKey } from "../lib/dom.js";
import { bars } from "../lib/charts.js";
import { table } from "../lib/table.js";

const HEX = "0123456789ABCDEF".split("");
const CLASSES = ["local", "regional", "distant", "incomplete"];
const CLASS_TEXT = {
  local: "collision under 50 km apart", regional: "collision 50–200 km apart",
  distant: "collision over 200 km apart", incomplete: "collision, locations unknown",
  one: "one repeater", multi: "only multi-byte repeaters", empty: "free",
};
const LEGEND = ["empty", "one", "multi", "local", "regional", "distant", "incomplete"];

function nodeList(nodes) {
  return h("ul", { class: "node-list" }, nodes.map((n) =>
    h("li", null, n.name || "(unnamed)", " ", shortKey(n.public_key), ` · ${n.role || "?"}`,
      n.hash_size ? ` · ${n.hash_size}-byte` : "", n.hash_size_inconsistent ? " · size varies" : "")));
}

export default {
  name: "hash-collisions",
  title: "Hash collisions",
  params: ["region"],
  async render(root, ctx) {
    const hc = await ctx.get("/api/analytics/hash-collisions", ctx.query());
    const bySize = hc.by_size || {};
    const one = bySize["1"];
    if (!one) {
      root.append(notice("No nodes heard yet, so no hash prefixes to compare.", "info"));
      return;
    }
    root.append(stats(["1", "2", "3"].filter((s) => bySize[s]).flatMap((s) => {
      const st = bySize[s].stats;
      return [{ label: `${s}-byte collisions`, value: fmt(st.collision_count, 0),
        hint: `${fmt(st.unique_prefixes, 0)} prefixes used of ${fmt(st.space_size, 0)} (${fmt(st.pct_used, 3)} %)` }];
    }).concat([{ label: "Repeaters", value: fmt(one.stats.nodes_for_byte + (bySize["2"]?.stats.nodes_for_byte || 0) +
      (bySize["3"]?.stats.nodes_for_byte || 0), 0), hint: `of ${fmt(one.stats.total_nodes, 0)} nodes` }])));

    const classOf = new Map(); // prefix -> collision
    for (const c of one.collisions || []) classOf.set(c.prefix, c);
    root.append(grid(one.one_byte_cells || {}, classOf));

    const allCollisions = ["1", "2", "3"].flatMap((s) => bySize[s]?.collisions || []);
    bars(root, { title: "Collisions by distance", caption: "Shared prefixes (all sizes) by how far apart their repeaters are",
      labels: CLASSES, values: CLASSES.map((k) => allCollisions.filter((c) => c.classification === k).length),
      label: "collisions", xLabel: "class", yLabel: "collisions", colors: [3, 1, 4, 5] });
    const list = section("Collisions", table({
      caption: "Prefixes shared by repeaters using the same hash size (closest first)",
      columns: [
        { key: "prefix", label: "Prefix", render: (c) => h("code", null, c.prefix) },
        { key: "byte_size", label: "Bytes", numeric: true, digits: 0 },
        { key: "classification", label: "Class", sort: (c) => CLASSES.indexOf(c.classification) },
        { key: "appearances", label: "Repeaters", numeric: true, digits: 0 },
        { key: "max_dist_km", label: "Farthest apart (km)", numeric: true, digits: 1,
          render: (c) => (c.with_coords >= 2 ? fmt(c.max_dist_km, 1) : "–") },
        { key: "nodes", label: "Nodes", sort: (c) => c.nodes[0]?.name, render: (c) => nodeList(c.nodes) },
      ],
      rows: allCollisions, limit: 25, empty: "No two repeaters share a prefix.",
    }));
    list.classList.add("wide");
    root.append(list);
    const inconsistent = hc.inconsistent_nodes || [];
    root.append(section("Nodes whose hash size varies", table({
      caption: "Repeaters and rooms that advertised different hash sizes recently",
      columns: [
        { key: "name", label: "Node", render: (n) => h("span", null, n.name || "(unnamed)", " ", shortKey(n.public_key)) },
        { key: "role", label: "Role" },
        { key: "hash_size", label: "Latest size", numeric: true, digits: 0 },
        { key: "hash_sizes_seen", label: "Sizes seen", render: (n) => (n.hash_sizes_seen || []).join(", ") || "–" },
      ],
      rows: inconsistent, empty: "None: every node keeps one hash size.",
    })));
    const two = bySize["2"]?.two_byte_cells;
    if (two) {
      const groups = Object.entries(two).filter(([, v]) => v.group_nodes.length)
        .map(([prefix, v]) => ({ prefix, nodes: v.group_nodes.length, collisions: v.collision_count, max: v.max_collision }));
      root.append(section("Two-byte prefixes by first byte", table({
        caption: "Groups of 2-byte repeaters under each first byte",
        columns: [
          { key: "prefix", label: "First byte", render: (g) => h("code", null, g.prefix) },
          { key: "nodes", label: "Repeaters", numeric: true, digits: 0 },
          { key: "collisions", label: "Collisions", numeric: true, digits: 0 },
          { key: "max", label: "Largest", numeric: true, digits: 0 },
        ],
        rows: groups, limit: 15, empty: "No repeater uses 2-byte hashes.",
      })));
    }
  },
};

/** The classified state of one one-byte cell. */
function cellState(prefix, nodes, classOf) {
  const collision = classOf.get(prefix);
  if (collision) return collision.classification;
  if (!nodes.length) return "empty";
  return nodes.some((n) => n.hash_size === 1) ? "one" : "multi";
}

function grid(cells, classOf) {
  const detail = h("div", { class: "cell-detail", "aria-live": "polite" },
    h("p", { class: "placeholder" }, "Choose a cell (click, or arrow keys and Enter) to list its repeaters."));
  const buttons = [];
  let focusIndex = 0;

  function choose(prefix) {
    const nodes = cells[prefix] || [];
    const state = cellState(prefix, nodes, classOf);
    const collision = classOf.get(prefix);
    replace(detail, h("h3", null, `Prefix ${prefix}: ${CLASS_TEXT[state]}`),
      collision && collision.with_coords >= 2 ? h("p", null, `Farthest apart: ${fmt(collision.max_dist_km, 1)} km.`) : null,
      nodes.length ? nodeList(nodes) : h("p", null, "No repeater uses this prefix."));
  }

  function move(from, dr, dc) {
    const r = Math.min(15, Math.max(0, Math.floor(from / 16) + dr));
    const c = Math.min(15, Math.max(0, (from % 16) + dc));
    const to = r * 16 + c;
    buttons[focusIndex].tabIndex = -1;
    focusIndex = to;
    buttons[to].tabIndex = 0;
    buttons[to].focus();
  }

  const KEYS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  const rows = HEX.map((hi, r) => h("tr", null, h("th", { scope: "row" }, `${hi}_`),
    HEX.map((lo, c) => {
      const prefix = hi + lo;
      const nodes = cells[prefix] || [];
      const state = cellState(prefix, nodes, classOf);
      const index = r * 16 + c;
      const label = `${prefix}: ${CLASS_TEXT[state]}` + (nodes.length ? `, ${nodes.length} repeater${nodes.length > 1 ? "s" : ""}` : "");
      const button = h("button", {
        type: "button", class: "cell-button", tabindex: index === 0 ? "0" : "-1", "aria-label": label, title: label,
        dataset: { prefix, state },
        onclick: () => { buttons[focusIndex].tabIndex = -1; focusIndex = index; button.tabIndex = 0; choose(prefix); },
        onkeydown: (e) => {
          const step = KEYS[e.key];
          if (!step) return;
          e.preventDefault();
          move(index, ...step);
        },
      }, prefix);
      buttons.push(button);
      return h("td", { class: `cell cell-${state}` }, button);
    })));
  const gridTable = h("table", { class: "heat-grid collision-grid" },
    h("caption", { class: "visually-hidden" }, "One-byte path prefixes of repeaters; rows are the first hex digit, columns the second"),
    h("thead", null, h("tr", null, h("td"), HEX.map((lo) => h("th", { scope: "col" }, `_${lo}`)))),
    h("tbody", null, rows));
  const occupied = Object.entries(cells).filter(([, nodes]) => nodes.length)
    .map(([prefix, nodes]) => ({ prefix, state: CLASS_TEXT[cellState(prefix, nodes, classOf)], count: nodes.length,
      names: nodes.map((n) => n.name || n.public_key.slice(0, 8)).join(", ") }));
  const fig = h("figure", { class: "chart heat wide", "aria-labelledby": "grid-title" },
    h("figcaption", { id: "grid-title" }, "One-byte prefix grid",
      h("span", { class: "caption" }, "Each cell is a first path byte; repeaters with 2- and 3-byte hashes appear under their first byte.")),
    h("div", { class: "grid-layout" }, h("div", { class: "heat-scroll" }, gridTable), detail),
    h("ul", { class: "legend" }, LEGEND.map((state) =>
      h("li", null, h("span", { class: `swatch cell-${state}`, "aria-hidden": "true" }), CLASS_TEXT[state]))),
    h("details", { class: "chart-data" }, h("summary", null, "Data table"), tableOf(occupied)));
  return fig;
}

function tableOf(rows) {
  return table({
    caption: "Prefixes in use",
    columns: [
      { key: "prefix", label: "Prefix" }, { key: "state", label: "State" },
      { key: "count", label: "Repeaters", numeric: true, digits: 0 }, { key: "names", label: "Names" },
    ],
    rows, limit: 256,
  });
}
