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
