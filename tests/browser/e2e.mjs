// End-to-end checks of a built output in headless Chromium, from file://.
// Usage: node e2e.mjs <output-dir> <check>...   Prints one line per check:
// "ok <name>" or "FAIL <name>: <why>"; exits 1 if any check failed.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";
import { execFileSync } from "node:child_process";

const [out, ...names] = process.argv.slice(2);
const url = (rel) => pathToFileURL(path.join(out, rel)).href;

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

const checks = {
  // The portal leads to a site, the site's index to a document.
  async navigation(page) {
    await page.goto(url("index.html"));
    await page.click("a[href*='cork/']");
    await page.waitForLoadState();
    expect(/cork\//.test(page.url()), `portal link opened ${page.url()}`);
    // A row is one link: a click on the title, away from the ID, opens the document.
    const title = page.locator("table.doc-rows tbody tr", { hasText: "SOP-0020" }).locator("td").nth(1);
    const box = await title.boundingBox();
    expect(box, "no title cell for SOP-0020 in the index");
    // A click with the mouse does not wait for the page it opens: wait for its address.
    await Promise.all([
      page.waitForURL(/\/SOP-0020\.html$/),
      page.mouse.click(box.x + box.width * 0.6, box.y + box.height / 2),
    ]);
    await page.waitForLoadState();
    const h1 = await page.textContent("h1");
    expect(/Corrective and Preventive Action/.test(h1), `document heading is ${h1}`);
  },
  // Site content is marked where a reader sees it.
  async "site-content-marked"(page) {
    await page.goto(url("cork/r2/SOP-0020.html"));
    const piece = page.locator(".piece-site").first();
    expect(await piece.isVisible(), "no visible site content");
    const text = await piece.innerText();
    expect(/Cork site quality head/.test(text), `site piece says ${text}`);
    const label = await page.locator(".piece-site .piece-label").first().innerText();
    expect(label.trim().length > 0, "site content has no label");
  },
  // An older version says it is superseded, and the switcher moves between versions.
  async versions(page) {
    await page.goto(url("cork/r1/SOP-0020.html"));
    const banner = await page.locator(".superseded").innerText();
    expect(/Superseded by version r2/.test(banner), `banner says ${banner}`);
    const options = await page.locator(".version-switch option").allTextContents();
    expect(options.join("|") === "r2 (latest)|r1", `switcher offers ${options.join("|")}`);
    await page.selectOption(".version-switch select", { label: "r2 (latest)" });
    await page.waitForURL(/\/r2\/SOP-0020\.html$/);
    expect((await page.locator(".superseded").count()) === 0, "the latest version says superseded");
  },
  // From a page a version lacks (here a history page only r1 has), the switcher and
  // the superseded banner lead to the same document's page, not to the index.
  async "versions-fallback"(page) {
    fs.copyFileSync(path.join(out, "cork/r1/SOP-0020.diff.html"), path.join(out, "cork/r1/SOP-0020.history.html"));
    await page.goto(url("cork/r1/SOP-0020.history.html"));
    const href = await page.locator(".superseded a").getAttribute("href");
    expect(href === "../latest/SOP-0020.html", `banner links ${href}`);
    await page.selectOption(".version-switch select", { label: "r2 (latest)" });
    await page.waitForURL(/\/r2\/SOP-0020\.html$/);
  },
  // Printed, a page says it is uncontrolled.
  async print(page) {
    await page.goto(url("cork/r2/SOP-0020.html"));
    await page.emulateMedia({ media: "print" });
    const footer = page.locator(".print-footer");
    expect(await footer.isVisible(), "no print footer when printed");
    expect(/Uncontrolled when printed/.test(await footer.innerText()), "footer text");
    await page.emulateMedia({ media: "screen" });
    expect(!(await footer.isVisible()), "print footer shown on screen");
  },
};

// A screenshot of the page for the record, when SCREENSHOTS names a folder.
async function shot(page, name) {
  if (process.env.SCREENSHOTS) {
    await page.screenshot({ path: path.join(process.env.SCREENSHOTS, `${name}.png`), fullPage: false });
  }
}

// The demo's site-vs-global redline: insertions underlined (a cue beyond colour),
// the Markdown source diff one click away.
checks["demo-redline"] = async function (page) {
  await page.setViewportSize({ width: 1100, height: 1400 });
  await page.goto(url("limerick/2026.2/SOP-0020.diff.html"));
  const ins = page.locator(".redline ins").first();
  expect(await ins.isVisible(), "no visible insertion");
  expect(/Limerick Site Quality Head/.test(await page.locator(".redline").innerText()), "the site's line is missing");
  const line = await ins.evaluate((e) => getComputedStyle(e).textDecorationLine);
  expect(/underline/.test(line), `an insertion is marked by colour only (${line})`);
  const raw = page.locator("details.raw-diff");
  expect(!(await raw.locator("table.diff").first().isVisible()), "the Markdown diff is open by default");
  await raw.locator("summary").click();
  expect(await raw.locator("table.diff").first().isVisible(), "the Markdown diff does not open");
  await shot(page, "demo-redline");
};

// The demo's change record for 2026.2 at Limerick: the revised CAPA with its
// revisions, change control and a redline whose deletions are struck through, in
// print too; the training table.
checks["demo-changes"] = async function (page) {
  await page.setViewportSize({ width: 1100, height: 1400 });
  await page.goto(url("limerick/2026.2/changes.html"));
  const revised = page.locator("#change-SOP-0020");
  const facts = await revised.locator(".change-facts").innerText();
  expect(/1 → 2/.test(facts) && /CC-2026-012/.test(facts), `revised facts say ${facts}`);
  expect(/SOP-0070/.test(await page.locator("table.training").innerText()), "SOP-0070 needs no training?");
  expect((await revised.locator(".redline ins").count()) > 0, "the revision's redline marks nothing");
  await page.emulateMedia({ media: "print" });
  const del = revised.locator(".redline del").first();
  if ((await del.count()) > 0) {
    const line = await del.evaluate((e) => getComputedStyle(e).textDecorationLine);
    expect(/line-through/.test(line), `a deletion prints without strike-through (${line})`);
  }
  const ins = await revised.locator(".redline ins").first().evaluate((e) => getComputedStyle(e).textDecorationLine);
  expect(/underline/.test(ins), `an insertion prints without underline (${ins})`);
  await page.emulateMedia({ media: "screen" });
  await shot(page, "demo-changes");
};

// The search box: "/" focuses it, a word from a section body finds that section
// (prefix, case and diacritics folded), arrows and Enter open it at its anchor.
checks.search = async function (page) {
  await page.goto(url("cork/r2/index.html"));
  await page.keyboard.press("/");
  expect(await page.evaluate(() => document.activeElement.id === "search-input"), "/ does not focus the search box");
  await page.keyboard.type("ARCHIV");
  await page.waitForSelector("#search-results [role=option]");
  const first = await page.locator("#search-results [role=option]").first().innerText();
  expect(/SOP-0020/.test(first) && /Records/.test(first), `first result is ${first}`);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.waitForURL(/SOP-0020\.html#records$/);
  // A title match ranks above a body match.
  await page.goto(url("boston/r2/index.html"));
  await page.fill("#search-input", "correct");
  await page.waitForSelector("#search-results [role=option]");
  const all = await page.locator("#search-results [role=option]").allInnerTexts();
  expect(/^SOP-0020 Corrective/.test(all[0]), `title match is not first: ${all[0]}`);
  expect(all.some((r) => /^SOP-0090 Sterilization/.test(r) && /corrective action/.test(r)),
    `the body match is missing: ${all.join(" | ")}`);
};

// Printed to PDF as a reader's browser prints it, with script and without: the text of
// each printed page, for tests/browser.rs to find the control stamp on every one.
// PRINT_PAGE is the page (relative to the output), PRINT_OUT the JSON file written:
// { "script": [text of page 1, ...], "noscript": [...] }; the PDFs are kept beside it.
checks["print-pdf"] = async function () {
  const result = {};
  for (const [name, javaScriptEnabled] of [["script", true], ["noscript", false]]) {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url(process.env.PRINT_PAGE));
    const pdf = `${process.env.PRINT_OUT}.${name}.pdf`;
    await page.pdf({ path: pdf, preferCSSPageSize: true });
    await context.close();
    expect(errors.length === 0, `script errors: ${errors.join("; ")}`);
    const text = execFileSync("pdftotext", ["-enc", "UTF-8", pdf, "-"], { encoding: "utf8" });
    result[name] = text.split("\f").filter((t) => t.trim() !== "");
  }
  fs.writeFileSync(process.env.PRINT_OUT, JSON.stringify(result, null, 1));
};

// A site's search never finds another site's addendum text.
checks["search-isolation"] = async function (page) {
  await page.goto(url("boston/r2/index.html"));
  await page.fill("#search-input", "supplier");
  await page.waitForSelector("#search-results li");
  const none = await page.locator("#search-results [role=option]").count();
  expect(none === 0, `boston finds cork's addendum text (${none} results)`);
  await page.goto(url("cork/r2/index.html"));
  await page.fill("#search-input", "supplier");
  await page.waitForSelector("#search-results [role=option]");
  const cork = await page.locator("#search-results [role=option]").first().innerText();
  expect(/SOP-0020/.test(cork), `cork does not find its own addendum text: ${cork}`);
};

// procsite serve: an edit reloads the open page with the change; a broken file shows
// the error overlay over the last good page; fixing it removes the overlay.
// Needs SERVE_URL (the server's address) and SERVE_ROOT (the repository it serves).
checks.serve = async function (page) {
  const root = process.env.SERVE_ROOT;
  const file = path.join(root, "procedures/global/SOP-0020.md");
  const good = fs.readFileSync(file, "utf8");
  await page.goto(process.env.SERVE_URL + "cork/preview/SOP-0020.html");
  expect(/Global purpose text/.test(await page.textContent(".doc-body")), "the page is not served");
  fs.writeFileSync(file, good.replace("Global purpose text.", "Purpose edited while serving."));
  await page.waitForFunction(() => /Purpose edited while serving/.test(document.body.innerText), null, { timeout: 30000 });
  fs.writeFileSync(file, good.replace("title: Corrective", "titel: Corrective"));
  await page.waitForSelector("#procsite-serve-errors", { timeout: 30000 });
  const overlay = await page.textContent("#procsite-serve-errors");
  expect(/SOP-0020\.md:3:1: error\[unknown-field\]: unknown field 'titel'/.test(overlay), `overlay says ${overlay}`);
  expect(/Purpose edited while serving/.test(await page.textContent(".doc-body")), "the last good page is not kept");
  fs.writeFileSync(file, good);
  await page.waitForFunction(() => !document.getElementById("procsite-serve-errors") && /Global purpose text/.test(document.body.innerText), null, { timeout: 30000 });
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let failed = 0;
for (const name of names) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await checks[name](page);
    expect(errors.length === 0, `script errors: ${errors.join("; ")}`);
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split("\n")[0]}`);
  }
  await page.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
