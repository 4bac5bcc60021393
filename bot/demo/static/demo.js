// The demo page: three phones, each a Telegram account of the demo, kept live by
// server-sent events. Everything a phone does is a user action on the simulated
// Telegram; the bot itself runs unchanged behind it.
"use strict";

const DEFAULT_PHONES = [2001, 1002, 1001]; // a participant, a referent, the team lead
const NEW = "new";
let state = { accounts: [], groups: [], languages: [], bot_username: "" };
const phones = [];
let focused = 0; // the phone the clock buttons act for
const seenToasts = new Set();

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) { throw new Error(data.error || response.statusText); }
  return data;
}

function notice(text) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.hidden = !text;
  if (text) { setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 5000); }
}

async function attempt(action) {
  try { return await action(); } catch (error) { notice(error.message); return null; }
}

// The demo clock runs between updates too: the page keeps it ticking from the last reading.
let clockReading = null;

function showClock(clock) {
  if (!clock) return;
  clockReading = { at: performance.now(), ms: Date.parse(clock.iso), zone: clock.zone };
  document.getElementById("clock").textContent = clock.shown;
}

function tickClock() {
  if (!clockReading) return;
  const moment = new Date(clockReading.ms + performance.now() - clockReading.at);
  const day = moment.toLocaleDateString("fr-BE", { timeZone: clockReading.zone, weekday: "long", day: "numeric", month: "long" });
  const time = moment.toLocaleTimeString("fr-BE", { timeZone: clockReading.zone, hour: "2-digit", minute: "2-digit" });
  document.getElementById("clock").textContent = `${day}, ${time.replace(" h ", ":")}`;
}
setInterval(tickClock, 5000);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) { if (child) node.append(child); }
  return node;
}

const INVITE = /https:\/\/t\.me\/(\w+)\?start=([A-Za-z0-9_-]+)/g;

function paragraph(part, phone) {
  const p = el("p", { dir: part.dir });
  let last = 0;
  for (const match of part.text.matchAll(INVITE)) {
    p.append(part.text.slice(last, match.index));
    const token = match[2];
    p.append(el("a", {
      href: match[0], class: "invite-link", title: "Ouvrir sur un nouveau téléphone",
      onclick: (event) => { event.preventDefault(); openInvite(phone, token); },
    }, match[0]));
    last = match.index + match[0].length;
  }
  p.append(part.text.slice(last));
  return p;
}

function bubble(message, phone, readOnly) {
  const node = el("div", {
    class: "bubble " + (message.from_bot ? "bot" : "me"),
    dir: message.dir, "data-message-id": message.id,
  });
  if (message.name) node.append(el("div", { class: "name", dir: "ltr" }, message.name));
  if (message.photo) node.append(el("img", { src: message.photo, alt: "photo" }));
  if (message.venue) {
    const v = message.venue;
    const map = `https://www.openstreetmap.org/?mlat=${v.latitude}&mlon=${v.longitude}#map=17/${v.latitude}/${v.longitude}`;
    node.append(el("a", { class: "venue", href: map, target: "_blank", rel: "noopener" },
      el("b", {}, "📍 " + (v.title || "Position")), v.address || `${v.latitude}, ${v.longitude}`));
  }
  if (message.voice) node.append(el("audio", { controls: "", src: message.voice, preload: "none" }));
  if (message.document) {
    node.append(el("a", { class: "document", href: message.document.url, download: message.document.name },
      "📄 " + message.document.name));
  }
  for (const part of message.paragraphs) {
    if (part.text || message.paragraphs.length > 1) node.append(paragraph(part, phone));
  }
  if (message.buttons.length) {
    const keyboard = el("div", { class: "inline-keyboard" });
    for (const row of message.buttons) {
      const line = el("div", { class: "row" });
      for (const button of row) {
        line.append(el("button", {
          type: "button", "data-callback": button.data, disabled: readOnly ? "" : null,
          onclick: () => tap(phone, message.id, button),
        }, button.text));
      }
      keyboard.append(line);
    }
    node.append(keyboard);
  }
  node.append(el("div", { class: "meta", dir: "ltr" }, (message.edited ? "modifié · " : "") + message.time));
  return node;
}

async function tap(phone, messageId, button) {
  focused = phones.indexOf(phone);
  if (button.url) { window.open(button.url, "_blank"); return; }
  await attempt(() => api("/api/tap", { account: phone.account, message_id: messageId, data: button.data }));
}

