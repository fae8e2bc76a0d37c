// Moving on in headless Chromium (issue 15, item 4): Morag's caseload flags
// Skye (15, no transition plan); Morag records Skye's transition on the
// "Moving on" screen reached from her page (needed, adult services ticked,
// the plan, a start date) and the flag goes; she records Kai's too and
// syncs; Kai's My plan, after his sync, says "Moving on" in plain words.
// Against the `bothy-liveview` program of two real devices (see
// `moving_on_in_headless_chromium` in tests/tests/browser.rs).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS. The journey
// prints `PASS moving-on` when it is done.

import { env, check, accessible, shot, screen, unlock, syncNow, runJourneys } from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const KAI = env("BOTHY_KAI_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");
const SKYE_CHILD = env("BOTHY_SKYE_CHILD");


/** Fill and save the Moving on form of the page it is on. */
async function recordMovingOn(page, plan, startBy) {
  await page.getByLabel("Yes", { exact: true }).check();
  await page.getByLabel("Adult social work").check();
  await page.getByLabel("Housing").check();
  await page.locator("#transition-plan").fill(plan);
  await page.locator("#transition-start-by").fill(startBy);
  await page.getByRole("button", { name: "Save" }).click();
}

async function movingOn(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await screen(page, "moving-on-caseload", "Caseload");
  const skyeCard = page.locator(".child-card", { hasText: "Skye Morrison" });
  await skyeCard.locator(".flag.transition", { hasText: "No transition plan" }).waitFor();
  check(
    (await page.locator(".child-card", { hasText: "Ruaridh Paterson" }).locator(".flag.transition").count()) === 0,
    "Ruaridh has a transition plan: no flag",
  );

  await page.goto(`${MORAG}/child/${SKYE_CHILD}`);
  await screen(page, "moving-on-child-before", "Skye Morrison");
  await page.locator("#no-transition-plan").waitFor();
  await page.getByRole("link", { name: "Edit moving on" }).click();
  await screen(page, "moving-on-form", "Moving on");
  await page.locator(".who-will-see-line", { hasText: "Your team" }).waitFor();
  // Saving with nothing chosen says what is missing, and stays accessible.
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("say whether a transition is needed").waitFor();
  await accessible(page, "moving-on-form-problem");
  await recordMovingOn(page, "Meet the adult carers' team in March", "2027-03-01");
  await screen(page, "moving-on-child-after", "Skye Morrison");
  await page.getByText("Meet the adult carers' team in March").waitFor();
  await page.getByText("Adult social work, Housing").waitFor();
  check((await page.locator("#no-transition-plan").count()) === 0, "the page's flag is gone");

  await page.getByRole("link", { name: "Caseload" }).click();
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();
  check((await skyeCard.locator(".flag.transition").count()) === 0, "the caseload flag is gone");

  // Kai's too, for his My plan.
  await page.goto(`${MORAG}/child/${KAI_CHILD}/moving-on`);
  await screen(page, "moving-on-kai-form", "Moving on");
  await recordMovingOn(page, "Visit the college with Mr Reid", "2027-05-01");
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await syncNow(page, MORAG);

  const kai = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await kai.goto(`${KAI}/`);
  await unlock(kai);
  await syncNow(kai, KAI);
  await kai.goto(`${KAI}/my-plan`);
  await screen(kai, "moving-on-my-plan", "My plan");
  const part = kai.locator("#moving-on");
  await part.getByRole("heading", { name: "Moving on" }).waitFor();
  await part.getByText("Getting ready for when you are older: Visit the college with Mr Reid").waitFor();
  await part.getByText("Who will help: Adult social work, Housing").waitFor();
  await part.getByText("Starting by: 1 May 2027").waitFor();
  await shot(kai, "moving-on-my-plan-part");
  console.log("PASS moving-on");
}

await runJourneys("moving-on-failure", [movingOn]);
