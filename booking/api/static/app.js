// The web chat page: plain ES module, no framework, no build step.
//
// It speaks the server's UI message stream (docs/api.md): POST /v1/chat streams SSE events
// (`id: <n>` + `data: <JSON part>`, `: ping` comments, `data: [DONE]` last). The page keeps the
// conversation as UI messages ({id, role, parts, metadata}, the shape GET /v1/conversations/{id}
// returns), applies every streamed part to them and re-renders only the part that changed.
// All data reaches the DOM through textContent / createTextNode, never innerHTML.

// ---------------------------------------------------------------------------------------------
// Strings

const STRINGS = {
  vi: {
    title: "Đặt vé máy bay",
    language: "Ngôn ngữ",
    apiKey: "Khóa API",
    keyLabel: "Khóa API (chỉ lưu trong thẻ này)",
    saveKey: "Lưu",
    keySaved: "Đã lưu khóa.",
    keyNeeded: "Máy chủ cần khóa API. Nhập khóa rồi gửi lại.",
    newChat: "Trò chuyện mới",
    conversation: "Cuộc trò chuyện",
    empty: "Hỏi về chuyến bay, thời tiết hoặc đặt vé.",
    messageLabel: "Tin nhắn",
    placeholder: "Ví dụ: Vé từ Hà Nội đi Đà Nẵng ngày 12/6",
    sendHint: "Enter để gửi, Shift+Enter để xuống dòng.",
    send: "Gửi",
    stop: "Dừng",
    you: "Bạn",
    assistant: "Trợ lý",
    "run.search_flights": "Đang tìm chuyến bay…",
    "run.get_weather": "Đang xem thời tiết…",
    "run.hold_booking": "Đang chuẩn bị giữ chỗ…",
    "run.confirm_booking": "Đang chuẩn bị xác nhận…",
    "run.cancel_booking": "Đang chuẩn bị hủy…",
    "run.get_booking": "Đang tra cứu đặt chỗ…",
    "run.other": "Đang xử lý…",
    working: "Đang thực hiện…",
    toolFailed: "Không thực hiện được: {0}",
    flightsCaption: "{0} → {1} · {2} · {3} · {4}",
    pax: "{0} khách",
    paxOne: "1 khách",
    airline: "Hãng",
    flight: "Chuyến",
    time: "Giờ bay",
    duration: "Thời gian",
    price: "Giá",
    seats: "Còn chỗ",
    shown: "Hiển thị {0}/{1} chuyến.",
    noFlights: "Không có chuyến bay phù hợp.",
    nearest: "Ngày gần nhất có chuyến: {0}",
    weatherTitle: "Thời tiết {0} · {1}",
    humidity: "Độ ẩm {0}%",
    rain: "Khả năng mưa {0}%",
    wind: "Gió {0} km/h",
    climate: "Số liệu khí hậu trung bình (chưa có dự báo).",
    reference: "Mã đặt chỗ",
    "status.held": "Đang giữ chỗ",
    "status.confirmed": "Đã xác nhận",
    "status.cancelled": "Đã hủy",
    "status.expired": "Hết hạn",
    passengers: "Hành khách",
    total: "Tổng tiền",
    holdUntil: "Giữ chỗ đến {0}",
    "approve.hold": "Giữ chỗ chuyến bay này?",
    "approve.confirm": "Xác nhận (xuất vé) đặt chỗ này?",
    "approve.cancel": "Hủy đặt chỗ này?",
    "approve.other": "Cho phép thao tác này?",
    approve: "Đồng ý",
    decline: "Từ chối",
    approvedNote: "Bạn đã đồng ý.",
    declined: "Bạn đã từ chối. Không có gì được thực hiện.",
    superseded: "Không còn chờ quyết định.",
    stopped: "Đã dừng.",
    cutShort: "Câu trả lời bị cắt ngắn.",
    retryHint: "Bạn có thể thử lại.",
    retry: "Thử lại",
    reconnecting: "Mất kết nối, đang kết nối lại…",
    lostStream: "Mất kết nối với máy chủ. Tải lại trang để xem câu trả lời.",
    meta: "mô hình {0} · token đầu sau {1} ms · token: {2} vào, {3} ra",
    errNetwork: "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
    errUnauthorized: "Khóa API bị thiếu hoặc không hợp lệ.",
    errTurnRunning: "Trợ lý vẫn đang viết câu trả lời. Đợi xong hoặc bấm Dừng.",
    errRateLimited: "Bạn gửi quá nhanh. Thử lại sau {0} giây.",
    errBusy: "Máy chủ đang bận. Thử lại sau {0} giây.",
    errUnavailable: "Máy chủ tạm thời không phục vụ được. Thử lại sau.",
    errDecided: "Yêu cầu này đã được quyết định rồi.",
    errExpired: "Yêu cầu này đã hết hạn. Hãy hỏi lại trợ lý.",
    errApprovalNotFound: "Không tìm thấy yêu cầu này.",
    errTooLong: "Tin nhắn quá dài.",
    errOther: "Có lỗi: {0}",
  },
  en: {
    title: "Flight booking",
    language: "Language",
    apiKey: "API key",
    keyLabel: "API key (kept in this tab only)",
    saveKey: "Save",
    keySaved: "Key saved.",
    keyNeeded: "The server needs an API key. Enter it, then send again.",
    newChat: "New chat",
    conversation: "Conversation",
    empty: "Ask about flights, the weather, or book a ticket.",
    messageLabel: "Message",
    placeholder: "For example: Flights from Hanoi to Da Nang on 12 June",
    sendHint: "Enter sends, Shift+Enter adds a new line.",
    send: "Send",
    stop: "Stop",
    you: "You",
    assistant: "Assistant",
    "run.search_flights": "Searching flights…",
    "run.get_weather": "Checking the weather…",
    "run.hold_booking": "Preparing a seat hold…",
    "run.confirm_booking": "Preparing the confirmation…",
    "run.cancel_booking": "Preparing the cancellation…",
    "run.get_booking": "Looking up the booking…",
    "run.other": "Working…",
    working: "Working on it…",
    toolFailed: "That did not work: {0}",
    flightsCaption: "{0} → {1} · {2} · {3} · {4}",
    pax: "{0} passengers",
    paxOne: "1 passenger",
    airline: "Airline",
    flight: "Flight",
    time: "Times",
    duration: "Duration",
    price: "Price",
    seats: "Seats left",
    shown: "Showing {0} of {1} flights.",
    noFlights: "No matching flights.",
    nearest: "Nearest dates with flights: {0}",
    weatherTitle: "Weather in {0} · {1}",
    humidity: "Humidity {0}%",
    rain: "Chance of rain {0}%",
    wind: "Wind {0} km/h",
    climate: "Climate normals (no forecast yet).",
    reference: "Booking reference",
    "status.held": "Held",
    "status.confirmed": "Confirmed",
    "status.cancelled": "Cancelled",
    "status.expired": "Expired",
    passengers: "Passengers",
    total: "Total",
    holdUntil: "Held until {0}",
    "approve.hold": "Hold this flight?",
    "approve.confirm": "Confirm (ticket) this booking?",
    "approve.cancel": "Cancel this booking?",
    "approve.other": "Allow this action?",
    approve: "Approve",
    decline: "Decline",
    approvedNote: "You approved.",
    declined: "You declined. Nothing was done.",
    superseded: "No longer waiting for a decision.",
    stopped: "Stopped.",
    cutShort: "The reply was cut short.",
    retryHint: "You can try again.",
    retry: "Retry",
    reconnecting: "Connection lost, reconnecting…",
    lostStream: "Lost the connection to the server. Reload the page to see the reply.",
    meta: "model {0} · first token {1} ms · tokens: {2} in, {3} out",
    errNetwork: "Cannot reach the server. Check your connection and try again.",
    errUnauthorized: "The API key is missing or not valid.",
    errTurnRunning: "A reply is still being written. Wait for it or press Stop.",
    errRateLimited: "Too many requests. Try again in {0} s.",
    errBusy: "The server is busy. Try again in {0} s.",
    errUnavailable: "The server is unavailable right now. Try again later.",
    errDecided: "This request was already decided.",
    errExpired: "This request has expired. Ask the assistant again.",
    errApprovalNotFound: "This request was not found.",
    errTooLong: "The message is too long.",
    errOther: "Something went wrong: {0}",
  },
};

