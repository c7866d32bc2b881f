/* perflib: sortable, searchable tables without any library or network (inline in every page). */
(function () {
  "use strict";
  function key(td, numeric) {
    if (!td) { return numeric ? -Infinity : ""; }
    var v = td.getAttribute("data-v");
    if (numeric) { var f = parseFloat(v); return isNaN(f) ? -Infinity : f; }
    return (v !== null && v !== "") ? v : td.textContent;
  }
  function setup(table) {
    var body = table.tBodies[0];
    if (!body || !table.tHead) { return; }
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, idx) {
      th.classList.add("sortable");
      th.title = "点击排序";
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var asc = !th.classList.contains("sorted-asc");
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[idx], numeric), y = key(b.cells[idx], numeric);
          var c = numeric ? (x - y) : String(x).localeCompare(String(y), "zh-CN");
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    if (body.rows.length > 10 && !table.classList.contains("perf-static")) {
      var box = document.createElement("input");
      box.type = "search";
      box.className = "perf-search";
      box.placeholder = "搜索本表…";
      box.addEventListener("input", function () {
        var q = box.value.trim().toLowerCase();
        Array.prototype.forEach.call(body.rows, function (r) {
          r.style.display = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) ? "" : "none";
        });
      });
      table.parentNode.insertBefore(box, table);
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.perf-table"), setup);
})();
