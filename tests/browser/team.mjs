// Team changes in headless Chromium: Morag (lead professional) opens Kai's
// Team screen, adds Iain (police) and sees the change waiting to sync; after
// her sync the team lists him, and after his sync Iain's caseload holds Kai.
// Against the `bothy-liveview` program of two real devices (see
// `team_changes_in_headless_chromium` in tests/tests/browser.rs).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS. The journey
// prints `PASS team` when it is done.

import { env, check, accessible, shot, screen, unlock, syncNow, runJourneys } from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const IAIN = env("BOTHY_IAIN_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");
const IAIN_PERSON = env("BOTHY_IAIN_PERSON");

async function team(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await screen(page, "team-caseload", "Caseload");
  await page.goto(`${MORAG}/child/${KAI_CHILD}`);
  await page.getByRole("link", { name: "Team: who is on it, and changes" }).click();
  await screen(page, "team-before", "Team");
  check(await page.locator("ul.team-members li", { hasText: "Iain Campbell" }).count() === 0, "Iain is not on the team yet");

  await page.locator("#team-add-person").selectOption(IAIN_PERSON);
  await page.getByRole("button", { name: "Add to the team" }).click();
  await page.getByText("Add Iain Campbell (Police) as a member").waitFor();
  await page.getByRole("heading", { name: "Waiting to sync" }).waitFor();
  await accessible(page, "team-waiting");
  await shot(page, "team-waiting");

  await syncNow(page, MORAG);
  await page.goto(`${MORAG}/child/${KAI_CHILD}/team`);
  await screen(page, "team-after", "Team");
  await page.locator("ul.team-members li", { hasText: "Iain Campbell" }).waitFor();
  check(await page.getByRole("heading", { name: "Waiting to sync" }).count() === 0, "nothing is waiting once applied");

  const iain = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await iain.goto(`${IAIN}/`);
  await unlock(iain);
  await screen(iain, "team-iain-before", "Caseload");
  check(await iain.getByText("Kai Robertson").count() === 0, "Kai is not on Iain's caseload before");
  await syncNow(iain, IAIN);
  await iain.goto(`${IAIN}/caseload`);
  await screen(iain, "team-iain-after", "Caseload");
  await iain.getByText("Kai Robertson").first().waitFor();
  console.log("PASS team");
}

await runJourneys("team-failure", [team]);
