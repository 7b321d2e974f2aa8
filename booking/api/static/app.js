// The web chat page: plain ES module, no framework, no build step.
//
// It speaks the server's UI message stream (docs/api.md): POST /v1/chat streams SSE events
// (`id: <n>` + `data: <JSON part>`, `: ping` comments, `data: [DONE]` last). The page keeps the
// conversation as UI messages ({id, role, parts, metadata}, the shape GET /v1/conversations/{id}
// returns), applies every streamed part to them and re-renders only the part that changed.
// Data reaches the DOM through textContent / createTextNode; the assistant's markdown only through
// markdown.js (marked, then DOMPurify), never innerHTML.

import { renderMarkdown } from "./markdown.js";

// ---------------------------------------------------------------------------------------------
// Strings and formats
//
// Every word the page shows comes from the server's message catalogue (GET /i18n/{lang}.json, the
// same catalogue the server words its summaries from; the page's keys start with "page."). Money,
// dates and times go through Intl with the CLDR patterns the server's formatter (babel) uses:
// vi "1.008.000 ₫", "Thứ Hai, 15/6"; en "₫1,008,000", "Mon 15 Jun"; 24-hour "07:30" in both.

const LANGS = ["vi", "en"];
const catalogues = {}; // lang -> {key: text}

let lang = localStorage.getItem("booking.lang");
if (!LANGS.includes(lang)) lang = (navigator.language || "").toLowerCase().startsWith("vi") ? "vi" : "en";
// The language being rendered: a message is drawn in its conversation's language (see msgLang).
let cur = lang;
// Developer details (model, first token, tokens, cost) under each answer: off unless switched on.
let showDetails = localStorage.getItem("booking.details") === "1";

async function loadCatalogues() {
  await Promise.all(LANGS.map(async (l) => {
    const resp = await fetch(`/i18n/${l}.json`);
    if (!resp.ok) throw new Error(`GET /i18n/${l}.json: HTTP ${resp.status}`);
    catalogues[l] = await resp.json();
  }));
}

/** The catalogue's text for `key` (flat "page.key", or nested {page: {key}}). */
function lookup(l, key) {
  const c = catalogues[l];
  if (!c) return undefined;
  const full = `page.${key}`;
  if (typeof c[full] === "string") return c[full];
  let node = c;
  for (const k of ["page", ...key.split(".")]) node = node && typeof node === "object" ? node[k] : undefined;
  return typeof node === "string" ? node : undefined;
}

/** The string `key` in the language being rendered, with {0}, {1}… filled in. */
function t(key, ...args) {
  const s = lookup(cur, key) ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}
const has = (key) => lookup(cur, key) !== undefined;

/** Run `fn` with `l` as the rendering language. */
function inLang(l, fn) {
  const saved = cur;
  cur = LANGS.includes(l) ? l : lang;
  try { return fn(); } finally { cur = saved; }
}

const LOCALE = { vi: "vi-VN", en: "en-GB" };
const fmtCache = new Map();
function fmt(kind, options) {
  const key = `${cur}|${kind}`;
  if (!fmtCache.has(key)) {
    fmtCache.set(key, kind.startsWith("n:") ? new Intl.NumberFormat(LOCALE[cur], options)
      : new Intl.DateTimeFormat(LOCALE[cur], { timeZone: "UTC", ...options }));
  }
  return fmtCache.get(key);
}
/** Money in đồng: vi "1.008.000 ₫", en "₫1,008,000". */
const vnd = (n) => fmt("n:vnd", { style: "currency", currency: "VND", maximumFractionDigits: 0 }).format(Math.round(Number(n) || 0));
const usd = (n) => fmt("n:usd", { style: "currency", currency: "USD", maximumFractionDigits: 4 }).format(Number(n) || 0);
const num = (n) => fmt("n:int", {}).format(Number(n) || 0);
// ISO times carry the airport's offset: read the wall clock from the string, not the browser's zone.
const hhmm = (iso) => (typeof iso === "string" ? iso.slice(11, 16) : "");
/** The calendar day of an ISO date/time (its own, not the browser's): "Thứ Hai, 15/6" / "Mon 15 Jun". */
function day(iso) {
  const m = typeof iso === "string" && /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return "";
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const s = (cur === "vi" ? fmt("d:vi", { weekday: "long", day: "numeric", month: "numeric" })
    : fmt("d:en", { weekday: "short", day: "numeric", month: "short" })).format(date);
  return s.charAt(0).toUpperCase() + s.slice(1);
}
const duration = (min) => `${Math.floor(min / 60)}h${String(min % 60).padStart(2, "0")}`;
const cabin = (c) => (c && has(`cabin.${c}`) ? t(`cabin.${c}`) : c || "");
const city = (p) => (p ? (cur === "en" && p.city_en) || p.city || p.query || "" : "");

// ---------------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

/** Create an element; `children` are nodes or strings (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A random id of [A-Za-z0-9_-] (crypto.getRandomValues also works outside secure contexts). */
function randomId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

