// Export in headless Chromium: Morag presses Export on Kai's page (the
// team's plan, then the young person's version), Kai presses it on My plan;
// each time the status region says "Saved: plan-….pdf", and the Rust test
// (`export_buttons_in_headless_chromium` in tests/tests/browser.rs) checks
// that file is in the device's `exports/` folder and starts with %PDF.
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS.
//
// CONTROL protocol: `CONTROL exported <who> <file>`; the test answers `ok`
// only when the file is there and is a PDF.

import { env, check, accessible, shot, screen, unlock, control, runJourneys } from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const KAI = env("BOTHY_KAI_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");

/**
 * Press `button`, wait for the status region to say "Saved: plan-…-<kind>-….pdf"
 * (not the message of an export before it), return the file name.
 */
async function exportWith(page, button, who, name, kind) {
  await page.getByRole("button", { name: button, exact: true }).click();
  const status = page.locator(".export [role=status]", { hasText: new RegExp(`Saved: plan-[a-z0-9-]*-${kind}-`) });
  await status.waitFor();
  const said = (await status.innerText()).trim();
  const match = /^Saved: (plan-[a-z0-9-]+\.pdf)$/.exec(said);
  check(match !== null, `the status says where it was saved: ${said}`);
  await accessible(page, name);
  await shot(page, name);
  await control(`exported ${who} ${match[1]}`);
  return match[1];
}

async function exportButtons(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await page.goto(`${MORAG}/child/${KAI_CHILD}`);
  await screen(page, "export-child", "Kai Robertson");
  await page.getByRole("heading", { name: "Export the plan" }).waitFor();
  // 44 px targets, inside a 320 px screen.
  for (const label of ["Export the team's plan", "Export the young person's version"]) {
    const box = await page.getByRole("button", { name: label, exact: true }).boundingBox();
    check(box && box.height >= 44 && box.x + box.width <= 320, `${label}: 44 px high, on screen (${JSON.stringify(box)})`);
  }
  const team = await exportWith(page, "Export the team's plan", "morag", "export-child-team", "team");
  check(team.includes("-team-"), `the team's file is named so: ${team}`);
  const young = await exportWith(page, "Export the young person's version", "morag", "export-child-young", "young-person");
  check(young.includes("-young-person-"), `the young person's file is named so: ${young}`);

  const kai = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await kai.goto(`${KAI}/`);
  await unlock(kai);
  await kai.goto(`${KAI}/my-plan`);
  await screen(kai, "export-my-plan", "My plan");
  const mine = await exportWith(kai, "Export my plan as a PDF", "kai", "export-my-plan-saved", "young-person");
  check(mine.includes("-young-person-"), `Kai's file is his version: ${mine}`);
  console.log("PASS export");
}

await runJourneys("export-failure", [exportButtons]);
