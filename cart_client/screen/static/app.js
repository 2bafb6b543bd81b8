// The cart's screen. Draws the state the cart pushes over the WebSocket and reports three things back:
// ads it put on screen (renders: ad plays), taps on ads, and ads that were at least 50% visible for
// one continuous second (IntersectionObserver).
"use strict";

const VIEWABLE_RATIO = 0.5;
const VIEWABLE_MS = 1000;

let socket = null;
const outbox = [];             // messages waiting for the socket to (re)open
const reportedViews = new Set();
const reportedRenders = new Set();
const viewTimers = new Map();  // ad id -> {started, handle}
const visibleNow = new Set();  // ad ids currently >= 50% in view

function send(message) {
  const text = JSON.stringify(message);
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(text); else outbox.push(text);
}

function startViewTimer(adId) {
  if (reportedViews.has(adId) || viewTimers.has(adId) || document.hidden) return;
  const started = performance.now();
  const handle = setTimeout(() => {
    viewTimers.delete(adId);
    reportedViews.add(adId);
    send({ type: "viewable", ad_id: adId, visible_ms: Math.round(performance.now() - started) });
  }, VIEWABLE_MS);
  viewTimers.set(adId, { started, handle });
}

function stopViewTimer(adId) {
  const timer = viewTimers.get(adId);
  if (timer) { clearTimeout(timer.handle); viewTimers.delete(adId); }
}

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const adId = entry.target.dataset.adId;
    if (!adId || entry.target.dataset.house === "1") continue;
    if (entry.isIntersecting && entry.intersectionRatio >= VIEWABLE_RATIO) {
      visibleNow.add(adId); startViewTimer(adId);
    } else {
      visibleNow.delete(adId); stopViewTimer(adId);
    }
  }
}, { threshold: [0, 0.25, VIEWABLE_RATIO, 0.75, 1] });

// A screen that is switched off or covered shows nothing: continuous means continuous.
document.addEventListener("visibilitychange", () => {
  if (document.hidden) { for (const adId of [...viewTimers.keys()]) stopViewTimer(adId); }
  else { for (const adId of visibleNow) startViewTimer(adId); }
});

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== "") node.textContent = text;
  return node;
}

