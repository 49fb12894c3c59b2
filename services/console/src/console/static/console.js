// The console's only script: small enhancements of pages that work without it.
// No inline script anywhere (the Content-Security-Policy forbids it); no library.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  focusErrorSummary();
  footerWarning();
  mergePicker();
  liveProgress();
  uploadProgress();
});

// GOV.UK: the error summary takes the focus, so that a screen reader announces it.
function focusErrorSummary() {
  const summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();
}

function footerWarning() {
  const toggle = document.querySelector("[data-footer-toggle]");
  const warning = document.getElementById("footer-warning");
  if (!toggle || !warning) return;
  toggle.addEventListener("change", () => { warning.hidden = toggle.checked; });
}

// Inserts {{ field }} where the cursor was in the subject or a body (the last one used).
function mergePicker() {
  const picker = document.querySelector("[data-merge-picker]");
  if (!picker) return;
  const targets = ["subject", "html_body", "text_body"]
    .map((id) => document.getElementById(id)).filter(Boolean);
  let last = targets[1] || targets[0];
  targets.forEach((el) => el.addEventListener("focus", () => { last = el; }));
  picker.querySelector("[data-insert-merge]").addEventListener("click", () => {
    const select = picker.querySelector("select");
    let name = select.value;
    if (name === "attr.") name = "attr.key";
    const text = "{{ " + name + " }}";
    const start = last.selectionStart ?? last.value.length;
    const end = last.selectionEnd ?? start;
    last.value = last.value.slice(0, start) + text + last.value.slice(end);
    last.focus();
    last.setSelectionRange(start + text.length, start + text.length);
  });
}

// Polls the campaign's progress while it sends; samples opens and clicks for the chart
// (the samples live only in this page, from the moment it was opened).
function liveProgress() {
  const section = document.getElementById("progress");
  if (!section) return;
  const url = section.dataset.progressUrl;
  const samples = [];
  const draw = (progress) => {
    samples.push({ t: Date.now(), opens: progress.opens, clicks: progress.clicks });
    if (samples.length > 300) samples.shift();
    drawChart(samples);
  };
  const show = (progress) => {
    section.querySelectorAll("[data-figure]").forEach((el) => {
      el.textContent = progress[el.dataset.figure];
    });
    section.querySelectorAll("[data-excluded]").forEach((el) => {
      el.textContent = progress.excluded[el.dataset.excluded] || 0;
    });
    const bar = document.getElementById("progress-bar");
    bar.max = progress.total || 1;
    bar.value = progress.sent + progress.bounced + progress.soft_bounced + progress.failed;
    draw(progress);
    // A new state (sent) changes more than figures: the server renders the page again.
    if (progress.state !== section.dataset.state) window.location.reload();
  };
  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.redirected) { window.location.reload(); return; } // signed out
      if (response.ok) show(await response.json());
    } catch (error) {
      // The network failed for a moment: the next poll tries again.
    }
    const sending = section.dataset.state !== "sent";
    window.setTimeout(poll, sending ? 1500 : 10000);
  };
  poll();
}

function drawChart(samples) {
  const chart = document.getElementById("chart");
  if (!chart || samples.length === 0) return;
  const [left, right, top, bottom] = [40, 590, 10, 140];
  const first = samples[0].t;
  const span = Math.max(samples[samples.length - 1].t - first, 1);
  const max = Math.max(1, ...samples.map((s) => Math.max(s.opens, s.clicks)));
  const points = (key) => samples.map((s) => {
    const x = left + ((s.t - first) / span) * (right - left);
    const y = bottom - (s[key] / max) * (bottom - top);
    return x.toFixed(1) + "," + y.toFixed(1);
  }).join(" ");
  chart.querySelector(".chart__opens").setAttribute("points", points("opens"));
  chart.querySelector(".chart__clicks").setAttribute("points", points("clicks"));
  document.getElementById("chart-max").textContent = String(max);
}

// Sends the CSV with a progress bar; the server answers with the report page.
function uploadProgress() {
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    const file = form.querySelector("input[type=file]");
    if (!file.files.length) return; // let the server say what is missing
    event.preventDefault();
    const bar = document.getElementById("upload-progress");
    const status = document.getElementById("upload-status");
    const button = form.querySelector("button[type=submit]");
    bar.hidden = false;
    button.disabled = true;
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    request.upload.addEventListener("load", () => {
      bar.removeAttribute("value"); // the server checks the rows: indeterminate
      status.textContent = status.dataset.checking || "…";
    });
    request.addEventListener("load", () => {
      if (request.responseURL && request.responseURL !== form.action) {
        window.location.assign(request.responseURL);
      } else {
        document.open();
        document.write(request.responseText);
        document.close();
      }
    });
    request.addEventListener("error", () => { button.disabled = false; bar.hidden = true; });
    request.send(new FormData(form));
  });
}
