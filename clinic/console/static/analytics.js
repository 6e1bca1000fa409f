/*
 * The analytics page's charts: each is drawn by Chart.js from the data table printed beside it.
 * The table stays the page's accessible version (screen readers read it; the canvas is hidden from
 * them); sighted users can show it with the button under each chart. Without this script, or
 * without Chart.js, the tables are simply shown.
 */
(function () {
  "use strict";
  if (!window.Chart) return;

  // Okabe-Ito: colours told apart with the common colour-vision deficiencies.
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var SEVERITY = { Emergency: "#B91C1C", Crisis: "#7E22CE", Urgent: "#C2410C", Routine: "#6B7280" };

  function number(text) {
    var value = parseFloat(String(text).replace(/[^0-9.\-]/g, ""));
    return isNaN(value) ? 0 : value;
  }

  function readTable(table) {
    var series = Array.prototype.slice.call(table.querySelectorAll("thead th")).slice(1).map(function (th) {
      return th.textContent.trim();
    });
    var labels = [], values = series.map(function () { return []; });
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
      labels.push(row.querySelector("th").textContent.trim());
      Array.prototype.forEach.call(row.querySelectorAll("td"), function (td, i) { values[i].push(number(td.textContent)); });
    });
    return { labels: labels, series: series, values: values };
  }

  function colour(name, i) {
    return SEVERITY[name] || COLOURS[i % COLOURS.length];
  }

  function config(kind, data, unit) {
    var stacked = kind === "stacked" || kind === "percent" || kind === "stacked-hbar";
    var horizontal = kind === "hbar" || kind === "stacked-hbar";
    var datasets = data.series.map(function (name, i) {
      var set = { label: name, data: data.values[i], backgroundColor: colour(name, i), borderColor: colour(name, i) };
      if (kind === "line") { set.fill = false; set.tension = 0.2; set.pointRadius = data.labels.length > 60 ? 0 : 2; }
      if (kind === "bar-target" && name === "Target") {
        set.type = "line"; set.borderDash = [6, 4]; set.pointStyle = "rectRot"; set.pointRadius = 6; set.borderColor = "#000000";
        set.backgroundColor = "#000000";
      }
      return set;
    });
    var valueAxis = { beginAtZero: true, stacked: stacked, title: { display: !!unit, text: unit } };
    if (kind === "percent") valueAxis.max = 100;
    var labelAxis = { stacked: stacked, ticks: { autoSkip: true, maxRotation: 0 } };
    return {
      type: kind === "line" ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: data.series.length > 1 } },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis }
      }
    };
  }

  function draw(figure) {
    var table = figure.querySelector("table");
    var box = figure.querySelector(".canvas-box");
    var canvas = figure.querySelector("canvas");
    var data = readTable(table);
    if (!data.labels.length) return;
    box.hidden = false;
    var rows = data.labels.length;
    box.style.height = (figure.dataset.chart.indexOf("hbar") >= 0 ? Math.max(160, 28 * rows) : 280) + "px";
    new window.Chart(canvas, config(figure.dataset.chart, data, figure.dataset.unit));

    var holder = figure.querySelector(".chart-table");
    holder.classList.add("sr-only");
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "show-table";
    toggle.setAttribute("aria-controls", table.id);
    toggle.setAttribute("aria-expanded", "false");
    toggle.textContent = "Show the figures as a table";
    toggle.addEventListener("click", function () {
      var shown = holder.classList.toggle("sr-only") === false;
      toggle.setAttribute("aria-expanded", String(shown));
      toggle.textContent = shown ? "Hide the table" : "Show the figures as a table";
    });
    figure.appendChild(toggle);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("figure[data-chart]"), draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
