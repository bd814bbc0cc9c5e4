// procsite page helpers. Every page works without script; this only adds comfort.
(function () {
  "use strict";
  var doc = document;

  // Copy the full content hash when its short form is clicked (or activated by keyboard).
  doc.querySelectorAll("code.hash[data-full]").forEach(function (el) {
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", "Content hash " + el.textContent + ", copy the full SHA-256");
    function copy() {
      var full = el.getAttribute("data-full");
      if (!navigator.clipboard) { return; }
      navigator.clipboard.writeText(full).then(function () {
        el.classList.add("copied");
        setTimeout(function () { el.classList.remove("copied"); }, 1200);
      }, function () { /* clipboard refused (e.g. file://): nothing to do */ });
    }
    el.addEventListener("click", copy);
    el.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); copy(); }
    });
  });

  // Wide tables in a procedure scroll sideways in their own box, never the whole page.
  doc.querySelectorAll(".doc-body table").forEach(function (table) {
    if (table.parentNode.classList.contains("table-scroll")) { return; }
    var box = doc.createElement("div");
    box.className = "table-scroll";
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Table");
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
  });

  // Site index: filter the document lists by id or title.
  var lists = doc.querySelectorAll("table.doc-list[data-filterable] tbody tr");
  var anchor = doc.querySelector("[data-filter-here]");
  if (lists.length && anchor) {
    var wrap = doc.createElement("div");
    wrap.className = "doc-filter";
    wrap.innerHTML = '<label for="doc-filter-input">Find a document</label>' +
      '<input id="doc-filter-input" type="search" autocomplete="off" placeholder="ID or words of the title">' +
      '<p class="doc-filter-none" hidden>No document matches.</p>';
    anchor.appendChild(wrap);
    var input = wrap.querySelector("input");
    var none = wrap.querySelector(".doc-filter-none");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      lists.forEach(function (tr) {
        var text = tr.textContent.toLowerCase();
        var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
        tr.hidden = !hit;
        if (hit) { shown++; }
      });
      doc.querySelectorAll("section.doc-group[data-filterable-group]").forEach(function (sec) {
        sec.hidden = sec.querySelectorAll("tbody tr:not([hidden])").length === 0;
      });
      none.hidden = shown !== 0;
    });
  }

  // The print footer names the print date and the address of the controlled copy.
  var footer = doc.querySelector(".print-footer");
  if (footer) {
    var base = footer.textContent;
    window.addEventListener("beforeprint", function () {
      var d = new Date().toISOString().slice(0, 10);
      footer.textContent = base + " · printed " + d + " · " + location.href;
    });
    window.addEventListener("afterprint", function () { footer.textContent = base; });
  }
})();
