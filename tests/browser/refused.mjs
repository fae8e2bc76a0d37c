// Refused work in headless Chromium: Morag's device had a change refused
// (a finalised visit rewritten) and the edits after it were sent. Her sync
// screen and Kai's page show a "Not accepted" notice with why and the words
// to copy; Fiona, her supervisor, sees it on the supervision screen.
// Against the `bothy-liveview` program of two real devices (see
// `refused_work_in_headless_chromium` in tests/tests/browser.rs).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS. The
// journey prints `PASS <name>` when it is done.

import { env, check, accessible, shot, screen, unlock, runJourneys } from "./common.mjs";

const MORAG = env("BOTHY_MORAG_URL");
const FIONA = env("BOTHY_FIONA_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");
const WORDS = env("BOTHY_REFUSED_WORDS");

async function refusedWork(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await unlock(page);
  await page.goto(`${MORAG}/sync`);
  await screen(page, "refused-sync", "Sync");
  await page.getByRole("heading", { name: "Not accepted" }).waitFor();
  const words = page.getByLabel("What it said (select to copy)");
  check(await words.count() === 1, "one refused change, its words in a labelled text area");
  check((await words.inputValue()).includes(WORDS), "the refused words are there to copy");
  check(await words.evaluate((e) => e.readOnly), "the words are read-only");
  const box = await words.boundingBox();
  check(box && box.width <= 320, "the text area fits 320 px");

  await page.goto(`${MORAG}/child/${KAI_CHILD}`);
  await screen(page, "refused-child", "Kai Robertson");
  await page.getByRole("heading", { name: "Not accepted" }).waitFor();
  check((await page.getByLabel("What it said (select to copy)").inputValue()).includes(WORDS),
    "the child's page shows the words too");

  const fiona = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await fiona.goto(`${FIONA}/`);
  await unlock(fiona);
  await fiona.goto(`${FIONA}/supervision`);
  await fiona.getByRole("heading", { level: 1, name: "Supervision" }).waitFor();
  await fiona.getByRole("heading", { name: "Not accepted: your team's refused work" }).waitFor();
  check((await fiona.getByLabel("What it said (select to copy)").first().inputValue()).includes(WORDS),
    "the supervisor reads the refused words");
  await fiona.getByText("by Morag").first().waitFor();
  await accessible(fiona, "refused-supervision");
  await shot(fiona, "refused-supervision");
  console.log("PASS refused");
}

await runJourneys("refused-failure", [refusedWork]);
