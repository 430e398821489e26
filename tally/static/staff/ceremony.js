// The key-ceremony page: refresh the trustees' status every 5 s, enable the seal button when
// every trustee has confirmed, and seal through staffFetch (JSON with the CSRF header).
(function () {
  "use strict";
  const table = document.getElementById("ceremony");
  if (!table || table.dataset.state === "sealed") return;
  const button = document.getElementById("seal-button");
  const form = document.getElementById("seal-form");
  const summary = document.getElementById("ceremony-summary");
  const mark = (flag) => (flag ? "✔" : "…");
  async function refresh() {
    const answer = await window.staffFetch(table.dataset.url);
    if (!answer.ok || !answer.body) return;
    for (const t of answer.body.trustees) {
      const row = table.querySelector(`tr[data-index="${t.index}"]`);
      if (!row) continue;
      row.querySelector(".announced").textContent = mark(t.announced);
      row.querySelector(".dealt").textContent = String(t.dealt);
      row.querySelector(".confirmed").textContent = mark(t.confirmed);
      row.querySelector(".complaint").textContent = t.complaint || "";
    }
    if (button) button.disabled = !answer.body.complete;
    if (answer.body.state === "sealed") window.location.reload();
  }
  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      button.disabled = true;
      const answer = await window.staffFetch(form.action, { method: "POST", json: {} });
      if (answer.ok) { window.location.reload(); return; }
      if (summary) summary.textContent = (answer.body && answer.body.message) || String(answer.status);
      button.disabled = false;
    });
  }
  setInterval(refresh, 5000);
})();
