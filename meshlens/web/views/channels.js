// Channels: which group channels are busy, when, who talks most, and the latest messages.

import { h, fmt, stats, section, notice, time, replace } from "../lib/dom.js";
import { bars, timeSeries, hourLabel, histogram } from "../lib/charts.js";
import { table } from "../lib/table.js";

const TIMELINE_SERIES = 5; // the busiest channels get a series each, the rest are "other"

export default {
  name: "channels",
  title: "Channels",
  params: ["region", "window"],
  async render(root, ctx) {
    const c = await ctx.get("/api/analytics/channels", ctx.query());
    const channels = c.channels || [];
    root.append(stats([
      { label: "Active channels", value: fmt(c.activeChannels, 0) },
      { label: "Decryptable", value: fmt(c.decryptable, 0), hint: "with a configured key" },
      { label: "Messages", value: fmt(channels.reduce((n, ch) => n + ch.messages, 0), 0) },
      { label: "Senders", value: fmt((c.topSenders || []).length, 0), hint: "top list" },
    ]));
    if (!channels.length) {
      root.append(notice("No channel messages match these filters.", "info"));
      return;
    }
    bars(root, { title: "Messages per channel", caption: "Group messages by channel (encrypted ones by hash byte)",
      labels: channels.map((ch) => ch.name), values: channels.map((ch) => ch.messages),
      label: "messages", horizontal: true, colors: channels.map((ch) => (ch.encrypted ? 5 : 0)) });
    timeline(root, c.channelTimeline || [], channels);
    const senders = c.topSenders || [];
    bars(root, { title: "Top senders", caption: "Senders of decrypted channel messages",
      labels: senders.map((s) => s.name), values: senders.map((s) => s.count),
      label: "messages", horizontal: true, colors: senders.map(() => 2) });
    if ((c.msgLengths || []).length) {
      histogram(root, { title: "Message lengths", caption: "Characters per decrypted message",
        bins: lengthBins(c.msgLengths), xLabel: "characters", yLabel: "messages", digits: 0 });
    }
    const list = section("Channels", table({
      columns: [
        { key: "name", label: "Channel" },
        { key: "hash", label: "Hash" },
        { key: "encrypted", label: "Encrypted", render: (ch) => (ch.encrypted ? "yes" : "no") },
        { key: "messages", label: "Messages", numeric: true, digits: 0 },
        { key: "senders", label: "Senders", numeric: true, digits: 0 },
        { key: "lastActivity", label: "Last activity", render: (ch) => time(ch.lastActivity) },
      ],
      rows: channels,
    }));
    root.append(list);
    root.append(await messagesSection(ctx));
  },
};

function timeline(root, rows, channels) {
  const hours = [...new Set(rows.map((r) => r.hour))].sort();
  const top = channels.slice(0, TIMELINE_SERIES).map((ch) => ch.name);
  const index = new Map(hours.map((hr, i) => [hr, i]));
  const series = top.map((name) => ({ label: name, values: hours.map(() => 0), kind: "bar" }));
  const other = { label: "other", values: hours.map(() => 0), kind: "bar" };
  for (const r of rows) {
    const s = series[top.indexOf(r.channel)] || other;
    s.values[index.get(r.hour)] += r.count;
  }
  if (other.values.some((v) => v)) series.push(other);
  timeSeries(root, { title: "Activity over time", caption: "Messages per hour, by channel",
    labels: hours.map(hourLabel), series, yLabel: "messages", stacked: true });
}

function lengthBins(lengths) {
  const max = Math.max(...lengths);
  const width = Math.max(1, Math.ceil((max + 1) / 20));
  const bins = [];
  for (let x = 0; x <= max; x += width) bins.push({ x, w: width, count: 0 });
  for (const n of lengths) bins[Math.floor(n / width)].count += 1;
  return bins;
}

/** The latest messages of one decrypted channel, loaded when a channel is chosen. */
async function messagesSection(ctx) {
  const listed = await ctx.get("/api/channels", { region: ctx.region });
  const named = (listed.channels || []).filter((ch) => ch.hash);
  const body = h("div");
  const select = h("select", { id: "channel-messages", onchange: () => load(select.value) },
    named.map((ch) => h("option", { value: ch.hash }, ch.name || ch.hash)));
  const panel = section("Latest messages",
    h("div", { class: "toolbar" }, h("label", null, "Channel ", select)), body);
  panel.classList.add("wide");

  async function load(hash) {
    replace(body, h("p", { class: "placeholder" }, "Loading…"));
    try {
      const page = await ctx.get(`/api/channels/${encodeURIComponent(hash)}/messages`,
        { limit: 20, region: ctx.region });
      if (!ctx.isCurrent()) return;
      replace(body, table({
        columns: [
          { key: "timestamp", label: "When", render: (m) => time(m.timestamp) },
          { key: "sender", label: "Sender" },
          { key: "text", label: "Message" },
          { key: "hops", label: "Hops", numeric: true, digits: 0 },
          { key: "snr", label: "SNR", numeric: true, digits: 1 },
        ],
        rows: [...(page.messages || [])].reverse(),
        empty: "No messages.",
      }));
    } catch (err) {
      if (ctx.isCurrent() && err.name !== "Aborted") replace(body, notice(`Could not load messages: ${err.message}`, "error"));
    }
  }

  if (named.length) await load(named[0].hash);
  else replace(body, notice("No decrypted channel: configure channel keys to read messages.", "info"));
  return panel;
}
