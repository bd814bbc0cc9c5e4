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

  // Folded panels (narrow screens) open where a link points into them, and for print.
  var folded = doc.querySelectorAll("details[data-fold-below]");
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && doc.getElementById(id);
    if (!target) { return; }
    var inner = target.querySelector(":scope > details");
    if (inner) { inner.open = true; }
    for (var d = target.closest("details"); d; d = d.parentElement.closest("details")) { d.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  doc.addEventListener("click", function (e) {
    // A link to the fragment already in the address changes no hash: open it here too.
    var a = e.target.closest && e.target.closest("a[href^='#']");
    if (a && a.getAttribute("href") === location.hash) { openTarget(); }
  });
  openTarget();
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    folded.forEach(function (d) { if (!d.open) { closedForPrint.push(d); d.open = true; } });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

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

// Versions of a published site: a switcher, and a banner on superseded versions.
// Released pages never change, so they cannot know what came after them; they learn
// it from ../versions.js, which publish rewrites.
(function () {
  "use strict";
  var versions = window.PROCSITE_VERSIONS;
  var here = document.body.getAttribute("data-version");
  if (!versions || !versions.length || !here) { return; }
  var parts = location.pathname.split("/");
  var file = parts.pop() || "index.html";
  var folder = parts.pop();
  var target = function (v) {
    return "../" + v.version + "/" + (v.pages.indexOf(file) >= 0 ? file : "index.html");
  };
  var latest = versions[0];
  if (here !== latest.version && folder !== "latest") {
    var banner = document.createElement("div");
    banner.className = "superseded";
    banner.setAttribute("role", "alert");
    banner.textContent = "Superseded by version " + latest.version + ". ";
    var link = document.createElement("a");
    link.href = "../latest/" + (latest.pages.indexOf(file) >= 0 ? file : "index.html");
    link.textContent = "Read the current version";
    banner.appendChild(link);
    document.body.insertBefore(banner, document.body.firstChild);
  }
  var header = document.querySelector(".site-header .wrap");
  if (header) {
    var label = document.createElement("label");
    label.className = "version-switch";
    label.textContent = "Version ";
    var select = document.createElement("select");
    versions.forEach(function (v) {
      var option = document.createElement("option");
      option.value = target(v);
      option.textContent = v.version + (v.aliases.indexOf("latest") >= 0 ? " (latest)" : "");
      option.selected = v.version === here;
      select.appendChild(option);
    });
    select.addEventListener("change", function () { location.href = select.value; });
    label.appendChild(select);
    header.appendChild(label);
  }
})();