async function openInvite(fromPhone, token) {
  const target = phones.find((p) => p !== fromPhone) || fromPhone;
  const reply = await attempt(() => api("/api/open-invite", { token, name: "Nouveau", language: "fr" }));
  if (reply) { await refreshState(); setAccount(target, reply.result); }
}

function accountLabel(account) {
  const role = { lead: "responsable", admin: "admin", referent: "référent·e", participant: "participant·e", new: "pas encore inscrit·e" }[account.kind] || account.kind;
  return `${account.label} – ${role}`;
}

function fillAccounts(phone) {
  const select = phone.node.querySelector("select.account");
  select.replaceChildren();
  for (const account of state.accounts) {
    select.append(el("option", { value: account.telegram_id }, accountLabel(account)));
  }
  select.append(el("option", { value: NEW }, "➕ Nouveau participant (lien d'invitation)…"));
  select.value = String(phone.account);
  const people = phone.node.querySelector(".people");
  people.replaceChildren();
  const account = state.accounts.find((a) => a.telegram_id === phone.account);
  for (const person of (account && account.people) || []) {
    const languages = el("select", {
      class: "language", "data-participant": person.id, "aria-label": "Langue de " + person.name,
      onchange: async (event) => {
        focused = phones.indexOf(phone);
        await attempt(() => api("/api/language", { participant: person.id, language: event.target.value }));
        await refreshState();
      },
    });
    for (const lang of state.languages) { languages.append(el("option", { value: lang.code }, lang.name)); }
    languages.value = person.language;
    people.append(el("label", {}, `${person.name}${person.group ? " · " + person.group : ""}`, languages));
  }
}

function setAccount(phone, telegramId) {
  phone.account = telegramId;
  phone.node.dataset.account = telegramId;
  phone.node.querySelector(".new-participant").hidden = true;
  fillAccounts(phone);
  phone.rendered = "";
  phone.bubbles = new Map();
  phone.node.querySelector(".messages").replaceChildren();
  phone.scrollDown = true;
  refreshChat(phone);
}

async function refreshChat(phone) {
  const chat = await attempt(() => api(`/api/chat/${phone.account}`));
  if (!chat) return;
  const fingerprint = JSON.stringify(chat);
  if (fingerprint === phone.rendered) return;
  phone.rendered = fingerprint;
  const screen = phone.node.querySelector(".messages");
  const atBottom = screen.scrollHeight - screen.scrollTop - screen.clientHeight < 40;
  renderMessages(phone, screen, chat.messages);
  if (atBottom || phone.scrollDown) { screen.scrollTop = screen.scrollHeight; phone.scrollDown = false; }
  const keyboard = phone.node.querySelector(".reply-keyboard");
  keyboard.replaceChildren(...chat.keyboard.map((row) => el("div", { class: "row" },
    ...row.map((text) => el("button", { type: "button", onclick: () => send(phone, text) }, text)))));
  for (const toast of chat.toasts) {
    if (seenToasts.has(toast.id)) continue;
    seenToasts.add(toast.id);
    if (!phone.toastsReady) continue; // toasts from before the page opened stay quiet
    const box = phone.node.querySelector(".toast");
    box.textContent = toast.text;
    box.hidden = false;
    setTimeout(() => { box.hidden = true; }, toast.alert ? 4000 : 2000);
  }
  phone.toastsReady = true;
}

// Only new or changed bubbles are redrawn: a button being tapped or a voice note playing
// is never swept away by an unrelated update.
function renderMessages(phone, screen, messages) {
  const previous = phone.bubbles || new Map();
  const current = new Map();
  const wanted = messages.map((message) => {
    const key = JSON.stringify(message);
    const old = previous.get(message.id);
    const node = old && old.key === key ? old.node : bubble(message, phone, false);
    current.set(message.id, { key, node });
    return node;
  });
  wanted.forEach((node, index) => {
    const there = screen.children[index];
    if (there === node) return;
    if (there && there.dataset.messageId === node.dataset.messageId) there.replaceWith(node);
    else screen.insertBefore(node, there || null);
  });
  while (screen.children.length > wanted.length) screen.lastElementChild.remove();
  phone.bubbles = current;
}

