// gaitforge web page: identify an uploaded walk, enroll subjects, list and delete them. Talks to /api/v1 only.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "gaitforge-token";
let limits = null;
let token = sessionStorage.getItem(TOKEN_KEY) || "";  // a bearer token, when the service asks for one

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function thumb(src, alt) {
  if (!src) return el("span", { class: "no-thumb", title: "no thumbnail" });
  const img = el("img", { class: "thumb", alt });
  img.src = src;  // a data: URL made by the server
  return img;
}

async function api(path, options = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(API + path, { ...options, headers });
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (response.status === 401) askToken(token ? "the access token was refused" : "this service needs an access token");
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

function askToken(why) {
  $("token-form").hidden = false;
  setStatus("token-status", why, true);
}

async function onToken(event) {
  event.preventDefault();
  token = $("token-input").value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);  // this tab only, until it closes
  $("token-input").value = "";
  $("token-form").hidden = true;
  setStatus("token-status", "");
  await Promise.all([loadInfo(), loadSubjects()]);
}

function setStatus(id, text, error = false) {
  const node = $(id);
  node.textContent = text;
  node.classList.toggle("error", error);
}

function checkFile(input) {
  const file = input.files[0];
  if (!file) throw new Error("choose a file first");
  if (limits && file.size > limits.max_upload_bytes) {
    const mb = (limits.max_upload_bytes / 1048576).toFixed(0);
    throw new Error(`${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; the server accepts up to ${mb} MiB`);
  }
}

async function loadInfo() {
  try {
    const info = await api("/info");
    limits = info.limits;
    $("identify-k").max = String(limits.max_k);
    const threshold = info.threshold === null ? "no threshold" : `threshold ${info.threshold.toFixed(4)}`;
    $("model-info").textContent =
      `model ${info.model.name} (${info.model.run}), ${info.dim}-d ${info.metric} vectors · gallery ` +
      `${info.gallery.subjects} subjects / ${info.gallery.sequences} sequences · ${threshold}`;
  } catch (err) {
    $("model-info").textContent = `server unavailable: ${err.message}`;
  }
}

async function loadSubjects() {
  const body = $("subjects-table").tBodies[0];
  try {
    const data = await api("/subjects");
    body.replaceChildren();
    for (const s of data.subjects) {
      const button = el("button", { class: "delete", type: "button", "data-subject": s.subject }, "Delete");
      button.addEventListener("click", () => deleteSubject(s.subject));
      const when = new Date(s.created * 1000).toLocaleString();
      body.append(el("tr", { class: "subject-row" }, el("td", {}, s.subject), el("td", { class: "num" }, s.sequences),
        el("td", {}, when), el("td", {}, button)));
    }
    $("subject-count").textContent = `(${data.total})`;
  } catch (err) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "4" }, `cannot list subjects: ${err.message}`)));
  }
}

async function deleteSubject(name) {
  if (!window.confirm(`Delete ${name} and all its sequences?`)) return;
  try {
    const result = await api(`/subjects/${encodeURIComponent(name)}`, { method: "DELETE" });
    setStatus("enroll-status", `deleted ${name} (${result.removed_sequences} sequences)`);
  } catch (err) {
    setStatus("enroll-status", err.message, true);
  }
  await Promise.all([loadSubjects(), loadInfo()]);
}

function renderProbe(probe) {
  const known = probe.known === null ? ["", "no threshold"] : probe.known ? ["known", "known"] : ["unknown", "unknown"];
  const head = el("div", { class: "probe-head" }, thumb(probe.thumbnail, "probe silhouettes"),
    el("div", {}, el("strong", {}, probe.name), ` · ${probe.frames} frames `, el("span", { class: `badge ${known[0]}` }, known[1])));
  const rows = probe.matches.map((m) => el("tr", { class: "match" },
    el("td", { class: "num" }, m.rank), el("td", {}, thumb(m.thumbnail, `${m.subject} silhouettes`)),
    el("td", { class: "subject" }, m.subject), el("td", { class: "num distance" }, m.distance.toFixed(4)),
    el("td", { class: "num" }, m.sequence_id)));
  const table = el("table", { class: "matches" },
    el("thead", {}, el("tr", {}, el("th", {}, "Rank"), el("th", {}, "Enrolled walk"), el("th", {}, "Subject"),
      el("th", {}, "Distance"), el("th", {}, "Sequence"))),
    el("tbody", {}, ...rows));
  if (!rows.length) table.tBodies[0].append(el("tr", {}, el("td", { colspan: "5" }, "the gallery is empty")));
  return el("div", { class: "probe" }, head, table);
}

async function onIdentify(event) {
  event.preventDefault();
  const results = $("identify-results");
  const button = $("identify-submit");
  try {
    checkFile($("identify-file"));
    button.disabled = true;
    setStatus("identify-status", "identifying…");
    const data = await api("/identify", { method: "POST", body: new FormData(event.target) });
    results.replaceChildren(...data.probes.map(renderProbe));
    setStatus("identify-status", `${data.probes.length} walk(s) identified`);
  } catch (err) {
    results.replaceChildren();
    setStatus("identify-status", err.message, true);
  } finally {
    button.disabled = false;
  }
}

async function onEnroll(event) {
  event.preventDefault();
  const button = $("enroll-submit");
  try {
    checkFile($("enroll-file"));
    button.disabled = true;
    setStatus("enroll-status", "enrolling…");
    const data = await api("/enroll", { method: "POST", body: new FormData(event.target) });
    setStatus("enroll-status", `enrolled ${data.subject}: ${data.sequence_ids.length} sequence(s)`);
    event.target.reset();
  } catch (err) {
    setStatus("enroll-status", err.message, true);
  } finally {
    button.disabled = false;
  }
  await Promise.all([loadSubjects(), loadInfo()]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("identify-form").addEventListener("submit", onIdentify);
  $("enroll-form").addEventListener("submit", onEnroll);
  $("token-form").addEventListener("submit", onToken);
  loadInfo();
  loadSubjects();
});
