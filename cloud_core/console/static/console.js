// The operator console. Reads the cloud's JSON API (with the bearer token kept in sessionStorage
// when the console asks for one) and draws four things: edges and their index versions, a
// campaign's cumulative spend by hour against its budget on a <canvas>, experiment results, and the
// audit trail of who changed what.
"use strict";

const TOKEN_KEY = "cartads.console.token";
const REFRESH_MS = 15000;
const HOUR_MS = 3600 * 1000;

let authRequired = false;
let selectedCampaign = sessionStorage.getItem("cartads.console.campaign") || "";
let timer = null;
let lastSeries = null;

class AuthError extends Error {}

function $(id) { return document.getElementById(id); }

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Dollars from micros. Ad spend is often a fraction of a cent (a $4 CPM impression costs $0.004), so an
// amount under a cent keeps its first two significant digits ("$0.0042") rather than reading "$0.00"
// as if nothing was billed; a cent or more shows cents. moneyExact gives every digit, for titles.
function money(micros) {
  const sign = micros < 0 ? "-$" : "$";
  const abs = Math.abs(micros);
  if (abs > 0 && abs < 10000) {
    // Two significant digits, cut rather than rounded (so $0.009999 never reads as a cent).
    const digits = Math.min(6, 7 - Math.floor(Math.log10(abs)));
    const unit = Math.pow(10, 6 - digits);
    return sign + ((Math.floor(abs / unit) * unit) / 1e6).toFixed(digits);
  }
  return sign + (abs / 1e6).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function moneyExact(micros) {
  const sign = micros < 0 ? "-$" : "$";
  const abs = Math.abs(micros);
  return `${sign}${Math.floor(abs / 1e6).toLocaleString("en-US")}.${String(abs % 1e6).padStart(6, "0")} (${count(micros)} micros)`;
}

// A money cell: the readable amount, every digit in its title.
function moneyCell(tag, className, micros) {
  const cell = el(tag, className, money(micros));
  cell.title = moneyExact(micros);
  return cell;
}

function count(n) { return Number(n).toLocaleString("en-US"); }

// Sales at checkout (README, "Measurement"): click-through, view-through and halo, one line each
// with the value at shelf price and the units.
const SALES_KEYS = ["ct_sales_units", "ct_sales_micros", "vt_sales_units", "vt_sales_micros", "halo_sales_units", "halo_sales_micros"];
function salesCell(tag, s) {
  const cell = el(tag, "num sales");
  for (const [kind, label] of [["ct", "click"], ["vt", "view"], ["halo", "halo"]]) {
    const micros = s[`${kind}_sales_micros`], units = s[`${kind}_sales_units`];
    const line = el("small", `sales-${kind}`, `${label} ${money(micros)} · ${count(units)}`);
    line.title = `${moneyExact(micros)}, ${count(units)} ${units === 1 ? "unit" : "units"}`;
    cell.append(line);
  }
  return cell;
}

// A share; one that is above zero but rounds to it says "<0.1%", so real activity never reads as none.
function percent(fraction, digits = 1) {
  const floor = Math.pow(10, -digits);
  if (fraction > 0 && fraction * 100 < floor) return "<" + floor.toFixed(digits) + "%";
  return (fraction * 100).toFixed(digits) + "%";
}

function shortVersion(version) { return version ? version.slice(0, 12) : "—"; }

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 90) return Math.round(seconds) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}

function timeText(us) {
  if (!us) return "—";
  return new Date(us / 1000).toISOString().replace("T", " ").slice(0, 16) + "Z";
}

async function api(path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (authRequired && token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { headers, cache: "no-store" });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (response.status === 401 || response.status === 403) {
    throw new AuthError((body && body.error) || response.statusText);
  }
  if (!response.ok) throw new Error((body && body.error) || `${path}: HTTP ${response.status}`);
  return body;
}

// --- edges ------------------------------------------------------------------------------------------