// ---------------------------------------------------------------------------------------------
// State

const state = {
  convId: localStorage.getItem("booking.conversation"),
  lastEventId: 0, // the last SSE `id:` seen in this conversation (resume cursor)
  messages: [], // UI messages: {id, role, parts, metadata}
  current: null, // the assistant message receiving streamed parts
  busy: false,
  controller: null, // aborts the current stream read (new conversation)
  lastUserText: "",
};
const partEls = new WeakMap(); // part -> its element
const msgEls = new WeakMap(); // message -> {root, body, foot}

const log = $("log");
const input = $("input");

/** The line under the conversation: errors (default) or a passing note ("info"). */
function setStatus(text, kind = "error") {
  $("status").textContent = text || "";
  $("status").className = `status ${kind}`;
}

function setBusy(busy) {
  state.busy = busy;
  $("send").disabled = busy;
  $("stop").hidden = !busy;
}

/** Keep the newest message in view unless the reader scrolled up. */
function follow(update) {
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  update();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** The language a message is drawn in: its conversation's (metadata.language, set by the server
 * from what the traveller wrote) or, until the server says, the page's. */
function msgLang(msg) {
  const l = msg && msg.metadata && msg.metadata.language;
  return LANGS.includes(l) ? l : lang;
}

function renderAll() {
  $("empty").hidden = state.messages.length > 0;
  cardsByRef.clear();
  log.replaceChildren($("empty"), ...state.messages.map(renderMessage));
  log.scrollTop = log.scrollHeight;
}

function renderMessage(msg) {
  return inLang(msgLang(msg), () => {
    const body = h("div", { class: "body" });
    const foot = h("div", { class: "foot" });
    const root = h("article", { class: `msg ${msg.role}`, "data-message-id": msg.id || "", lang: cur },
      h("h3", { class: "sr-only" }, t(msg.role === "user" ? "you" : "assistant")), body, foot);
    msgEls.set(msg, { root, body, foot });
    for (const part of msg.parts) {
      const el = renderPart(msg, part);
      if (el) body.append(el);
    }
    renderFoot(msg);
    return root;
  });
}

function addMessage(msg) {
  state.messages.push(msg);
  $("empty").hidden = true;
  follow(() => log.append(renderMessage(msg)));
  return msg;
}

/** Re-render one part in place (or append it if it has no element yet). */
function updatePart(msg, part) {
  const els = msgEls.get(msg);
  if (!els) return;
  follow(() => inLang(msgLang(msg), () => {
    const old = partEls.get(part);
    const el = renderPart(msg, part);
    if (old && el) old.replaceWith(el);
    else if (old) old.remove();
    else if (el) els.body.append(el);
  }));
}

function renderPart(msg, part) {
  let el = null;
  if (part.type === "text" && msg.role === "user") {
    el = h("div", { class: "text plain" }, part.text || ""); // what the traveller typed, as typed
  } else if (part.type === "text") {
    el = h("div", { class: "text md" });
    el.append(renderMarkdown(part.text || ""));
  } else if (part.type === "data-booking") {
    el = bookingPartView(msg, part);
  } else if (part.type.startsWith("tool-")) {
    el = renderTool(msg, part);
  }
  if (el) partEls.set(part, el); else partEls.delete(part);
  return el;
}

// Text arrives in deltas. Markdown is re-rendered from the whole text at most once a frame (a
// "**" may only close later); the message is aria-busy meanwhile, so the live log announces the
// answer once it is complete rather than every re-render.
const pendingText = new Set();
function scheduleText(msg, part) {
  if (!pendingText.size) requestAnimationFrame(flushTexts);
  pendingText.add([msg, part]);
}
function flushTexts() {
  const jobs = [...pendingText];
  pendingText.clear();
  const seen = new Set();
  for (const [msg, part] of jobs) {
    if (seen.has(part)) continue;
    seen.add(part);
    const el = partEls.get(part);
    if (el) follow(() => el.replaceChildren(renderMarkdown(part.text || "")));
  }
}
function setBusyMessage(msg, busy) {
  const els = msgEls.get(msg);
  if (els) els.root.setAttribute("aria-busy", String(busy));
}

function renderTool(msg, part) {
  const name = part.type.slice(5);
  const kind = {
    "output-available": "result", "output-error": "failed",
    "approval-requested": "approval", "approval-responded": "approval", "output-denied": "approval",
  }[part.state] || "running"; // input-streaming / input-available: being prepared, or running
  if (kind === "result" && part.output && part.output.booking) {
    return bookingCard(msg, part, part.output.booking, name);
  }
  return h("section", { class: `card tool tool-${name} ${kind}`, "data-state": part.state, "data-tool": name },
    kind === "result" ? resultView(name, part.output || {})
      : kind === "failed" ? errorLine(t("toolFailed", part.errorText || ""))
        : kind === "approval" ? approvalView(msg, part)
          : runningView(name, part));
}

