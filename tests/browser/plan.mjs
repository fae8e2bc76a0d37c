// The plan's assessment, needs and reviews in headless Chromium (issue 14,
// items 1-3), against the `bothy-liveview` program of two real devices (see
// `plan_assessment_needs_and_reviews_in_headless_chromium` in
// tests/tests/browser.rs, which starts the server and the apps and runs
// this script).
//
// Morag rates Safe 4 with the server stopped, and the rating syncs once it
// is back; she visits every new screen (assessment, My World, a need added,
// edited and closed, the review screen). Fiona, the team manager, syncs:
// Kai's wheel on her screen shows 4 beside the value at the last review,
// and her feed names Morag. axe-core checks every new screen at 320 px.
//
// CONTROL protocol as in journeys.mjs: `CONTROL stop-server` /
// `CONTROL start-server` on standard output, `ok` back on standard input.

import {
  env,
  control,
  check,
  accessible,
  shot,
  screen,
  unlock,
  pressSyncNow,
  syncIndicator,
  runJourneys,
} from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const FIONA = env("BOTHY_FIONA_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");

async function kaisPage(page) {
  await page.getByRole("link", { name: "Caseload" }).click();
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();
  await page.getByRole("link", { name: "Kai Robertson" }).first().click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
}

async function morag(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();
  await syncIndicator(page, "Everything is synced");
  await kaisPage(page);
  await screen(page, "plan-child", "Kai Robertson");

  // The server goes away: Safe is rated 4 with no signal.
  await control("stop-server");
  await page.getByRole("link", { name: "Assess wellbeing" }).click();
  await screen(page, "plan-assess", "Assess wellbeing");
  await page.locator("#assess-indicator").selectOption("safe");
  await page.locator("#assess-score").selectOption("4");
  await page.locator("#assess-concerns").fill("Arguments at home at night; Kai is tired in the mornings.");
  await page.getByRole("button", { name: "Save rating" }).click();
  await page.getByText("Safe rated 4 out of 10").waitFor();
  await page.locator("#assess-current", { hasText: "Now: 4 out of 10, by Morag Fraser" }).waitFor();
  await syncIndicator(page, /No connection to the server\. \d+ changes? kept safely on this device/);
  await accessible(page, "plan-assess-offline");
  await shot(page, "plan-assess-offline");

  // Back on the child's page, still offline: the wheel has the new rating.
  await page.getByRole("link", { name: "Back to the child's page" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.locator("ul.ratings li", { hasText: "Safe: now 4 out of 10 (by Morag Fraser" }).waitFor();

  // My World, edited.
  await page.getByRole("link", { name: "Edit My World" }).click();
  await screen(page, "plan-my-world", "My World Triangle");
  await page.locator("#world-wider").fill("Gran lives nearby; football club; a new friend at school.");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.getByText("a new friend at school.").waitFor();

  // A need: added, edited, closed.
  await page.getByRole("link", { name: "Add a need" }).click();
  await screen(page, "plan-add-need", "Add a need");
  await page.locator("#need-need").fill("Kai needs to feel safe at home at night");
  await page.locator("#need-outcome").fill("Kai sleeps through most nights");
  await page.getByLabel("Safe", { exact: true }).check();
  await page.getByRole("button", { name: "Add need" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.getByRole("link", { name: "Edit or close: Kai needs to feel safe at home at night" }).click();
  await screen(page, "plan-edit-need", "Edit a need");
  await page.locator("#need-outcome").fill("Kai sleeps through most nights by March");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.getByText("Kai sleeps through most nights by March").waitFor();
  await page.getByRole("link", { name: "Edit or close: Kai needs to feel safe at home at night" }).click();
  await page.getByRole("heading", { level: 1, name: "Edit a need" }).waitFor();
  await page.locator("#need-close-reason").fill("Outcome reached");
  await page.getByRole("button", { name: "Close need" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.getByText("Closed by Morag Fraser: Outcome reached").waitFor();

  // The review screen (looked at, then left: a review held today would
  // move "the last review" the supervisor's wheel is checked against).
  await page.getByRole("link", { name: "Review the plan" }).click();
  await screen(page, "plan-review", "Review the plan");
  await page.getByRole("link", { name: "Cancel" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();

  // The server is back: the app syncs by itself.
  await control("start-server");
  await syncIndicator(page, "Everything is synced");
  await page.close();
  console.log("PASS morag");
}

async function fiona(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${FIONA}/`);
  await unlock(page);
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();
  await page.getByRole("link", { name: "Sync", exact: true }).click();
  await pressSyncNow(page);

  // Kai's page, as the supervisor reads it: the wheel shows Morag's 4 beside
  // the value at the last review (5, on 16 July 2026), and no plan edits.
  await kaisPage(page);
  await page.locator("ul.ratings li", {
    hasText: /Safe: now 4 out of 10 \(by Morag Fraser, .*\), at the last review 5 out of 10/,
  }).waitFor();
  check(await page.locator("svg[role=img]").count() === 1, "the wheel is drawn");
  check(await page.getByRole("link", { name: "Assess wellbeing" }).count() === 0, "no plan edits for a supervisor outside the team");
  await screen(page, "plan-supervisor-child", "Kai Robertson");

  // Her feed names Morag beside the change.
  await page.getByRole("link", { name: "Supervision" }).click();
  await page.getByRole("heading", { level: 1, name: "Supervision" }).waitFor();
  const review = page.locator("section.review", {
    has: page.getByRole("heading", { name: /Kai Robertson/ }),
  });
  await review.getByText("Morag Fraser").first().waitFor();
  check((await review.innerText()).includes("Morag Fraser"), "the feed names Morag");
  await page.close();
  console.log("PASS fiona");
}

await runJourneys("plan-failure", [morag, fiona]);