const CABINS = {
  vi: { economy: "phổ thông", premium_economy: "phổ thông đặc biệt", business: "thương gia", first: "hạng nhất" },
  en: { economy: "Economy", premium_economy: "Premium economy", business: "Business", first: "First" },
};

let lang = localStorage.getItem("booking.lang") ||
  ((navigator.language || "").toLowerCase().startsWith("vi") ? "vi" : "en");

/** The string `key` in the current language, with {0}, {1}… filled in. */
function t(key, ...args) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}

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

// Money reads as the offline model writes it: "1.008.000 ₫" in Vietnamese, "VND 1,008,000" in English.
const vnd = (n) => {
  const digits = String(Math.round(Number(n) || 0));
  return lang === "vi" ? `${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".")} ₫` : `VND ${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}`;
};
const num = (n) => (Number(n) || 0).toLocaleString(lang === "vi" ? "vi-VN" : "en-US");
// ISO times carry the airport's offset: read the wall clock from the string, not the browser's zone.
const hhmm = (iso) => (typeof iso === "string" ? iso.slice(11, 16) : "");
const day = (iso) =>
  typeof iso === "string" && iso.length >= 10 ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "";
const duration = (min) => `${Math.floor(min / 60)}h${String(min % 60).padStart(2, "0")}`;
const cabin = (c) => CABINS[lang][c] || c || "";
const city = (p) => (p ? (lang === "en" && p.city_en) || p.city || p.query || "" : "");
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