function renderEdges(view) {
  const body = $("edges").querySelector("tbody");
  body.replaceChildren();
  let total = 0;
  for (const store of view.stores) {
    store.edges.forEach((edge, i) => {
      total += 1;
      const row = el("tr");
      row.dataset.store = edge.store_id;
      row.dataset.edge = edge.edge_id;
      if (i === 0) {
        const cell = el("td", "store", edge.store_id);
        cell.rowSpan = store.edges.length;
        cell.append(el("small", null, `${store.connected}/${store.edges.length} connected · ${store.in_sync} in sync`));
        row.append(cell);
      }
      const name = el("td", "mono", edge.edge_id);
      // Flagged: the edge uploaded charges the cloud never issued terms for (forged or tampered tokens).
      if (edge.flagged) {
        const badge = el("span", "pill bad flagged", `flagged: ${edge.flag_reason}`);
        badge.title = `${edge.flag_count} refused charge(s); cartads-admin edges clear-flag to clear`;
        name.append(badge);
      }
      row.append(name);
      const stream = el("td");
      stream.append(el("span", "pill " + (edge.connected ? "ok" : "off"), edge.connected ? "connected" : "disconnected"));
      row.append(stream);
      const serving = el("td", "mono version", shortVersion(edge.applied_version));
      serving.title = edge.applied_version;
      if (!edge.in_sync) serving.append(el("span", "pill warn", "behind"));
      row.append(serving);
      const sent = el("td", "mono", shortVersion(edge.current_version));
      sent.title = edge.current_version;
      row.append(sent);
      const answer = el("td");
      if (edge.last_answer) {
        answer.append(el("span", "pill " + (edge.last_answer === "ACK" ? "ok" : "bad"), edge.last_answer));
        if (edge.last_answer === "NACK" && edge.last_error) answer.append(el("small", "error-text", edge.last_error));
      } else {
        answer.textContent = "—";
      }
      row.append(answer);
      row.append(el("td", null, timeText(edge.last_ack_time_us)));
      const nack = el("td", null, timeText(edge.last_nack_time_us));
      if (edge.last_nack_version) nack.title = "refused " + edge.last_nack_version;
      row.append(nack);
      // Health in words; how long ago the edge was heard from only once it is offline (a connected
      // edge's stream is kept alive by the cloud's pings, so its last message's age means nothing).
      const health = el("td", "health");
      const tone = { healthy: "ok", updating: "warn", reconnecting: "warn", refusing: "bad", offline: "bad", never: "off" };
      health.append(el("span", "pill " + (tone[edge.health] || "off"), edge.health_text));
      if (edge.stale) health.append(el("small", "seen", "last seen " + ago(edge.seconds_since_seen)));
      if (edge.last_seen_us) health.title = "last heard from " + timeText(edge.last_seen_us);
      row.dataset.health = edge.health;
      row.append(health);
      body.append(row);
    });
  }
  $("edges-empty").hidden = total > 0;
}

// --- campaigns and the spend chart -------------------------------------------------------------------