function initials(text) {
  return (text || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function renderAd(ad) {
  const card = el("button", `ad ${ad.format}${ad.house ? " house" : ""}`);
  card.type = "button";
  card.dataset.adId = ad.ad_id;
  card.dataset.house = ad.house ? "1" : "0";
  card.appendChild(el("span", "tag", ad.house ? "From the store" : "Sponsored"));
  if (ad.format === "sponsored_product" || ad.format === "unspecified") {
    const grid = el("div", "product");
    const thumb = el("div", "thumb");
    if (ad.image_url) { const img = el("img"); img.src = ad.image_url; img.alt = ""; thumb.appendChild(img); }
    else thumb.textContent = initials(ad.headline);
    grid.appendChild(thumb);
    const body = el("div");
    body.appendChild(el("h3", "", ad.headline));
    body.appendChild(el("p", "", ad.body));
    const meta = el("div", "meta");
    if (ad.price_text) meta.appendChild(el("span", "big-price", ad.price_text));
    if (ad.location_hint) meta.appendChild(el("span", "pill where-pill", ad.location_hint));
    body.appendChild(meta);
    if (ad.call_to_action) body.appendChild(el("span", "cta", ad.call_to_action));
    grid.appendChild(body);
    card.appendChild(grid);
  } else if (ad.format === "coupon") {
    if (ad.image_url) { const img = el("img", "coupon-image"); img.src = ad.image_url; img.alt = ""; card.appendChild(img); }
    card.appendChild(el("h3", "", ad.headline));
    if (ad.offer_text) card.appendChild(el("div", "offer", ad.offer_text));
    card.appendChild(el("p", "", ad.body));
    if (ad.coupon_code) { const p = el("p"); p.append("Code "); p.appendChild(el("span", "code", ad.coupon_code)); card.appendChild(p); }
    // Where the product is and what to do: the edge sends both for a coupon as for a product card.
    const meta = el("div", "meta");
    if (ad.price_text) meta.appendChild(el("span", "big-price", ad.price_text));
    if (ad.location_hint) meta.appendChild(el("span", "pill where-pill", ad.location_hint));
    if (meta.childElementCount) card.appendChild(meta);
    if (ad.call_to_action) card.appendChild(el("span", "cta", ad.call_to_action));
  } else if (ad.format === "recipe") {
    card.appendChild(el("h3", "", ad.headline));
    if (ad.recipe_items && ad.recipe_items.length) {
      // Each product of the recipe with where to find it in this store.
      if (ad.body) card.appendChild(el("p", "", ad.body));
      const ul = el("ul", "recipe-items");
      for (const item of ad.recipe_items) {
        const li = el("li", "", item.name);
        if (item.location_hint) li.appendChild(el("span", "pill where-pill", item.location_hint));
        if (item.price_text) li.appendChild(el("span", "item-price", item.price_text));
        ul.appendChild(li);
      }
      card.appendChild(ul);
    } else {
      const items = (ad.body || "").split(/\s*[·,\n]\s*/).filter(Boolean);
      if (items.length > 1) { const ul = el("ul"); for (const item of items) ul.appendChild(el("li", "", item)); card.appendChild(ul); }
      else card.appendChild(el("p", "", ad.body));
    }
    if (ad.call_to_action) card.appendChild(el("span", "cta", ad.call_to_action));
  } else {
    if (ad.image_url) { const img = el("img", "banner-image"); img.src = ad.image_url; img.alt = ad.headline || ""; card.appendChild(img); }
    card.appendChild(el("h3", "", ad.headline));
    card.appendChild(el("p", "", ad.body));
    if (ad.location_hint) card.appendChild(el("span", "pill where-pill", ad.location_hint));
    if (ad.call_to_action) card.appendChild(el("span", "cta", ad.call_to_action));
  }
  card.addEventListener("click", () => {
    if (!ad.house) send({ type: "tap", ad_id: ad.ad_id });
    toast(ad.location_hint ? `Find it in ${ad.location_hint}` : ad.coupon_code ? `Coupon ${ad.coupon_code} saved` : ad.headline);
  });
  return card;
}

function renderSlots(slots) {
  const container = document.getElementById("slots");
  for (const slot of slots) {
    let holder = document.getElementById(`slot-${CSS.escape(slot.slot_id)}`);
    if (!holder) {
      holder = el("div", "slot"); holder.id = `slot-${slot.slot_id}`; holder.dataset.slotId = slot.slot_id;
      container.appendChild(holder);
    }
    const current = holder.firstElementChild;
    const wanted = slot.ad ? slot.ad.ad_id : "";
    if (current && current.dataset.adId === wanted) continue;  // same ad: keep its viewability clock
    if (current) { observer.unobserve(current); stopViewTimer(current.dataset.adId); visibleNow.delete(current.dataset.adId); current.remove(); }
    if (slot.ad) {
      const card = renderAd(slot.ad); holder.appendChild(card); observer.observe(card);
      // The play: the ad is in the page now (once per decision; the cart ignores repeats and house content).
      if (!slot.ad.house && !reportedRenders.has(slot.ad.ad_id)) { reportedRenders.add(slot.ad.ad_id); send({ type: "render", ad_id: slot.ad.ad_id }); }
    }
  }
}

function renderBasket(state) {
  const list = document.getElementById("basket-lines");
  list.replaceChildren(...state.basket.map((line) => {
    const li = el("li");
    li.dataset.productId = line.product_id;
    li.appendChild(el("span", "qty", `${line.quantity}×`));
    const name = el("span", "name", line.name);
    if (line.aisle) name.appendChild(el("small", "", line.unit_price_text ? `${line.unit_price_text} each · ${line.aisle}` : line.aisle));
    li.appendChild(name);
    li.appendChild(el("span", "price", line.line_total_text));
    return li;
  }));
  document.getElementById("empty-basket").hidden = state.basket.length > 0;
  document.getElementById("item-count").textContent = `${state.item_count} item${state.item_count === 1 ? "" : "s"}`;
  document.getElementById("total").textContent = state.total_text;
  document.getElementById("warnings").replaceChildren(...state.mismatches.map((m) => {
    const w = el("div", "warning", m.text); w.dataset.kind = m.kind; return w;
  }));
}

function render(state) {
  document.getElementById("store-name").textContent = state.store_name || "Smart cart";
  document.getElementById("zone").textContent = state.zone_name ? `You are in ${state.zone_name}` : "Welcome";
  const status = document.getElementById("edge-status");
  status.dataset.state = state.edge_reachable ? "online" : "offline";
  document.getElementById("edge-text").textContent = state.edge_reachable ? "Connected" : "Offline — your basket is safe";
  renderBasket(state);
  renderSlots(state.slots);
  document.getElementById("thanks").hidden = !state.checked_out;
}

let toastTimer = null;
function toast(text) {
  const node = document.getElementById("toast");
  node.textContent = text; node.hidden = false;
  clearTimeout(toastTimer); toastTimer = setTimeout(() => { node.hidden = true; }, 2500);
}

function connect() {
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket.addEventListener("open", () => { while (outbox.length) socket.send(outbox.shift()); });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "state") render(message);
  });
  socket.addEventListener("close", () => setTimeout(connect, 1000));
}

connect();