function runningView(name, part) {
  const label = part.approval && part.approval.approved ? t("working")
    : has(`run.${name}`) ? t(`run.${name}`) : t("run.other");
  const query = querySummary(name, part.input);
  return [
    h("p", { class: "running-line" }, h("span", { class: "spinner", "aria-hidden": "true" }), label),
    query ? h("p", { class: "query muted" }, query) : null,
  ];
}

function resultView(name, out) {
  if (out.error) return errorLine(t("toolFailed", out.error.message || out.error.code));
  if (name === "search_flights") return flightsView(out);
  if (name === "get_weather") return weatherView(out);
  return h("pre", { class: "raw" }, JSON.stringify(out, null, 2));
}

const pax = (n) => (n === 1 ? t("paxOne") : t("pax", n));

function querySummary(name, args) {
  if (!args || typeof args !== "object") return "";
  if (name === "search_flights") {
    const route = `${args.from_city ?? ""} → ${args.to_city ?? ""}`;
    return [route, day(args.date), args.passengers ? pax(args.passengers) : "", cabin(args.cabin)]
      .filter(Boolean).join(" · ");
  }
  if (name === "get_weather") return [args.city, day(args.date)].filter(Boolean).join(" · ");
  if (args.reference) return args.reference;
  if (args.flight_number) return args.flight_number;
  return "";
}

function errorLine(text) {
  return h("p", { class: "error-text" }, h("span", { "aria-hidden": "true" }, "⚠ "), text);
}

function flightsView(out) {
  const q = out.query || {};
  const flights = Array.isArray(out.flights) ? out.flights : [];
  const caption = t("flightsCaption", city(q.from), city(q.to), day(q.date), pax(q.passengers ?? 1), cabin(q.cabin));
  if (!flights.length) {
    const nodes = [h("h4", {}, caption), h("p", {}, out.message || t("noFlights"))];
    if (out.nearest_dates && out.nearest_dates.length) {
      nodes.push(h("p", {}, t("nearest", out.nearest_dates.map(day).join(", "))));
    }
    return nodes;
  }
  const head = ["airline", "flight", "time", "duration", "price", "seats"].map((k) => h("th", { scope: "col" }, t(k)));
  const rows = flights.map((f) => h("tr", {},
    // On a phone the airline's code stands in for its name (which screen readers still read).
    h("td", {}, h("span", { class: "airline-name" }, f.airline_name || f.airline_code || ""),
      h("span", { class: "airline-code", "aria-hidden": "true" }, f.airline_code || "")),
    h("th", { scope: "row" }, f.flight_number || ""),
    h("td", { class: "times nowrap" }, `${hhmm(f.departs_at)}–${hhmm(f.arrives_at)}`),
    h("td", {}, f.duration_minutes ? duration(f.duration_minutes) : ""),
    h("td", { class: "num nowrap" }, vnd(f.total_vnd ?? f.price_vnd)),
    h("td", { class: "num" }, String(f.seats_left ?? ""))));
  const table = h("table", { class: "flights" },
    h("caption", {}, caption), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
  // A narrow screen scrolls the table sideways; the wrapper is focusable so keyboards can too.
  const nodes = [h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption }, table)];
  // The card is the list: it says how many it shows only when that is not all of them, with the
  // same total the answer's text uses (the tool result's total_matches).
  const total = Number(out.total_matches ?? flights.length);
  if (total > flights.length) nodes.push(h("p", { class: "muted shown" }, t("shown", flights.length, total)));
  return nodes;
}

function weatherView(w) {
  const temp = `${Math.round(w.temp_min_c)}–${Math.round(w.temp_max_c)} °C`;
  return [
    h("h4", {}, t("weatherTitle", city(w.place), day(w.day))),
    h("p", { class: "weather-main" }, h("span", { class: "temp" }, temp), " ", cur === "vi" ? w.condition_vi : w.condition_en),
    h("p", { class: "muted" },
      [t("rain", w.precip_prob_pct), t("humidity", w.humidity_pct), t("wind", Math.round(w.wind_kph))].join(" · ")),
    w.is_climate_normal ? h("p", { class: "muted" }, t("climate")) : null,
  ];
}

// Bookings --------------------------------------------------------------------------------------
//
// One booking, one state: every card of a reference draws the newest view of it (from a tool
// result or a `data-booking` part, whichever came last), so a hold card turns "confirmed",
// "cancelled" or "expired" in place. A held booking whose hold time has passed reads "expired"
// even before the server says so.

const bookings = new Map(); // reference -> newest booking view
const cardsByRef = new Map(); // reference -> Set of [msg, part] drawing it

/** Record a booking view; re-draw every card of its reference if it changed. */
function noteBooking(view, redraw = true) {
  if (!view || typeof view !== "object" || !view.reference) return;
  const old = bookings.get(view.reference);
  bookings.set(view.reference, old ? { ...old, ...view } : view);
  if (redraw) redrawBooking(view.reference);
}

