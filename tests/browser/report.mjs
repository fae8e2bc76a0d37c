// The outcomes report's HTML (a file named in $BOTHY_REPORT) opened with no
// network at 320 px: its charts drawn, its tables captioned, axe-core 0
// violations, a screenshot `outcomes-report.png`. Run by
// tests/tests/outcomes_report.rs.
import { accessible, check, env, runJourneys, shot } from "./common.mjs";

await runJourneys("outcomes-report-failure", [
  async (browser) => {
    const context = await browser.newContext({ viewport: { width: 320, height: 800 } });
    // Nothing may be fetched: every request but the file itself fails the check.
    const fetched = [];
    context.on("request", (r) => {
      if (!r.url().startsWith("file://")) fetched.push(r.url());
    });
    const page = await context.newPage();
    await page.goto("file://" + env("BOTHY_REPORT"));
    await page.getByRole("heading", { level: 1, name: /Outcomes report/ }).waitFor();
    check((await page.locator("svg[role=img]").count()) >= 2, "charts drawn as SVG");
    check((await page.locator("table caption").count()) >= 4, "captioned tables");
    await accessible(page, "outcomes report");
    check(fetched.length === 0, `nothing fetched (fetched: ${fetched.join(", ")})`);
    await shot(page, "outcomes-report");
    console.log("screen outcomes-report: ok (axe: 0 violations)");
  },
]);