function renderAll() {
  $("empty").hidden = state.messages.length > 0;
  log.replaceChildren($("empty"), ...state.messages.map(renderMessage));
  log.scrollTop = log.scrollHeight;
}

function renderMessage(msg) {
  const body = h("div", { class: "body" });
  const foot = h("div", { class: "foot" });
  const root = h("article", { class: `msg ${msg.role}`, "data-message-id": msg.id || "" },
    h("h3", { class: "sr-only" }, t(msg.role === "user" ? "you" : "assistant")), body, foot);
  msgEls.set(msg, { root, body, foot });
  for (const part of msg.parts) {
    const el = renderPart(msg, part);
    if (el) body.append(el);
  }
  renderFoot(msg);
  return root;
}

function addMessage(msg) {
  state.messages.push(msg);
  $("empty").hidden = true;
  follow(() => log.append(renderMessage(msg)));
  return msg;
}

/** Re-render one part in place (or append it if it has no element yet). */
function updatePart(msg, part) {
  follow(() => {
    const old = partEls.get(part);
    const el = renderPart(msg, part);
    if (old && el) old.replaceWith(el);
    else if (old) old.remove();
    else if (el) msgEls.get(msg).body.append(el);
  });
}

function renderPart(msg, part) {
  let el = null;
  if (part.type === "text" && msg.role === "user") {
    el = h("div", { class: "text" }, part.text || ""); // what the traveller typed, as typed
  } else if (part.type === "text") {
    el = h("div", { class: "text" });
    part.render = { bold: false, star: false, node: null };
    appendText(el, part, part.text || "");
    if (part.state !== "streaming") flushText(el, part);
  } else if (part.type.startsWith("tool-")) {
    el = renderTool(msg, part);
  }
  if (el) partEls.set(part, el);
  return el;
}

// Text arrives in deltas. To keep the DOM append-only (so the aria-live log announces only what
// is new), a tiny state machine turns `**bold**` into <strong> as characters arrive; everything
// else stays plain text with white-space: pre-wrap.
function appendText(el, part, delta) {
  const r = part.render;
  for (const ch of delta) {
    if (ch === "*") {
      if (r.star) { r.star = false; r.bold = !r.bold; r.node = null; } else r.star = true;
      continue;
    }
    if (r.star) { r.star = false; putText(el, r, "*"); }
    putText(el, r, ch);
  }
}

function putText(el, r, s) {
  if (!r.node) {
    r.node = document.createTextNode("");
    (r.bold ? el.appendChild(document.createElement("strong")) : el).appendChild(r.node);
  }
  r.node.appendData(s);
}

/** The text is complete: a lone `*` held back in case a second one followed is text after all. */
function flushText(el, part) {
  if (part.render.star) { part.render.star = false; putText(el, part.render, "*"); }
}

function renderTool(msg, part) {
  const name = part.type.slice(5);
  const kind = {
    "output-available": "result", "output-error": "failed",
    "approval-requested": "approval", "approval-responded": "approval", "output-denied": "approval",
  }[part.state] || "running"; // input-streaming / input-available: being prepared, or running
  return h("section", { class: `card tool tool-${name} ${kind}`, "data-state": part.state, "data-tool": name },
    kind === "result" ? resultView(name, part.output || {})
      : kind === "failed" ? errorLine(t("toolFailed", part.errorText || ""))
        : kind === "approval" ? approvalView(msg, part)
          : runningView(name, part));
}

function runningView(name, part) {
  const label = part.approval && part.approval.approved ? t("working")
    : STRINGS[lang][`run.${name}`] ? t(`run.${name}`) : t("run.other");
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
  if (out.booking) return bookingView(out.booking);
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
  if (out.total_matches > flights.length) nodes.push(h("p", { class: "muted" }, t("shown", flights.length, out.total_matches)));
  return nodes;
}

function weatherView(w) {
  const temp = `${Math.round(w.temp_min_c)}–${Math.round(w.temp_max_c)}°C`;
  return [
    h("h4", {}, t("weatherTitle", city(w.place), day(w.day))),
    h("p", { class: "weather-main" }, h("span", { class: "temp" }, temp), " ", lang === "vi" ? w.condition_vi : w.condition_en),
    h("p", { class: "muted" },
      [t("rain", w.precip_prob_pct), t("humidity", w.humidity_pct), t("wind", Math.round(w.wind_kph))].join(" · ")),
    w.is_climate_normal ? h("p", { class: "muted" }, t("climate")) : null,
  ];
}