async function send(phone, text) {
  focused = phones.indexOf(phone);
  phone.scrollDown = true;
  await attempt(() => api("/api/send", { account: phone.account, text }));
}

function makePhone(index, telegramId) {
  const node = document.getElementById("phone-template").content.firstElementChild.cloneNode(true);
  node.dataset.phone = index;
  const phone = { node, account: telegramId, rendered: "", toastsReady: false };
  // On click, not pointerdown: a header that reflows between press and release loses the click.
  node.addEventListener("click", () => { focused = index; showFocus(); }, true);
  node.querySelector("select.account").addEventListener("change", (event) => {
    if (event.target.value === NEW) {
      const form = node.querySelector(".new-participant");
      form.hidden = false;
      form.querySelector("input[name=name]").focus();
      return;
    }
    setAccount(phone, Number(event.target.value));
  });
  const form = node.querySelector(".new-participant");
  for (const group of state.groups) {
    form.group.append(el("option", { value: group.id }, `${group.module} · ${group.name}`));
  }
  for (const lang of state.languages) { form.language.append(el("option", { value: lang.code }, lang.name)); }
  form.language.value = "fr";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reply = await attempt(() => api("/api/participant", {
      name: form.name.value, group: Number(form.group.value), language: form.language.value,
    }));
    if (reply) { await refreshState(); setAccount(phone, reply.result); }
  });
  form.querySelector(".cancel").addEventListener("click", () => { form.hidden = true; fillAccounts(phone); });
  node.querySelector(".compose").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = event.target.text;
    const text = input.value;
    input.value = "";
    if (text.trim()) await send(phone, text);
  });
  node.querySelector(".compose .voice").addEventListener("click", async () => {
    focused = index;
    phone.scrollDown = true;
    await attempt(() => api("/api/voice", { account: phone.account }));
  });
  document.getElementById("phones").append(node);
  phones.push(phone);
  fillAccounts(phone);
  refreshChat(phone);
}

function showFocus() {
  const phone = phones[focused];
  const account = phone && state.accounts.find((a) => a.telegram_id === phone.account);
  document.getElementById("move-for").textContent = account ? "pour " + account.label : "";
}

async function refreshState() {
  const fresh = await attempt(() => api("/api/state"));
  if (!fresh) return;
  const changed = JSON.stringify([fresh.accounts, fresh.groups]) !== JSON.stringify([state.accounts, state.groups]);
  state = fresh;
  showClock(state.clock);
  if (!changed) return;
  for (const phone of phones) { if (!phone.node.querySelector(".new-participant").hidden) continue; fillAccounts(phone); }
  showFocus();
}

async function refreshAll(clock) {
  showClock(clock);
  await Promise.all(phones.map(refreshChat));
}

async function showKeyMessages() {
  const language = document.getElementById("key-language").value;
  const list = await attempt(() => api(`/api/key-messages?language=${encodeURIComponent(language)}`));
  if (!list) return;
  const screen = document.getElementById("key-list");
  screen.replaceChildren(...list.map((m) => bubble(m, null, true)));
  screen.dataset.language = language;
}

async function main() {
  await refreshState();
  const known = new Set(state.accounts.map((a) => a.telegram_id));
  DEFAULT_PHONES.filter((id) => known.has(id)).forEach((id, index) => makePhone(index, id));
  if (!phones.length && state.accounts.length) makePhone(0, state.accounts[0].telegram_id);
  showFocus();
  for (const button of document.querySelectorAll("[data-move]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const phone = phones[focused];
      const reply = await attempt(() => api("/api/clock", { move: button.dataset.move, account: phone && phone.account }));
      button.disabled = false;
      if (reply) showClock(reply.clock);
    });
  }
  const keyLanguage = document.getElementById("key-language");
  for (const lang of state.languages) { keyLanguage.append(el("option", { value: lang.code }, lang.name)); }
  keyLanguage.addEventListener("change", showKeyMessages);
  document.getElementById("show-key-messages").addEventListener("click", () => {
    const panel = document.getElementById("key-messages");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) { showKeyMessages(); panel.scrollIntoView(); }
  });
  const events = new EventSource("/events");
  events.addEventListener("change", async (event) => {
    const data = JSON.parse(event.data);
    await refreshState();
    await refreshAll(data.clock);
  });
  document.body.dataset.ready = "1";
}

main();
