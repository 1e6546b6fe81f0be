// Data tables: a caption, sortable columns (buttons, so keyboards can sort), numbers
// right-aligned, and long lists cut to `limit` rows with a button to show the rest.

import { h, fmt, replace } from "./dom.js";

/**
 * columns: [{key, label, numeric?, digits?, render?(row) -> string|Node, sort?(row) -> value}]
 * rows: objects; limit: rows shown before "Show all"; empty: text when there are no rows.
 */
export function table({ caption, columns, rows, limit = 50, empty = "No data.", className }) {
  let order = null; // {index, dir}
  let expanded = rows.length <= limit;
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "more", onclick: () => { expanded = true; draw(); } });
  const heads = columns.map((col, index) => {
    const button = h("button", { type: "button", class: "sort", onclick: () => sortBy(index) }, col.label);
    return h("th", { scope: "col", class: col.numeric ? "num" : null, "aria-sort": "none" }, button);
  });
  const el = h("div", { class: ["table-wrap", className] },
    h("table", { class: "data" },
      caption ? h("caption", null, caption) : null,
      h("thead", null, h("tr", null, heads)),
      tbody),
    more);

  function keyOf(col, row) {
    if (col.sort) return col.sort(row);
    return row[col.key];
  }

  function sortBy(index) {
    const dir = order && order.index === index && order.dir === "ascending" ? "descending" : "ascending";
    order = { index, dir };
    heads.forEach((th, i) => th.setAttribute("aria-sort", i === index ? dir : "none"));
    draw();
  }

  function cell(col, row) {
    if (col.render) return col.render(row);
    const v = row[col.key];
    return col.numeric ? fmt(v, col.digits) : (v ?? "–");
  }

  function draw() {
    let shown = rows;
    if (order) {
      const col = columns[order.index];
      const sign = order.dir === "ascending" ? 1 : -1;
      shown = [...rows].sort((a, b) => {
        const x = keyOf(col, a);
        const y = keyOf(col, b);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * sign;
      });
    }
    if (!expanded) shown = shown.slice(0, limit);
    replace(tbody, shown.length
      ? shown.map((row) => h("tr", null, columns.map((col) =>
        h("td", { class: col.numeric ? "num" : null }, cell(col, row)))))
      : h("tr", null, h("td", { colspan: columns.length, class: "empty" }, empty)));
    more.hidden = expanded;
    replace(more, `Show all ${fmt(rows.length, 0)} rows`);
  }

  draw();
  return el;
}