function redrawBooking(ref) {
  for (const [msg, part] of [...(cardsByRef.get(ref) || [])]) updatePart(msg, part);
}

/** Every booking view in the conversation so far, in order (after a hydrate). */
function collectBookings() {
  bookings.clear();
  for (const msg of state.messages) {
    for (const part of msg.parts) {
      if (part.type === "data-booking") noteBooking(part.data, false);
      else if (part.output && part.output.booking) noteBooking(part.output.booking, false);
    }
  }
}

const holdOver = (b) => b.status === "held" && b.hold_expires_at && Date.parse(b.hold_expires_at) <= Date.now();
const statusOf = (b) => (holdOver(b) ? "expired" : b.status || "");

/** A `data-booking` part: a card, unless a tool card in the same message already shows it. */
function bookingPartView(msg, part) {
  const ref = part.data && part.data.reference;
  if (!ref) return null;
  const shown = msg.parts.some((p) => p !== part && p.output && p.output.booking && p.output.booking.reference === ref);
  if (shown) { track(ref, msg, part); return null; }
  return bookingCard(msg, part, part.data, "booking");
}

function track(ref, msg, part) {
  if (!cardsByRef.has(ref)) cardsByRef.set(ref, new Set());
  const set = cardsByRef.get(ref);
  for (const entry of set) if (entry[1] === part) return;
  set.add([msg, part]);
}

function bookingCard(msg, part, view, name) {
  const ref = view.reference;
  track(ref, msg, part);
  const b = bookings.get(ref) || view;
  return h("section", { class: `card tool booking tool-${name} result`, "data-state": "output-available",
    "data-tool": name, "data-reference": ref }, bookingView(b));
}

function bookingView(b) {
  const f = b.flight || {};
  const status = statusOf(b);
  const names = (b.passengers || []).map((p) => p.full_name).join(", ");
  return [
    h("div", { class: "booking-head" },
      h("div", {}, h("span", { class: "muted small" }, t("reference")), h("p", { class: "reference" }, b.reference || "")),
      h("span", { class: `badge status-${status}`, "data-status": status }, has(`status.${status}`) ? t(`status.${status}`) : status)),
    h("p", {}, h("strong", {}, f.flight_number || ""),
      ` · ${f.origin ?? ""} → ${f.destination ?? ""} · ${day(f.departs_at)}`,
      ` · ${hhmm(f.departs_at)}–${hhmm(f.arrives_at)} · ${cabin(b.cabin)}`),
    h("p", {}, `${t("passengers")}: ${names}`),
    h("p", {}, `${t("total")}: `, h("strong", { class: "nowrap" }, vnd(b.total_vnd))),
    status === "held" && b.hold_expires_at
      ? h("p", { class: "muted hold-until" }, t("holdUntil", `${hhmm(b.hold_expires_at)} ${day(b.hold_expires_at)}`))
      : status === "expired" && b.hold_expires_at
        ? h("p", { class: "muted hold-until" }, t("holdEnded", `${hhmm(b.hold_expires_at)} ${day(b.hold_expires_at)}`))
        : null,
  ];
}

// A hold runs out while the page is open: look every 5 s (cheap: a few dates compared).
setInterval(() => {
  for (const [ref, b] of bookings) {
    if (holdOver(b) && !b.shownExpired) { b.shownExpired = true; redrawBooking(ref); }
  }
}, 5_000);

