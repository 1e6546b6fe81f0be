// RF: how well the radios hear each other (SNR, RSSI), how busy the air is, and with what.

import { h, fmt, stats, section, notice } from "../lib/dom.js";
import { histogram, scatter, timeSeries, bars, hourLabel } from "../lib/charts.js";
import { table } from "../lib/table.js";

export default {
  name: "rf",
  title: "RF",
  params: ["region", "window"],
  async render(root, ctx) {
    const rf = await ctx.get("/api/analytics/rf", ctx.query());
    root.append(stats([
      { label: "Observations", value: fmt(rf.totalPackets, 0), hint: `${fmt(rf.totalTransmissions, 0)} transmissions` },
      { label: "SNR median", value: `${fmt(rf.snr?.median)} dB`, hint: `mean ${fmt(rf.snr?.avg)} dB, σ ${fmt(rf.snr?.stddev)}` },
      { label: "RSSI median", value: `${fmt(rf.rssi?.median)} dBm`, hint: `mean ${fmt(rf.rssi?.avg)} dBm` },
      { label: "Packet size", value: `${fmt(rf.avgPacketSize, 0)} B`, hint: `${fmt(rf.minPacketSize, 0)}–${fmt(rf.maxPacketSize, 0)} B` },
      { label: "Time span", value: `${fmt(rf.timeSpanHours, 1)} h` },
    ]));
    if (!rf.totalPackets) {
      root.append(notice("No observations match these filters.", "info"));
      return;
    }
    histogram(root, { title: "SNR distribution", caption: "Signal-to-noise ratio of every observation",
      bins: rf.snrValues?.bins || [], xLabel: "SNR (dB)", yLabel: "observations" });
    histogram(root, { title: "RSSI distribution", caption: "Received signal strength of every observation",
      bins: rf.rssiValues?.bins || [], xLabel: "RSSI (dBm)", yLabel: "observations" });
    scatter(root, { title: "SNR against RSSI", caption: "A sample of observations",
      points: (rf.scatterData || []).map((p) => ({ x: p.rssi, y: p.snr })),
      xLabel: "RSSI (dBm)", yLabel: "SNR (dB)" });
    const hours = rf.signalOverTime || [];
    const perHour = new Map((rf.packetsPerHour || []).map((p) => [p.hour, p.count]));
    timeSeries(root, { title: "Traffic and signal per hour",
      caption: "Transmissions first seen per hour (bars) and the hour's mean SNR (line)",
      labels: hours.map((p) => hourLabel(p.hour)),
      series: [
        { label: "transmissions", values: hours.map((p) => perHour.get(p.hour) ?? 0), kind: "bar" },
        { label: "mean SNR (dB)", values: hours.map((p) => p.avgSnr), axis: "y2" },
      ],
      yLabel: "transmissions", y2Label: "SNR (dB)" });
    const types = rf.payloadTypes || [];
    bars(root, { title: "Payload types", caption: "Transmissions by MeshCore payload type",
      labels: types.map((t) => t.name), values: types.map((t) => t.count),
      label: "transmissions", horizontal: true });
    histogram(root, { title: "Packet sizes", caption: "Bytes on air per transmission",
      bins: rf.packetSizes?.bins || [], xLabel: "size (bytes)", yLabel: "transmissions", digits: 0 });
    root.append(section("SNR by payload type", table({
      columns: [
        { key: "name", label: "Type" },
        { key: "count", label: "Observations", numeric: true },
        { key: "avg", label: "Mean SNR (dB)", numeric: true, digits: 1 },
        { key: "min", label: "Min", numeric: true, digits: 1 },
        { key: "max", label: "Max", numeric: true, digits: 1 },
      ],
      rows: rf.snrByType || [],
    })));
  },
};