function renderCampaigns(view) {
  const campaigns = view.campaigns;
  const select = $("campaign");
  const ids = campaigns.map((c) => c.campaign_id);
  if (!ids.includes(selectedCampaign)) selectedCampaign = ids[0] || "";
  select.replaceChildren(...campaigns.map((c) => {
    const option = el("option", null, `${c.display_name} (${c.campaign_id})`);
    option.value = c.campaign_id;
    return option;
  }));
  select.value = selectedCampaign;

  const body = $("campaigns").querySelector("tbody");
  body.replaceChildren();
  const totals = { budget: 0, spend: 0, plays: 0, impressions: 0, clicks: 0, conversions: 0, invalid: 0 };
  for (const k of SALES_KEYS) totals[k] = 0;
  for (const c of campaigns) {
    const row = el("tr");
    row.dataset.campaign = c.campaign_id;
    if (c.campaign_id === selectedCampaign) row.classList.add("selected");
    row.addEventListener("click", () => selectCampaign(c.campaign_id));
    const name = el("td", null, c.display_name);
    name.append(el("small", "mono", c.campaign_id));
    row.append(name, el("td", "mono", c.advertiser_id));
    row.append(el("td", null, c.active ? "active" : "paused"));
    row.append(moneyCell("td", "num", c.budget_micros), moneyCell("td", "num spend", c.spend_micros));
    row.append(el("td", "num ivt", percent(c.invalid_traffic_rate)));
    const spent = el("td", "num");
    const bar = el("span", "bar");
    const fill = el("span", c.spent_fraction >= 1 ? "fill over" : "fill");
    fill.style.width = Math.min(100, c.spent_fraction * 100).toFixed(1) + "%";
    bar.append(fill);
    spent.append(bar, el("span", null, percent(c.spent_fraction)));
    row.append(spent);
    row.append(el("td", "num plays", count(c.plays)), el("td", "num", count(c.impressions)));
    row.append(el("td", "num viewable", c.plays ? percent(c.viewability_rate) : "—"));
    row.append(el("td", "num", count(c.clicks)), el("td", "num", count(c.conversions)));
    row.append(salesCell("td", c));
    body.append(row);
    for (const k of SALES_KEYS) totals[k] += c[k];
    totals.budget += c.budget_micros; totals.spend += c.spend_micros;
    totals.plays += c.plays; totals.impressions += c.impressions; totals.clicks += c.clicks; totals.conversions += c.conversions;
    totals.invalid += c.invalid_ad_events;
  }
  const foot = $("campaigns").querySelector("tfoot");
  foot.replaceChildren();
  if (campaigns.length) {
    const row = el("tr");
    row.append(el("th", null, `All ${campaigns.length} campaigns`), el("th"), el("th"));
    row.append(moneyCell("th", "num", totals.budget), moneyCell("th", "num spend", totals.spend));
    const adEvents = totals.impressions + totals.clicks + totals.conversions + totals.invalid;
    row.append(el("th", "num", adEvents ? percent(totals.invalid / adEvents) : "—"));
    row.append(el("th", "num", totals.budget ? percent(totals.spend / totals.budget) : "—"));
    row.append(el("th", "num", count(totals.plays)), el("th", "num", count(totals.impressions)));
    row.append(el("th", "num", totals.plays ? percent(totals.impressions / totals.plays) : "—"));
    row.append(el("th", "num", count(totals.clicks)), el("th", "num", count(totals.conversions)));
    row.append(salesCell("th", totals));
    foot.append(row);
  }
  $("campaigns-empty").hidden = campaigns.length > 0;
}

function selectCampaign(campaignId) {
  selectedCampaign = campaignId;
  sessionStorage.setItem("cartads.console.campaign", campaignId);
  $("campaign").value = campaignId;
  for (const row of $("campaigns").querySelectorAll("tbody tr")) {
    row.classList.toggle("selected", row.dataset.campaign === campaignId);
  }
  loadSeries().catch(showError);
  loadDelivery().catch(showError);
  loadForecast().catch(showError);
}

const STATE_PILLS = { "on plan": "ok", "delivering (no daily plan)": "ok", "behind plan": "warn", "ahead of plan": "warn", "not delivering": "bad" };

