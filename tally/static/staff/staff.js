// Shared helpers of the staff pages.
// staffFetch(url, options): fetch with the session cookie and the CSRF token (from
// <meta name="csrf-token">) in the X-CSRFToken header, which every unsafe request to a staff page
// needs. A JSON body may be passed as options.json.
(function () {
  "use strict";
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  async function staffFetch(url, options) {
    const opts = Object.assign({ method: "GET", credentials: "same-origin" }, options || {});
    const headers = new Headers(opts.headers || {});
    headers.set("Accept", "application/json");
    if (opts.method.toUpperCase() !== "GET") headers.set("X-CSRFToken", csrfToken());
    if (opts.json !== undefined) {
      headers.set("Content-Type", "application/json");
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    opts.headers = headers;
    const response = await fetch(url, opts);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { ok: response.ok, status: response.status, body: body };
  }
  window.staffFetch = staffFetch;
  window.staffCsrfToken = csrfToken;
  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-print]");
    if (target) { event.preventDefault(); window.print(); }
  });
})();
