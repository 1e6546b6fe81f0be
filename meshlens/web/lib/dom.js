// Building DOM from data without ever parsing it as HTML.
//
// Node names, channel names and messages arrive over the air from anyone. Everything the
// dashboard shows is built here with createElement and text nodes, so a name such as
// `<img src=x onerror=alert(1)>` is shown as those characters and never becomes markup.
// No module may use innerHTML, outerHTML, insertAdjacentHTML or document.write.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Create an element: `h("p", {class: "x"}, "text", child, [more, children])`.
 * Attributes: `class`, `dataset` (object), `on<Event>` (function), `aria-*`, anything
 * else via setAttribute. A `style` attribute is refused (the CSP forbids inline styles;
 * use a class or the element's `style` property). Children: strings and numbers become
 * text nodes, nodes are appended, arrays are flattened, null/undefined/false are skipped.
 */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "style") throw new Error("inline style attributes are refused by the CSP");
    if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (/^on/i.test(key) || key === "srcdoc") {
      throw new Error(`refusing attribute ${key}`);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

/** Append children (strings as text nodes) to a node. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Remove every child of a node. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace a node's children. */
export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

const NUMBER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const INTEGER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** A number for people: thousands separators, at most `digits` decimals, "–" if absent. */
export function fmt(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return String(value);
  if (digits === 0) return INTEGER.format(value);
  if (digits === undefined) return NUMBER.format(value);
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(value);
}

/** A duration in seconds as "42 s", "5 min", "3 h", "2 d". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${fmt(s / 3600, 1)} h`;
  return `${fmt(s / 86400, 1)} d`;
}

/** An ISO time as a short local date-time, keeping the ISO text in a <time> element. */
export function time(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return h("time", { datetime: iso }, d.toLocaleString(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  }));
}

/** A row of headline numbers: [{label, value, hint?}]. */
export function stats(items) {
  return h("dl", { class: "stats" }, items.map((item) =>
    h("div", { class: "stat" },
      h("dt", null, item.label),
      h("dd", null, item.value instanceof Node ? item.value : String(item.value ?? "–"),
        item.hint ? h("span", { class: "hint" }, item.hint) : null))));
}

/** A titled section of a view. */
export function section(title, ...children) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section", { class: "panel", "aria-labelledby": id },
    h("h2", { id }, title), ...children);
}

/** A message in place of content (empty data, not available, errors). */
export function notice(text, kind = "info") {
  return h("p", { class: `notice notice-${kind}` }, text);
}

/** A public key shortened for display, with the whole key in a title. */
export function shortKey(key, n = 8) {
  if (!key) return "–";
  return h("code", { title: key, class: "key" }, key.length > n ? key.slice(0, n) + "…" : key);
}