async function loadDelivery() {
  const body = $("delivery-stores").querySelector("tbody");
  const reasons = $("delivery-reasons");
  if (!selectedCampaign) { body.replaceChildren(); reasons.replaceChildren(); $("delivery-summary").textContent = ""; return; }
  const status = await api(`/api/campaigns/${encodeURIComponent(selectedCampaign)}/delivery`);
  const pill = $("delivery-state");
  if (!status.available) { pill.textContent = "not available"; pill.className = "pill off"; return; }
  pill.textContent = status.state;
  pill.className = "pill " + (STATE_PILLS[status.state] || "off");
  $("delivery-summary").textContent = status.summary;
  $("delivery-stores").dataset.campaign = status.campaign_id;
  body.replaceChildren();
  for (const s of status.stores) {
    const row = el("tr");
    row.dataset.store = s.store_id;
    row.append(el("td", "mono", s.store_id), el("td", null, s.serving ? "yes" : "no"));
    row.append(moneyCell("td", "num", Number(s.spend_today_micros)), moneyCell("td", "num", Number(s.plan_today_micros)), moneyCell("td", "num", Number(s.planned_by_now_micros)));
    row.append(el("td", "num", percent(s.pacing_rate, 0)), moneyCell("td", "num", Number(s.lease_allowance_micros)), moneyCell("td", "num", Number(s.lease_spent_micros)));
    row.append(el("td", null, s.lease_expire_time ? new Date(s.lease_expire_time).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) : "—"));
    row.append(el("td", "num", count(s.ads_last_hour)), el("td", "num", count(s.throttled_last_hour)));
    body.append(row);
  }
  reasons.replaceChildren(...status.reasons.map((r) => { const item = el("li", "reason", r.text); item.dataset.code = r.code; return item; }));
  if (!status.reasons.length) reasons.append(el("li", "empty", "Nothing is holding it back."));
  document.body.dataset.delivery = status.campaign_id;
}

async function loadSeries() {
  if (!selectedCampaign) { lastSeries = null; drawChart(null); return; }
  lastSeries = await api(`/api/campaigns/${encodeURIComponent(selectedCampaign)}/spend`);
  drawChart(lastSeries);
}

function niceStep(range, ticks) {
  const raw = range / ticks;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// The time axis's ticks from x0 to x1 (ms, UTC) on whole multiples of a round step (every 6 h falls on
// 00, 06, 12, 18), labelled so that no two read alike: within a day the hour ("14h"), with the date
// where a day starts (and on the first tick); over several days the date and hour of each ("12-02
// 06h"), fewer of them to fit; steps of a day or more, the date alone.
function timeTicks(x0, x1) {
  const hours = (x1 - x0) / HOUR_MS;
  const most = hours > 24 ? 8 : 12;
  const every = [1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 672].find((n) => hours / n <= most) || Math.ceil(hours / most);
  const step = every * HOUR_MS;
  const ticks = [];
  const used = new Set();
  let lastDay = "";
  for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
    const iso = new Date(t).toISOString();
    const day = iso.slice(5, 10);
    const hour = iso.slice(11, 13) + "h";
    let label = `${day} ${hour}`;
    if (every >= 24) label = day;
    else if (hours <= 24 && day === lastDay && !used.has(hour)) label = hour;
    used.add(label);
    lastDay = day;
    ticks.push({ ms: t, label });
  }
  return ticks;
}

