// Conflicts in the open and the supervisor's feed, in headless Chromium,
// against `bothy-liveview` over real enrolled devices (see
// tests/tests/browser.rs, `conflicts_...`, which starts the server and the
// apps and runs this script).
//
// 1. Fiona's feed after the demo team's week (synced before this script
//    starts): its full-page height at 320 px is printed as
//    `FEED HEIGHT <px>` (and `FEED HEIGHT BEFORE <px>` for a baseline app,
//    when the test was given one).
// 2. `CONTROL make-conflict`: the test has Morag's and Priya's devices set
//    the same action to Done and Stuck while apart, sync both, and serve
//    their apps; it answers `ok <morag-url> <priya-url>`.
// 3. Both see a conflict card naming both; Fiona's feed lists it first;
//    Morag keeps Done and syncs; the card is gone on all three.
//
// axe-core checks every screen at 320 px. Prints `PASS conflicts` at the end.

import {
  env,
  control,
  check,
  accessible,
  shot,
  unlock,
  pressSyncNow,
  runJourneys,
} from "./common.mjs";

const FIONA = env("BOTHY_FIONA_URL");
const BEFORE = process.env.BOTHY_FIONA_BEFORE_URL || "";

async function opened(browser, url) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${url}/`);
  await unlock(page);
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();
  return page;
}

async function syncNow(page) {
  await page.getByRole("link", { name: "Sync", exact: true }).click();
  await pressSyncNow(page);
}

async function supervision(page) {
  await page.getByRole("link", { name: "Supervision" }).click();
  await page.getByRole("heading", { level: 1, name: "Supervision" }).waitFor();
}

/** The full-page height of the feed, as a 320 px screenshot would be. */
async function feedHeight(page) {
  return page.evaluate(() => document.documentElement.scrollHeight);
}

async function kaisPage(page) {
  await page.getByRole("link", { name: "Caseload", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();
  await page.getByRole("link", { name: "Kai Robertson" }).first().click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
}

const CARD = "article.conflict";

/** The card names both people and both values; `canSettle`: with a button for each. */
async function conflictCardNamesBoth(page, name, canSettle = true) {
  const card = page.locator(CARD).first();
  await card.waitFor();
  const text = await card.innerText();
  const words = canSettle ? ["Keep Done", "Keep Stuck"] : ["someone on the team will choose"];
  for (const w of ["Morag Fraser", "Priya Shah", "Done", "Stuck", ...words]) {
    check(text.includes(w), `${name}: the card says ${w}: ${text}`);
  }
  for (const button of await card.getByRole("button").all()) {
    const box = await button.boundingBox();
    check(box && box.height >= 44 && box.width >= 44, `${name}: 44 px buttons (${JSON.stringify(box)})`);
  }
  await accessible(page, name);
  await shot(page, name);
}

async function journey(browser) {
  // 1. The feed after the demo team's week.
  const fiona = await opened(browser, FIONA);
  await supervision(fiona);
  await fiona.locator("li.feed-item").first().waitFor();
  const cards = await fiona.locator("section.review li.feed-item").count();
  check(cards > 0, "the week's work is on the feed");
  // Fields are folded: opening one card shows them.
  const first = fiona.locator("section.review li.feed-item").first();
  check(!(await first.locator("ul.fields").isVisible()), "details start folded");
  await first.getByText("Show details").click();
  await first.locator("ul.fields").waitFor();
  await first.getByText("Show details").click();
  await accessible(fiona, "conflicts-feed-week");
  await shot(fiona, "conflicts-feed-week");
  console.log(`FEED HEIGHT ${await feedHeight(fiona)}`);
  console.log(`FEED CARDS ${cards}`);
  if (BEFORE) {
    const before = await opened(browser, BEFORE);
    await supervision(before);
    await before.locator("section.review").first().waitFor();
    await shot(before, "conflicts-feed-week-before");
    console.log(`FEED HEIGHT BEFORE ${await feedHeight(before)}`);
    await before.close();
  }

  // 2. Two devices apart set the same action to Done and Stuck.
  const [moragUrl, priyaUrl] = await control("make-conflict");
  const morag = await opened(browser, moragUrl);
  const priya = await opened(browser, priyaUrl);

  // 3. Both see a card naming both; so does Fiona's feed, first.
  await kaisPage(morag);
  await conflictCardNamesBoth(morag, "conflicts-morag-card");
  await kaisPage(priya);
  await conflictCardNamesBoth(priya, "conflicts-priya-card");
  await syncNow(fiona);
  await supervision(fiona);
  await fiona.getByRole("heading", { name: "Kai Robertson: open conflicts" }).waitFor();
  const order = await fiona.evaluate(() => {
    const text = document.body.innerText;
    return [text.indexOf("open conflicts"), text.indexOf("Overdue")];
  });
  check(order[0] >= 0 && order[0] < order[1], `conflicts come first on the feed (${order})`);
  // Fiona supervises the team but is not on Kai's team: she may not edit
  // the plan, so her card has no buttons.
  await conflictCardNamesBoth(fiona, "conflicts-feed-card", false);

  // Morag keeps Done: her card goes at once; after sync, everyone's does.
  await morag.locator(CARD).getByRole("button", { name: "Keep Done" }).click();
  await morag.locator(CARD).waitFor({ state: "detached" });
  await syncNow(morag);
  await syncNow(priya);
  await kaisPage(priya);
  await priya.getByRole("heading", { name: "Needs and actions" }).waitFor();
  check((await priya.locator(CARD).count()) === 0, "Priya's card is gone after sync");
  await syncNow(fiona);
  await supervision(fiona);
  await fiona.locator("section.review").first().waitFor();
  check((await fiona.locator(CARD).count()) === 0, "Fiona's card is gone after sync");
  check(!(await fiona.content()).includes("open conflicts"), "no open conflicts on the feed");
  await accessible(fiona, "conflicts-feed-settled");
  await kaisPage(morag);
  check((await morag.locator(CARD).count()) === 0, "Morag's card stays gone");
  await accessible(morag, "conflicts-morag-settled");
  await shot(morag, "conflicts-morag-settled");
  console.log("PASS conflicts");
}

await runJourneys("conflicts-failure", [journey]);
