// Consent decides where words go, in headless Chromium: Morag (social work)
// records family voice Kai's mum did not agree to share, and a visit where
// Kai did not agree to share what he said; the "Who will see this" line
// changes with the consent box and the sharing choice. The new screens
// (family voice gathered, chronology) are checked with axe-core at 320 px.
//
// Run by `consent_journey_in_headless_chromium` in tests/tests/browser.rs,
// which then checks, on the bytes the health visitor's, the teacher's and
// Kai's devices receive, that the words never reach them. Prints
// `PASS consent` when done.

import {
  env,
  check,
  accessible,
  shot,
  screen,
  unlock,
  runJourneys,
} from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");
const VOICE = env("BOTHY_VOICE_WORDS");
const SAID = env("BOTHY_SAID_WORDS");

async function whoWillSee(page, text) {
  await page.locator(".who-will-see-line", { hasText: text }).first().waitFor();
}

async function consent(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();

  // Family voice: without consent it is social work's only; the line says so
  // and changes as the box is ticked and unticked.
  await page.goto(`${MORAG}/child/${KAI_CHILD}/family-voice`);
  await screen(page, "consent-family-voice", "Family voice");
  await whoWillSee(page, "Social work only");
  await page.getByLabel("They agree this can be shared with the team").check();
  await whoWillSee(page, /^Your team: \d+ people in \d+ agencies$/);
  await accessible(page, "consent-family-voice-shared");
  await page.getByLabel("They agree this can be shared with the team").uncheck();
  await whoWillSee(page, "Social work only");
  await page.locator("#voice-of").selectOption("parent");
  await page.locator("#voice-said-by").fill("Lisa");
  await page.locator("#voice-own-words").fill(VOICE);
  await page.getByRole("button", { name: "Save family voice" }).click();
  await page.getByText("Saved in your agency's record only.").waitFor();

  // The list of what has been gathered says where each entry is kept.
  await page.goto(`${MORAG}/child/${KAI_CHILD}/family-voice/gathered`);
  await screen(page, "consent-family-voice-gathered", "Family voice gathered");
  const kept = page.locator("li.voice", { hasText: VOICE });
  await kept.waitFor();
  check((await kept.innerText()).includes("Kept in Social work only"), "the entry says it is kept in social work");
  check(await page.locator("li.voice", { hasText: "Shared with the team" }).count() > 0, "the demo's shared entry is listed");

  // A visit shared with the team where Kai did not agree to share his words.
  await page.goto(`${MORAG}/child/${KAI_CHILD}/visit`);
  await page.getByRole("heading", { level: 1, name: "Record a visit" }).waitFor();
  await whoWillSee(page, /^Your team: /);
  await page.locator("#visit-observations").fill("Consent journey: Kai talked about football");
  await page.locator("#visit-child-said").fill(SAID);
  await page.getByLabel("The child agrees their words can be shared with the team").uncheck();
  await page.getByText("Who will see what the child said").waitFor();
  await accessible(page, "consent-visit-words-apart");
  await shot(page, "consent-visit-words-apart");
  await page.getByRole("button", { name: "Finalise" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();

  // The chronology screen, filtered, with an event added by hand.
  await page.goto(`${MORAG}/child/${KAI_CHILD}/chronology`);
  await screen(page, "consent-chronology", "Chronology");
  await page.locator("#chronology-date").fill("2026-11-05");
  await page.locator("#chronology-event").fill("Started at the homework club");
  await page.locator("#chronology-impact").selectOption("neutral");
  await page.getByRole("button", { name: "Add to the chronology" }).click();
  await page.getByText("Added to the chronology.").waitFor();
  await page.locator("#chronology-filter-impact").selectOption("neutral");
  // The demo's negative event goes; the new neutral one stays.
  await page.locator("ol.chronology li", { hasText: "Mum's partner left" }).waitFor({ state: "detached" });
  await page.locator("ol.chronology li", { hasText: "Started at the homework club" }).waitFor();
  check(await page.locator("ol.chronology li").count() === 1, "only the neutral event is shown");
  await accessible(page, "consent-chronology-filtered");

  // Everything reaches the server (Morag's app syncs by itself).
  await page.locator("#sync-indicator", { hasText: "Everything is synced" }).waitFor({ timeout: 60_000 });
  await page.close();
  console.log("PASS consent");
}

await runJourneys("consent-failure", [consent]);