function drawChart(series) {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 960;
  const cssHeight = canvas.clientHeight || 320;
  canvas.width = Math.round(cssWidth * ratio);
  canvas.height = Math.round(cssHeight * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  const note = $("chart-note");
  if (!series || !series.points.length) {
    canvas.dataset.points = "0";
    note.textContent = "No campaign to chart.";
    return;
  }
  const points = series.points;
  const pad = { left: 84, right: 24, top: 18, bottom: 42 };
  const w = cssWidth - pad.left - pad.right;
  const h = cssHeight - pad.top - pad.bottom;
  // x runs from the first hour's start to the last hour's end; each point sits at its hour's end.
  const x0 = points[0].hour_start_us / 1000;
  const x1 = points[points.length - 1].hour_start_us / 1000 + HOUR_MS;
  const last = points[points.length - 1];
  const yMax = Math.max(series.budget_micros, last.cumulative_spend_micros, last.pace_micros, 1) * 1.08;
  const X = (ms) => pad.left + ((ms - x0) / (x1 - x0)) * w;
  const Y = (micros) => pad.top + h - (micros / yMax) * h;

  ctx.font = "12px DejaVu Sans, Liberation Sans, Arial, sans-serif";
  ctx.fillStyle = "#5b6770";
  ctx.strokeStyle = "#e4e8ec";
  ctx.lineWidth = 1;
  const step = niceStep(yMax, 5);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = 0; v <= yMax; v += step) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.left, y); ctx.lineTo(pad.left + w, y); ctx.stroke();
    ctx.fillText(money(v), pad.left - 8, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const ticks = timeTicks(x0, x1);
  for (const tick of ticks) ctx.fillText(tick.label, X(tick.ms), pad.top + h + 8);
  ctx.textAlign = "right";
  ctx.fillText("UTC", pad.left + w, pad.top + h + 24);
  canvas.dataset.ticks = ticks.map((tick) => tick.label).join("|");
  ctx.strokeStyle = "#9aa5ad";
  ctx.beginPath(); ctx.moveTo(pad.left, pad.top + h + 0.5); ctx.lineTo(pad.left + w, pad.top + h + 0.5); ctx.stroke();

  // Even pace: what spreading the budget evenly over the flight would have spent by then.
  ctx.strokeStyle = "#8a94a6";
  ctx.setLineDash([2, 4]);
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(X(x0), Y(series.start_pace_micros));
  for (const p of points) ctx.lineTo(X(p.hour_start_us / 1000 + HOUR_MS), Y(p.pace_micros));
  ctx.stroke();

  // The budget line.
  ctx.strokeStyle = "#c2410c";
  ctx.setLineDash([8, 5]);
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(pad.left, Y(series.budget_micros)); ctx.lineTo(pad.left + w, Y(series.budget_micros)); ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = "#c2410c";
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  ctx.fillText("budget " + money(series.budget_micros), pad.left + w, Y(series.budget_micros) - 4);

  // Cumulative spend: each hour's segment rises by what was spent in that hour; filled beneath.
  const path = new Path2D();
  path.moveTo(X(x0), Y(series.carried_spend_micros));
  for (const p of points) path.lineTo(X(p.hour_start_us / 1000 + HOUR_MS), Y(p.cumulative_spend_micros));
  const area = new Path2D(path);
  area.lineTo(X(x1), Y(0));
  area.lineTo(X(x0), Y(0));
  area.closePath();
  ctx.fillStyle = "rgba(31, 111, 178, 0.14)";
  ctx.fill(area);
  ctx.strokeStyle = "#1f6fb2";
  ctx.lineWidth = 2.5;
  ctx.stroke(path);
  ctx.fillStyle = "#1f6fb2";
  for (const p of points) {
    if (p.spend_micros > 0) {
      ctx.beginPath(); ctx.arc(X(p.hour_start_us / 1000 + HOUR_MS), Y(p.cumulative_spend_micros), 3, 0, 2 * Math.PI); ctx.fill();
    }
  }

  canvas.dataset.points = String(points.length);
  canvas.dataset.campaign = series.campaign.campaign_id;
  const spent = series.total_spend_micros;
  let text = `${series.campaign.display_name}: ${money(spent)} of ${money(series.budget_micros)} over ${points.length} hour${points.length === 1 ? "" : "s"}`;
  if (series.carried_spend_micros > 0) text += ` (${money(series.carried_spend_micros)} before the first hour shown)`;
  if (series.exhausted_hour_us) text += ` · budget reached in the hour from ${timeText(series.exhausted_hour_us)}`;
  else if (series.exhausted_earlier) text += " · budget reached before the first hour shown";
  note.textContent = text + ".";
}

// --- experiments --------------------------------------------------------------------------------------

function signed(text, value) { return (value >= 0 ? "+" : "") + text; }

function pointsText(fraction) { return (fraction * 100).toFixed(2) + " pp"; }

