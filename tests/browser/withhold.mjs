// Withholding in headless Chromium: Morag (lead professional) withholds a
// part of Kai's plan with a reason on his page and syncs; Kai's My plan,
// after his sync, no longer shows it and says some of it is private for now.
// Against the `bothy-liveview` program of two real devices (see
// `withholding_in_headless_chromium` in tests/tests/browser.rs).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS.
//
// The script asks the Rust test to stop or start the server by printing
// `CONTROL stop-server` / `CONTROL start-server` and waits for `ok` on
// standard input. Each journey prints `PASS <name>` when it is done.

import {
  env,
  check,
  accessible,
  shot,
  screen,
  unlock,
  syncNow,
  runJourneys,
} from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const KAI = env("BOTHY_KAI_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");

// ---------------------------------------------------------------- control

// ---------------------------------------------------------------- checks

// ---------------------------------------------------------------- the journey


async function withholding(browser) {
  // Kai sees how his health is going before anything is withheld.
  const kai = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await kai.goto(`${KAI}/`);
  await unlock(kai);
  await screen(kai, "withhold-kai-before", "My plan");
  check(await kai.locator("li strong", { hasText: "Healthy" }).count() === 1, "Healthy is shown before");

  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await screen(page, "withhold-caseload", "Caseload");
  await page.goto(`${MORAG}/child/${KAI_CHILD}`);
  await screen(page, "withhold-child", "Kai Robertson");
  await page.getByRole("heading", { name: "Withheld from the young person" }).waitFor();
  await page.locator("#withhold-section").selectOption("wellbeing/healthy");
  await page.locator("#withhold-reason").fill("Not before the meeting with his mum");
  await page.getByRole("button", { name: "Withhold", exact: true }).click();
  await page.getByText("Withheld. The young person").waitFor();
  await page.getByText("Not before the meeting with his mum").waitFor();
  await accessible(page, "withhold-child-after");
  await shot(page, "withhold-child-after");
  await syncNow(page, MORAG);

  await syncNow(kai, KAI);
  await kai.goto(`${KAI}/my-plan`);
  await screen(kai, "withhold-kai-after", "My plan");
  await kai.getByText("Some of your plan is private for now. Your worker can talk to you about it.").waitFor();
  check(await kai.locator("li strong", { hasText: "Healthy" }).count() === 0, "Healthy is not shown after");
  check(!(await kai.content()).includes("Not before the meeting"), "the reason is never shown to Kai");
  console.log("PASS withholding");
}

await runJourneys("withhold-failure", [withholding]);