function approvalView(msg, part) {
  const approval = part.approval || {};
  const d = approval.descriptor || {};
  const b = d.booking || d; // book/hold: the summary itself; confirm/cancel: {booking}
  const f = b.flight || {};
  const name = part.type.slice(5);
  const action = ["book", "hold", "confirm", "cancel"].includes(d.action) ? d.action
    : name === "book_flight" ? "book" : "other";
  const names = (b.passengers || []).map((p) => p.full_name).join(", ");
  const nodes = [h("h4", {}, t(`approve.${action}`))];
  if (f.flight_number) {
    const rows = [
      b.reference ? [t("reference"), b.reference] : null,
      [t("flight"), `${f.flight_number} · ${f.origin ?? ""} → ${f.destination ?? ""}`],
      [t("date"), day(f.departs_at)],
      [t("time"), `${hhmm(f.departs_at)}–${hhmm(f.arrives_at)}`],
      b.cabin ? [t("cabin"), cabin(b.cabin)] : null,
      [t("passengers"), names],
      [t("total"), vnd(b.total_vnd)],
    ].filter(Boolean);
    nodes.push(h("dl", { class: "summary" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  } else {
    // No structured summary: the server's words (in the conversation's language).
    nodes.push(h("p", {}, (cur === "vi" && d.text_vi) || d.text || approval.reason || ""));
  }
  if (part.state === "output-denied") {
    nodes.push(h("p", { class: "denied" }, t("declined")));
    return nodes;
  }
  // Only the newest message's request can still be decided; a later message superseded older ones.
  const live = part.state === "approval-requested" && state.messages[state.messages.length - 1] === msg;
  if (part.state === "approval-requested" && !live) {
    nodes.push(h("p", { class: "muted" }, t("superseded")));
    return nodes;
  }
  const decided = part.state === "approval-responded" || part.sending;
  const yes = action === "book" ? t("approve.bookButton") : t("approve");
  const buttons = h("div", { class: "actions" },
    h("button", { type: "button", class: "approve", disabled: decided, onclick: () => decide(msg, part, true) }, yes),
    h("button", { type: "button", class: "decline", disabled: decided, onclick: () => decide(msg, part, false) }, t("decline")));
  nodes.push(buttons);
  if (part.state === "approval-responded" && approval.approved) nodes.push(h("p", { class: "muted" }, t("approvedNote")));
  if (part.decisionError) nodes.push(errorLine(part.decisionError));
  return nodes;
}

/** The end of an assistant message: stopped / error / cut short notes, and (behind the
 * "Technical details" switch) the model, time to first token, tokens and cost. */
function renderFoot(msg) {
  const els = msgEls.get(msg);
  if (!els) return;
  inLang(msgLang(msg), () => {
    const m = msg.metadata || {};
    const nodes = [];
    if (m.aborted) nodes.push(h("p", { class: "note stopped" }, t("stopped")));
    if (m.errorText) {
      nodes.push(h("div", { class: "error-box" }, errorLine(m.errorText),
        h("p", {}, t("retryHint"), " ", h("button", { type: "button", class: "ghost small", onclick: retry }, t("retry")))));
    }
    if (m.finishReason === "length" || m.finishReason === "other") nodes.push(h("p", { class: "note" }, t("cutShort")));
    const u = m.usage || m;
    const model = (u.models && u.models.join(", ")) || m.model;
    if (showDetails && msg.role === "assistant" && model && (m.finishReason || m.aborted || m.errorText)) {
      const bits = [t("meta.model", model)];
      if (u.ttftMs !== null && u.ttftMs !== undefined) bits.push(t("meta.ttft", num(Math.round(u.ttftMs))));
      bits.push(t("meta.tokens", num(u.promptTokens), num(u.completionTokens)));
      if (typeof u.costUsd === "number") bits.push(t("meta.cost", usd(u.costUsd)));
      nodes.push(h("p", { class: "meta" }, bits.join(" · ")));
    }
    follow(() => els.foot.replaceChildren(...nodes));
  });
}

// ---------------------------------------------------------------------------------------------
// Applying stream parts to the messages (as the AI SDK's readUIMessageStream does)

function assistantMessage(id) {
  const found = id && state.messages.find((m) => m.role === "assistant" && m.id === id);
  return found || addMessage({ id: id || null, role: "assistant", parts: [], metadata: {} });
}

function toolPart(msg, chunk) {
  let part = msg.parts.find((p) => p.toolCallId === chunk.toolCallId);
  if (!part) {
    part = { type: `tool-${chunk.toolName || "unknown"}`, toolCallId: chunk.toolCallId, state: "input-streaming" };
    msg.parts.push(part);
  }
  return part;
}

function apply(chunk) {
  const type = chunk.type;
  if (type === "start") {
    // An approval's continuation starts with the same messageId: it goes on in the same bubble.
    state.current = assistantMessage(chunk.messageId);
    const m = state.current.metadata;
    delete m.finishReason; delete m.aborted; delete m.errorText;
    if (chunk.messageMetadata) Object.assign(m, chunk.messageMetadata);
    setBusyMessage(state.current, true);
    renderFoot(state.current);
    return;
  }
  const msg = state.current || (state.current = assistantMessage(null));
  msg.texts = msg.texts || new Map();
  if (type === "text-start") {
    const part = { type: "text", text: "", state: "streaming" };
    msg.texts.set(chunk.id, part);
    msg.parts.push(part);
    updatePart(msg, part);
  } else if (type === "text-delta") {
    let part = msg.texts.get(chunk.id);
    if (!part) {
      // Resuming into a hydrated message whose text was still streaming: continue that text.
      const last = msg.parts[msg.parts.length - 1];
      part = last && last.type === "text" && last.state === "streaming" ? last : { type: "text", text: "", state: "streaming" };
      if (part !== last) { msg.parts.push(part); updatePart(msg, part); }
      msg.texts.set(chunk.id, part);
    }
    part.text += chunk.delta || "";
    scheduleText(msg, part);
  } else if (type === "text-end") {
    const part = msg.texts.get(chunk.id);
    if (part) { part.state = "done"; scheduleText(msg, part); }
  } else if (type === "tool-input-start") {
    updatePart(msg, toolPart(msg, chunk));
  } else if (type === "tool-input-available" || type === "tool-input-error" || type === "tool-output-available" ||
             type === "tool-output-error" || type === "tool-approval-request" || type === "tool-output-denied") {
    const part = toolPart(msg, chunk);
    if ("input" in chunk) part.input = chunk.input;
    if (type === "tool-input-available") part.state = "input-available";
    else if (type === "tool-output-available") { part.state = "output-available"; part.output = chunk.output; }
    else if (type === "tool-output-denied") part.state = "output-denied";
    else if (type === "tool-approval-request") {
      part.state = "approval-requested";
      part.approval = { id: chunk.approvalId, descriptor: chunk.approvalDescriptor, reason: chunk.reason };
    } else { part.state = "output-error"; part.errorText = chunk.errorText; }
    if (part.output && part.output.booking) noteBooking(part.output.booking, false);
    updatePart(msg, part);
    if (part.output && part.output.booking) redrawBooking(part.output.booking.reference);
  } else if (type === "data-booking") {
    // Data parts with the same id replace each other (as in the AI SDK); the booking's other
    // cards, in earlier messages too, follow its newest state.
    let part = chunk.id ? msg.parts.find((p) => p.type === "data-booking" && p.id === chunk.id) : null;
    if (part) part.data = chunk.data;
    else { part = { type: "data-booking", id: chunk.id, data: chunk.data }; msg.parts.push(part); }
    noteBooking(chunk.data, false);
    updatePart(msg, part);
    if (chunk.data && chunk.data.reference) redrawBooking(chunk.data.reference);
  } else if (type === "message-metadata") {
    const before = msgLang(msg);
    Object.assign(msg.metadata, chunk.messageMetadata || {});
    if (msgLang(msg) !== before) { const els = msgEls.get(msg); if (els) els.root.replaceWith(renderMessage(msg)); }
  } else if (type === "finish") {
    if (chunk.messageMetadata) Object.assign(msg.metadata, chunk.messageMetadata);
    msg.metadata.finishReason = chunk.finishReason || "stop";
    setBusyMessage(msg, false);
    renderFoot(msg);
  } else if (type === "error") {
    msg.metadata.errorText = chunk.errorText || "";
    setBusyMessage(msg, false);
    renderFoot(msg);
  } else if (type === "abort") {
    msg.metadata.aborted = true;
    setBusyMessage(msg, false);
    renderFoot(msg);
  }
  // start-step, finish-step, reasoning-*, tool-input-delta, other data-*: nothing to show.
}

// ---------------------------------------------------------------------------------------------
// HTTP

function headers(extra = {}) {
  const key = sessionStorage.getItem("booking.key");
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

/** fetch with the key; `body` is sent as JSON. */
function api(method, path, { body, accept, lastEventId, signal } = {}) {
  const extra = {};
  if (body !== undefined) extra["Content-Type"] = "application/json";
  if (accept) extra.Accept = accept;
  if (lastEventId !== undefined) extra["Last-Event-ID"] = String(lastEventId);
  return fetch(path, { method, headers: headers(extra), body: body === undefined ? undefined : JSON.stringify(body), signal });
}

/** A failed response (application/problem+json) as {code, text}: the text in plain words. */
async function problemOf(resp) {
  let p = {};
  try { p = await resp.json(); } catch { /* not JSON */ }
  const wait = resp.headers.get("Retry-After") || p.retry_after || "…";
  const text = describe(resp.status, p, wait);
  if (resp.status === 401) showKeyPanel(t("keyNeeded"));
  return { code: p.code || String(resp.status), text };
}

const problemText = async (resp) => (await problemOf(resp)).text;

function describe(status, p, wait) {
  if (status === 401) return t("errUnauthorized");
  const known = {
    turn_running: t("errTurnRunning"),
    rate_limited: t("errRateLimited", wait),
    server_busy: t("errBusy", wait),
    shutting_down: t("errUnavailable"),
    approval_decided: t("errDecided"),
    approval_expired: t("errExpired"),
    approval_not_found: t("errApprovalNotFound"),
    message_too_long: t("errTooLong"),
  };
  if (known[p.code]) return known[p.code];
  if (status === 429) return t("errRateLimited", wait);
  if (status === 503) return t("errUnavailable");
  return t("errOther", p.detail || `HTTP ${status}`);
}

/** After `[DONE]` the server ends the body: read it to its end rather than cancelling the read
 * (a cancelled fetch shows as net::ERR_ABORTED in the browser's log); give up after 5 s. */
async function drain(reader) {
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 5000);
  try {
    while (!(await reader.read()).done) { /* nothing follows [DONE] */ }
  } catch { /* cancelled by the timer, or the connection went: nothing was left to read */ }
  clearTimeout(timer);
}

/** Read one SSE response, applying each part; true once `data: [DONE]` arrived. */
async function readStream(resp) {
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let id = null;
  let data = [];
  const dispatch = () => {
    const text = data.join("\n");
    const seq = id === null ? null : Number(id);
    id = null; data = [];
    if (text === "[DONE]") return true;
    if (!text) return false;
    // Ids only grow within a conversation: anything not newer was already applied.
    if (seq !== null && seq <= state.lastEventId) return false;
    apply(JSON.parse(text));
    if (seq !== null) state.lastEventId = seq;
    return false;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false; // ended without [DONE]: the caller resumes
    buf += value;
    // A trailing "\r" may be half of "\r\n": keep it until the next chunk.
    const keepCR = buf.endsWith("\r");
    const lines = (keepCR ? buf.slice(0, -1) : buf).split(/\r\n|\r|\n/);
    buf = lines.pop() + (keepCR ? "\r" : "");
    for (const line of lines) {
      if (line === "") { if (dispatch()) { await drain(reader); return true; } continue; }
      if (line.startsWith(":")) continue; // heartbeat comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value2 = colon < 0 ? "" : line.slice(colon + 1);
      if (value2.startsWith(" ")) value2 = value2.slice(1);
      if (field === "data") data.push(value2);
      else if (field === "id") id = value2;
    }
  }
}

/** Render a streamed reply to its end. If the connection drops (or ends) before `[DONE]`, resume
 * with GET /events and `Last-Event-ID`: the server replays exactly the parts after it, then
 * follows the running reply. Retries back off: 0.5 s, 1 s, 2 s, … up to 8 s, six times. */
async function consume(resp) {
  const controller = state.controller;
  const stopped = () => controller.signal.aborted; // a new conversation took over
  let failures = 0;
  setBusy(true);
  try {
    for (;;) {
      if (resp) {
        const before = state.lastEventId;
        try {
          if (await readStream(resp)) break;
        } catch (err) {
          if (stopped()) return;
          if (err instanceof SyntaxError) { setStatus(t("errOther", err.message)); return; }
          // Otherwise a network error: resume below.
        }
        if (stopped()) return;
        if (state.lastEventId > before) failures = 0; // it made progress: back off from the start
      }
      if (failures >= 6) { setStatus(t("lostStream")); return; }
      setStatus(t("reconnecting"), "info");
      await sleep(Math.min(8000, 500 * 2 ** failures++));
      if (stopped()) return;
      resp = null;
      try {
        const r = await api("GET", `/v1/conversations/${encodeURIComponent(state.convId)}/events`,
          { accept: "text/event-stream", lastEventId: state.lastEventId, signal: controller.signal });
        if (r.ok) resp = r;
        else if (r.status === 401 || r.status === 404) { setStatus(await problemText(r)); return; }
      } catch { /* still offline: try again */ }
    }
    setStatus("");
  } finally {
    if (state.controller === controller) setBusy(false);
  }
}

// ---------------------------------------------------------------------------------------------
// Actions

function newController() {
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  return state.controller;
}

async function send(text) {
  if (state.busy || !text.trim()) return;
  if (!state.convId) startConversation();
  state.lastUserText = text;
  const userMsg = { id: randomId("u-"), role: "user", parts: [{ type: "text", text }], metadata: {} };
  const previous = state.messages[state.messages.length - 1];
  addMessage(userMsg);
  log.scrollTop = log.scrollHeight; // a new message always brings the reader to the end
  if (previous) { msgEls.get(previous).root.replaceWith(renderMessage(previous)); } // supersede its approvals
  input.value = "";
  setStatus("");
  state.current = null;
  const controller = newController();
  setBusy(true);
  let resp;
  try {
    resp = await api("POST", "/v1/chat", {
      body: { id: state.convId, messages: [{ id: userMsg.id, role: "user", parts: userMsg.parts }], trigger: "submit-message" },
      accept: "text/event-stream",
      signal: controller.signal,
    });
  } catch (err) {
    if (!controller.signal.aborted) failSend(userMsg, text, t("errNetwork"));
    return;
  }
  if (!resp.ok) { failSend(userMsg, text, await problemText(resp)); return; }
  await consume(resp);
}

/** The message was not taken: take its bubble back and give the text back to the composer. */
function failSend(userMsg, text, why) {
  state.messages = state.messages.filter((m) => m !== userMsg);
  msgEls.get(userMsg).root.remove();
  const previous = state.messages[state.messages.length - 1];
  if (previous) msgEls.get(previous).root.replaceWith(renderMessage(previous)); // its approvals are live again
  $("empty").hidden = state.messages.length > 0;
  if (!input.value) input.value = text;
  setStatus(why);
  setBusy(false);
  input.focus();
}

function retry() {
  if (state.lastUserText && !state.busy) send(state.lastUserText);
  else input.focus();
}

async function decide(msg, part, approved) {
  if (part.sending || state.busy) return;
  part.sending = true;
  part.decisionError = null;
  part.approval.approved = approved;
  updatePart(msg, part);
  state.current = msg;
  const controller = newController();
  setBusy(true);
  let resp;
  try {
    resp = await api("POST", `/v1/conversations/${state.convId}/approvals/${encodeURIComponent(part.approval.id)}`,
      { body: { approved }, accept: "text/event-stream", signal: controller.signal });
  } catch {
    part.sending = false;
    part.decisionError = t("errNetwork");
    updatePart(msg, part);
    setBusy(false);
    return;
  }
  part.sending = false;
  if (!resp.ok) {
    const problem = await problemOf(resp);
    part.decisionError = problem.text;
    // A reply still being stored, or a network hiccup, can be decided again; anything else is final.
    if (!["turn_running", "rate_limited", "server_busy", "shutting_down", "unauthorized"].includes(problem.code)) {
      part.state = "approval-responded";
    }
    updatePart(msg, part);
    setBusy(false);
    return;
  }
  part.state = "approval-responded";
  updatePart(msg, part);
  if (resp.status === 202) { setBusy(false); return; } // other requests of this reply still wait
  await consume(resp);
}

async function stop() {
  $("stop").disabled = true;
  try {
    const resp = await api("POST", `/v1/conversations/${encodeURIComponent(state.convId)}/stop`);
    if (!resp.ok) setStatus(await problemText(resp));
  } catch {
    setStatus(t("errNetwork"));
  } finally {
    $("stop").disabled = false;
  }
}

function startConversation() {
  state.convId = randomId("web-");
  localStorage.setItem("booking.conversation", state.convId);
  state.lastEventId = 0;
  state.messages = [];
  state.current = null;
  bookings.clear();
}

/** Load the stored conversation (a 404 starts fresh) and follow a reply still running. */
async function hydrate() {
  if (!state.convId) return;
  let resp;
  try {
    resp = await api("GET", `/v1/conversations/${encodeURIComponent(state.convId)}`);
  } catch {
    setStatus(t("errNetwork"));
    return;
  }
  if (resp.status === 404) return;
  if (!resp.ok) { setStatus(await problemText(resp)); return; }
  const conv = await resp.json();
  state.messages = (conv.messages || []).map((m) => ({ ...m, metadata: m.metadata || {} }));
  state.lastEventId = conv.last_event_id || 0;
  const lastUser = state.messages.filter((m) => m.role === "user").pop();
  state.lastUserText = lastUser ? lastUser.parts.map((p) => p.text || "").join("") : "";
  collectBookings();
  renderAll();
  if (conv.running_turn_id) {
    const last = state.messages[state.messages.length - 1];
    state.current = last && last.role === "assistant" ? last : null;
    const controller = newController();
    try {
      const r = await api("GET", `/v1/conversations/${state.convId}/events`,
        { accept: "text/event-stream", lastEventId: state.lastEventId, signal: controller.signal });
      if (r.ok) await consume(r);
    } catch { /* the next message will tell */ }
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function showKeyPanel(message) {
  $("key-panel").hidden = false;
  $("key-toggle").setAttribute("aria-expanded", "true");
  $("key-message").textContent = message || "";
  if (message) $("key-input").focus();
}

function applyLanguage() {
  cur = lang;
  document.documentElement.lang = lang;
  document.title = `${t("title")} · booking`;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const b of document.querySelectorAll(".lang-btn")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  $("details-toggle").setAttribute("aria-pressed", String(showDetails));
  renderAll();
}

$("composer").addEventListener("submit", (e) => { e.preventDefault(); send(input.value); });
input.addEventListener("keydown", (e) => {
  // Enter sends, Shift+Enter is a new line; never while an IME is composing (Vietnamese Telex).
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    send(input.value);
  }
});
$("stop").addEventListener("click", stop);
$("new-chat").addEventListener("click", () => {
  if (state.controller) state.controller.abort();
  setBusy(false);
  setStatus("");
  startConversation();
  renderAll();
  input.focus();
});
$("key-toggle").addEventListener("click", () => {
  const open = $("key-panel").hidden;
  $("key-panel").hidden = !open;
  $("key-toggle").setAttribute("aria-expanded", String(open));
  if (open) $("key-input").focus();
});
$("key-panel").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("key-input").value.trim();
  if (key) sessionStorage.setItem("booking.key", key);
  else sessionStorage.removeItem("booking.key");
  $("key-message").textContent = t("keySaved");
  setStatus("");
  if (!state.messages.length) hydrate();
  input.focus();
});
for (const b of document.querySelectorAll(".lang-btn")) {
  b.addEventListener("click", () => {
    lang = b.dataset.lang;
    localStorage.setItem("booking.lang", lang);
    applyLanguage();
  });
}

$("details-toggle").addEventListener("click", () => {
  showDetails = !showDetails;
  localStorage.setItem("booking.details", showDetails ? "1" : "0");
  $("details-toggle").setAttribute("aria-pressed", String(showDetails));
  for (const msg of state.messages) renderFoot(msg);
});

$("key-input").value = sessionStorage.getItem("booking.key") || "";
try {
  await loadCatalogues();
} catch (err) {
  // Without its catalogue the page has no words of its own: say so in both languages.
  setStatus("Không tải được giao diện, hãy tải lại trang. · The page could not load its texts: reload it.");
  throw err;
}
applyLanguage();
hydrate();
