// calltrail dashboard: small enhancements only; every page works without this script.
// Copy buttons, j/k to step through the swimlane's marks (time order) on the call page, the
// local-time switch and the loading indicator.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent).then(() => { button.textContent = "Copied"; });
  }
});
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key !== "j" && event.key !== "k") return;
  const marks = Array.from(document.querySelectorAll("svg a.mark"));
  if (marks.length === 0) return;
  const at = marks.indexOf(document.activeElement);
  const next = event.key === "j" ? Math.min(at + 1, marks.length - 1) : Math.max(at - 1, 0);
  marks[at === -1 ? 0 : next].focus();
  event.preventDefault();
});

// Times: the server writes every time in the chosen zone (UTC unless one was chosen), the zone
// written; this switch shows them in the browser's own zone instead (its IANA name and offset
// written), remembered in this browser.
const ZONE_KEY = "calltrail.times";
function localText(date) {
  const parts = {};
  new Intl.DateTimeFormat("en-GB", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "shortOffset",
  }).formatToParts(date).forEach((p) => { parts[p.type] = p.value; });
  const ms = String(date.getMilliseconds()).padStart(3, "0");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${ms} ${zone} (${parts.timeZoneName})`;
}
function showTimes(mode, button) {
  document.querySelectorAll("main time[datetime]").forEach((t) => {
    if (!t.dataset.utc) t.dataset.utc = t.textContent;
    t.textContent = mode === "local" ? localText(new Date(t.getAttribute("datetime"))) : t.dataset.utc;
  });
  const zone = document.documentElement.dataset.zone || "UTC";
  button.textContent = mode === "local" ? `Times: local (show ${zone})` : `Times: ${zone} (show local)`;
  button.setAttribute("aria-pressed", mode === "local" ? "true" : "false");
}
document.addEventListener("DOMContentLoaded", () => {
  const header = document.querySelector("header.top");
  if (!header || !document.querySelector("header.top nav")) return;
  const button = document.createElement("button");
  button.type = "button";
  button.id = "time-zone";
  header.insertBefore(button, header.querySelector("form.logout"));
  let mode = localStorage.getItem(ZONE_KEY) === "local" ? "local" : "utc";
  showTimes(mode, button);
  button.addEventListener("click", () => {
    mode = mode === "local" ? "utc" : "local";
    localStorage.setItem(ZONE_KEY, mode);
    showTimes(mode, button);
  });
});

// Loading: a navigation that takes more than a moment (a slow page, a busy database) is announced,
// visibly and to screen readers, until the next page arrives; fast ones do not flicker.
let loadingTimer = null;
function startLoading() {
  clearTimeout(loadingTimer);
  loadingTimer = setTimeout(() => {
    const status = document.querySelector("div.loading");
    if (!status) return;
    document.body.classList.add("is-loading");
    status.textContent = "Loading…";
  }, 300);
}
function stopLoading() {
  clearTimeout(loadingTimer);
  document.body.classList.remove("is-loading");
  const status = document.querySelector("div.loading");
  if (status) status.textContent = "";
}
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.hasAttribute("download") || link.getAttribute("target")) return;
  const url = new URL(link.getAttribute("href"), location.href);
  if (url.origin !== location.origin) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  startLoading();
});
document.addEventListener("submit", (event) => { if (!event.defaultPrevented) startLoading(); });
// Back and Forward may show a page from the browser's cache, indicator and all.
window.addEventListener("pageshow", stopLoading);
