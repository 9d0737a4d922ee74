// calltrail dashboard: small enhancements only; every page works without this script.
// Copy buttons, and j/k to step through the swimlane's marks (time order) on the call page.
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

// Times: the server writes every time in UTC with the zone; this switch shows them in the browser's
// own zone instead (its IANA name and offset written), remembered in this browser.
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
  button.textContent = mode === "local" ? "Times: local (show UTC)" : "Times: UTC (show local)";
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