// A difference with its 95% interval, e.g. "+2.10 pp [0.35 pp, 3.85 pp]".
function estimateText(estimate, format) {
  if (!estimate) return "—";
  return `${signed(format(estimate.difference), estimate.difference)} [${format(estimate.ci_low)}, ${format(estimate.ci_high)}]`;
}

function liftCell(estimate, format) {
  const cell = el("td", "num lift", estimate ? signed(format(estimate.difference), estimate.difference) : "—");
  if (estimate) cell.append(el("small", null, `95% CI ${format(estimate.ci_low)} to ${format(estimate.ci_high)}`));
  if (estimate && estimate.significant) cell.classList.add(estimate.difference > 0 ? "up" : "down");
  if (estimate) cell.title = `relative ${signed(percent(estimate.relative), estimate.relative)}; ${estimate.significant ? "the interval excludes 0" : "not significant"}`;
  return cell;
}

function renderExperiments(view) {
  const box = $("experiments");
  box.replaceChildren();
  if (!view.available) {
    box.append(el("p", "empty", "Experiment results are not available from this cloud."));
    return;
  }
  $("experiments-range").textContent = `last ${view.days} days`;
  if (!view.layers.length) {
    box.append(el("p", "empty", "No experiment layers yet."));
    return;
  }
  const headings = ["Arm", "Share", "Trips", "Impressions", "Clicks", "Conversions", "Spend", "Trips converting", "Conversion lift", "Sales per trip lift"];
  for (const layer of view.layers) {
    const block = el("div", "layer");
    block.dataset.layer = layer.layer_id;
    const title = el("h3", null, layer.display_name || layer.layer_id);
    title.append(el("span", "pill " + (layer.deleted ? "bad" : layer.active ? "ok" : "off"), layer.deleted ? "deleted" : layer.active ? "active" : "paused"));
    block.append(title);
    const table = el("table", "grid");
    const head = el("tr");
    headings.forEach((name, i) => head.append(el("th", i === 0 ? null : "num", name)));
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = el("tbody");
    for (const arm of layer.arms) {
      const row = el("tr", arm.holdout ? "holdout" : null);
      row.dataset.arm = arm.arm_id;
      const name = el("td", null, arm.display_name || arm.arm_id);
      if (arm.holdout) name.append(el("span", "pill off", "holdout"));
      name.append(el("small", "mono", arm.arm_id));
      row.append(name);
      row.append(el("td", "num", arm.traffic_share === null ? "—" : percent(arm.traffic_share, 1)));
      row.append(el("td", "num", count(arm.trips)));
      row.append(el("td", "num", count(arm.impressions)), el("td", "num", count(arm.clicks)), el("td", "num", count(arm.conversions)));
      row.append(moneyCell("td", "num", arm.spend_micros));
      row.append(el("td", "num", arm.trips ? percent(arm.trip_conversion_rate, 2) : "—"));
      if (arm.lift) {
        row.append(liftCell(arm.lift.conversion_rate, pointsText), liftCell(arm.lift.sales_per_trip_micros, money));
      } else {
        row.append(el("td", "num", arm.holdout ? "baseline" : "—"), el("td", "num", arm.holdout ? "baseline" : "—"));
      }
      body.append(row);
    }
    table.append(body);
    block.append(table);
    let note;
    if (!layer.has_holdout) {
      note = "This layer has no holdout arm, so there is no lift to measure.";
    } else if (layer.lift) {
      note = `All exposed arms against the holdout: conversion rate ${estimateText(layer.lift.conversion_rate, pointsText)}, sales per trip ${estimateText(layer.lift.sales_per_trip_micros, money)}.`;
    } else {
      note = "No trips in this layer yet.";
    }
    const summary = el("p", "hint layer-lift", note);
    block.append(summary);
    box.append(block);
  }
}

// --- audit trail ------------------------------------------------------------------------------------

