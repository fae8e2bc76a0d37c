// The supervisor's outcome view in headless Chromium: Fiona (team manager)
// opens Team outcomes from her Supervision screen at 320 px, sees the two
// charts fit the screen with their tables of numbers beside them, and
// follows the fall in Ellie's rating to Ellie's page. Against the
// `bothy-liveview` program of a real device (see
// `team_outcomes_in_headless_chromium` in tests/tests/browser.rs).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS. The journey
// prints `PASS outcomes` when it is done.

import { env, check, screen, unlock, runJourneys } from "./common.mjs";

const FIONA = env("BOTHY_FIONA_URL");
const ELLIE_CHILD = env("BOTHY_ELLIE_CHILD");

async function outcomes(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${FIONA}/`);
  await unlock(page);
  await page.goto(`${FIONA}/supervision`);
  await screen(page, "outcomes-supervision", "Supervision");
  await page.getByRole("link", { name: "Team outcomes: ratings, reviews and visits" }).click();
  await screen(page, "outcomes", "Team outcomes");

  // Two charts, each a named picture no wider than the screen.
  const charts = page.getByRole("img", { name: /chart of children in each band/ });
  check(await charts.count() === 2, "two charts, now and at the last review");
  for (const chart of await charts.all()) {
    const box = await chart.boundingBox();
    check(box && box.width > 200 && box.x + box.width <= 320, `a chart fits 320 px (${JSON.stringify(box)})`);
  }
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 320, `the page does not scroll sideways (${wide} px)`);

  // The numbers in text: Healthy now is Kai 6 and Ellie 4, both in 4-6.
  const now = page.getByRole("table", { name: /^Now: children in each band/ });
  const healthy = now.getByRole("row", { name: /^Healthy/ });
  check((await healthy.innerText()).replace(/\s+/g, " ").trim() === "Healthy 0 2 0", "Healthy now: 0, 2, 0");
  await page.getByText("reviews held on time").or(page.getByText("review held on time")).first().waitFor();
  await page.getByText("Seen alone at their last visit").waitFor();

  // The fall is named and leads to the child.
  const falls = page.locator("section", { has: page.getByRole("heading", { name: "Ratings that fell by 2 or more" }) });
  await falls.getByText("Healthy fell from 6 to 4").waitFor();
  const link = falls.getByRole("link", { name: "Ellie Watson" });
  const box = await link.boundingBox();
  check(box && box.height >= 44, `the link is a 44 px target (${JSON.stringify(box)})`);
  await link.click();
  await page.waitForURL(`**/child/${ELLIE_CHILD}`);
  await screen(page, "outcomes-ellie", "Ellie Watson");
  console.log("PASS outcomes");
}

await runJourneys("outcomes-failure", [outcomes]);