function bookingView(b) {
  const f = b.flight || {};
  const status = b.status || "";
  const names = (b.passengers || []).map((p) => p.full_name).join(", ");
  return [
    h("div", { class: "booking-head" },
      h("div", {}, h("span", { class: "muted small" }, t("reference")), h("p", { class: "reference" }, b.reference || "")),
      h("span", { class: `badge status-${status}`, "data-status": status }, t(`status.${status}`))),
    h("p", {}, h("strong", {}, f.flight_number || ""),
      ` · ${f.origin ?? ""} → ${f.destination ?? ""} · ${day(f.departs_at)}`,
      ` · ${hhmm(f.departs_at)}–${hhmm(f.arrives_at)} · ${cabin(b.cabin)}`),
    h("p", {}, `${t("passengers")}: ${names}`),
    h("p", {}, `${t("total")}: `, h("strong", { class: "nowrap" }, vnd(b.total_vnd))),
    status === "held" && b.hold_expires_at
      ? h("p", { class: "muted" }, t("holdUntil", `${hhmm(b.hold_expires_at)} ${day(b.hold_expires_at)}`))
      : null,
  ];
}

function approvalView(msg, part) {
  const approval = part.approval || {};
  const d = approval.descriptor || {};
  const b = d.booking || d; // hold: the summary itself; confirm/cancel: {booking}
  const f = b.flight || {};
  const action = ["hold", "confirm", "cancel"].includes(d.action) ? d.action : "other";
  const names = (b.passengers || []).map((p) => p.full_name).join(", ");
  const nodes = [h("h4", {}, t(`approve.${action}`))];
  if (f.flight_number) {
    const rows = [
      b.reference ? [t("reference"), b.reference] : null,
      [t("flight"), `${f.flight_number} · ${f.origin ?? ""} → ${f.destination ?? ""}`],
      [t("time"), `${day(f.departs_at)} · ${hhmm(f.departs_at)}–${hhmm(f.arrives_at)}`],
      [t("passengers"), names],
      [t("total"), vnd(b.total_vnd)],
    ].filter(Boolean);
    nodes.push(h("dl", { class: "summary" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  } else {
    // The summary comes worded in both languages; show the one the page speaks.
    nodes.push(h("p", {}, (lang === "vi" && d.text_vi) || d.text || approval.reason || ""));
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
  const buttons = h("div", { class: "actions" },
    h("button", { type: "button", class: "approve", disabled: decided, onclick: () => decide(msg, part, true) }, t("approve")),
    h("button", { type: "button", class: "decline", disabled: decided, onclick: () => decide(msg, part, false) }, t("decline")));
  nodes.push(buttons);
  if (part.state === "approval-responded" && approval.approved) nodes.push(h("p", { class: "muted" }, t("approvedNote")));
  if (part.decisionError) nodes.push(errorLine(part.decisionError));
  return nodes;
}

/** The end of an assistant message: stopped / error / cut short notes and the metadata line. */
function renderFoot(msg) {
  const els = msgEls.get(msg);
  if (!els) return;
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
  if (msg.role === "assistant" && model && (m.finishReason || m.aborted || m.errorText)) {
    const ttft = u.ttftMs === null || u.ttftMs === undefined ? "–" : Math.round(u.ttftMs);
    nodes.push(h("p", { class: "meta" }, t("meta", model, ttft, num(u.promptTokens), num(u.completionTokens))));
  }
  follow(() => els.foot.replaceChildren(...nodes));
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
    follow(() => appendText(partEls.get(part), part, chunk.delta || ""));
  } else if (type === "text-end") {
    const part = msg.texts.get(chunk.id);
    if (part) { part.state = "done"; flushText(partEls.get(part), part); }
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
    updatePart(msg, part);
  } else if (type === "message-metadata") {
    Object.assign(msg.metadata, chunk.messageMetadata || {});
  } else if (type === "finish") {
    msg.metadata.finishReason = chunk.finishReason || "stop";
    renderFoot(msg);
  } else if (type === "error") {
    msg.metadata.errorText = chunk.errorText || "";
    renderFoot(msg);
  } else if (type === "abort") {
    msg.metadata.aborted = true;
    renderFoot(msg);
  }
  // start-step, finish-step, reasoning-*, tool-input-delta, data-*: nothing to show.
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
      if (line === "") { if (dispatch()) { reader.cancel().catch(() => {}); return true; } continue; }
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
  document.documentElement.lang = lang;
  document.title = `${t("title")} · booking`;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const b of document.querySelectorAll(".lang-btn")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
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

$("key-input").value = sessionStorage.getItem("booking.key") || "";
applyLanguage();
hydrate();