// A recorded value is JSON text ("" when the resource had none): shown as is, a dash for none.
function auditValue(text) { return text === "" ? "—" : text; }

function renderAudit(view) {
  const body = $("audit").querySelector("tbody");
  body.replaceChildren();
  for (const entry of view.entries) {
    const row = el("tr");
    row.dataset.method = entry.method;
    row.append(el("td", "nowrap", timeText(entry.time_us)));
    const who = el("td", null, entry.actor_display_name || entry.actor_token_id);
    who.title = `${entry.actor_token_id} (${entry.actor_role})`;
    who.append(el("div", "hint", `${entry.actor_token_id} · ${entry.actor_role}`));
    row.append(who, el("td", null, entry.method), el("td", null, `${entry.resource_type} ${entry.resource_id}`));
    const fields = el("td", "changes");
    for (const change of entry.changes) {
      const line = el("div", "change");
      line.append(el("strong", null, change.field + ": "), el("span", "before", auditValue(change.before)));
      line.append(el("span", null, " → "), el("span", "after", auditValue(change.after)));
      fields.append(line);
    }
    row.append(fields);
    body.append(row);
  }
  $("audit-empty").hidden = view.entries.length > 0;
}

// --- availability forecast -------------------------------------------------------------------------

function roundCount(x) { return count(Math.round(Number(x))); }

function renderForecast(view) {
  const body = $("forecast").querySelector("tbody");
  body.replaceChildren();
  const items = view.line_items || [];
  for (const item of items) {
    const row = el("tr");
    row.dataset.lineItem = item.line_item_id;
    const name = el("td", null, item.display_name);
    name.append(el("small", "mono", item.line_item_id));
    row.append(name);
    if (item.error) {
      row.append(el("td"), el("td", "error", item.error));
      body.append(row);
      continue;
    }
    row.append(el("td", null, item.state.replace("SERVING_STATE_", "").toLowerCase()));
    const bound = item.upper_bound ? "≤ " : "";
    row.append(el("td", "num requests", bound + roundCount(item.total_eligible_requests)));
    row.append(el("td", "num impressions", bound + roundCount(item.total_expected_impressions)));
    const days = el("td", "days");
    for (const day of item.days) days.append(el("small", "day", `${day.date.slice(5)}: ${roundCount(day.expected_impressions)}`));
    if (item.stores_without_history) days.append(el("small", "hint", `${item.stores_without_history} store(s) without traffic history`));
    row.append(days);
    body.append(row);
  }
  $("forecast-range").textContent = view.available && view.start_date ? `${view.start_date} → ${view.end_date}` : "";
  $("forecast-empty").hidden = items.length > 0;
}

async function loadForecast() {
  if (!selectedCampaign) { renderForecast({ line_items: [] }); return; }
  const campaignId = selectedCampaign;
  const view = await api(`/api/campaigns/${encodeURIComponent(campaignId)}/forecast?days=7`);
  if (campaignId !== selectedCampaign) return;  // another campaign was picked meanwhile
  renderForecast(view);
  document.body.dataset.forecast = campaignId;
}

// --- report exports ---------------------------------------------------------------------------------

const EXPORT_STATES = {
  REPORT_EXPORT_STATE_PENDING: ["waiting", "off"],
  REPORT_EXPORT_STATE_RUNNING: ["running", "warn"],
  REPORT_EXPORT_STATE_SUCCEEDED: ["ready", "ok"],
  REPORT_EXPORT_STATE_FAILED: ["failed", "bad"],
};

function bytesText(n) {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

function exportReportText(report) {
  const dims = (report.dimensions || []).map((d) => d.replace("REPORT_DIMENSION_", "").toLowerCase().replace("_", " "));
  const range = `${(report.start_time || "").slice(0, 10)} → ${(report.end_time || "").slice(0, 10)}`;
  return `${dims.length ? "by " + dims.join(", ") : "totals"}, ${range}`;
}

function renderExports(view) {
  const body = $("exports").querySelector("tbody");
  body.replaceChildren();
  for (const job of view.exports) {
    const row = el("tr");
    row.dataset.export = job.export_id;
    const [label, tone] = EXPORT_STATES[job.state] || [job.state, "off"];
    const state = el("td");
    state.append(el("span", `pill ${tone}`, label));
    if (job.error) state.append(el("small", "error", job.error));
    const id = el("td", "mono", job.export_id);
    if (job.advertiser_id) id.append(el("small", null, `advertiser ${job.advertiser_id}`));
    row.append(id, state);
    row.append(el("td", "num", `${job.stores_done} / ${job.stores_total}`));
    const done = job.state === "REPORT_EXPORT_STATE_SUCCEEDED";
    row.append(el("td", "num", done ? count(job.row_count) : "—"), el("td", "num", done ? bytesText(job.byte_count) : "—"));
    row.append(el("td", null, exportReportText(job.report || {})));
    row.append(el("td", "nowrap", (job.create_time || "").replace("T", " ").slice(0, 16)));
    body.append(row);
  }
  $("exports-count").textContent = view.available ? `newest ${view.exports.length}` : "not available here";
  $("exports-empty").hidden = view.exports.length > 0;
}

async function loadExports() {
  renderExports(await api("/api/exports?limit=20"));
}

async function loadAudit() {
  const query = new URLSearchParams({ limit: "50" });
  for (const [name, id] of [["resource_type", "audit-type"], ["resource_id", "audit-id"], ["actor", "audit-actor"]]) {
    const value = $(id).value.trim();
    if (value) query.set(name, value);
  }
  renderAudit(await api("/api/audit?" + query.toString()));
}

// --- loading, auth and refresh ----------------------------------------------------------------------

function showError(error) {
  if (error instanceof AuthError) { askForToken(error.message); return; }
  const banner = $("banner");
  banner.textContent = "Could not refresh: " + error.message;
  banner.hidden = false;
}

async function refresh() {
  const [edges, campaigns, experiments] = await Promise.all([api("/api/edges"), api("/api/campaigns"), api("/api/experiments")]);
  $("banner").hidden = true;
  renderEdges(edges);
  renderCampaigns(campaigns);
  renderExperiments(experiments);
  await Promise.all([loadSeries(), loadAudit(), loadDelivery(), loadExports(), loadForecast()]);
  $("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB") + " · every " + REFRESH_MS / 1000 + " s";
  document.body.dataset.loaded = "1";
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => refresh().catch(showError).finally(schedule), REFRESH_MS);
}

function askForToken(message) {
  clearTimeout(timer);
  $("main").hidden = true;
  $("logout").hidden = true;
  $("refresh").hidden = true;
  $("updated").textContent = "signed out: sign in with an operator token";
  $("login").hidden = false;
  $("login-error").textContent = sessionStorage.getItem(TOKEN_KEY) ? message : "";
  $("token").focus();
}

async function open() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("logout").hidden = !authRequired;
  $("refresh").hidden = false;
  $("updated").textContent = "loading…";
  await refresh();
  schedule();
}

async function start() {
  const config = await (await fetch("/config.json", { cache: "no-store" })).json();
  authRequired = config.auth_required;
  if (authRequired && !sessionStorage.getItem(TOKEN_KEY)) { askForToken(""); return; }
  await open();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  open().catch(showError);
});
$("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); askForToken(""); });
$("refresh").addEventListener("click", () => refresh().catch(showError));
$("campaign").addEventListener("change", (event) => selectCampaign(event.target.value));
$("audit-filter").addEventListener("submit", (event) => { event.preventDefault(); loadAudit().catch(showError); });
window.addEventListener("resize", () => { if (lastSeries) drawChart(lastSeries); });

start().catch(showError);
