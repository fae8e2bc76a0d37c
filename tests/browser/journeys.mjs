// Bothy's three journeys in headless Chromium, against the `bothy-liveview`
// program of three real devices (see tests/tests/browser.rs, which starts
// the server and the apps and runs this script).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS.
//
// The script asks the Rust test to stop or start the server by printing
// `CONTROL stop-server` / `CONTROL start-server` and waits for `ok` on
// standard input. Each journey prints `PASS <name>` when it is done.

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
const KAI = env("BOTHY_KAI_URL");
const FIONA = env("BOTHY_FIONA_URL");
const KAI_CHILD = env("BOTHY_KAI_CHILD");

// ---------------------------------------------------------------- control

// ---------------------------------------------------------------- checks

// ---------------------------------------------------------------- journeys

async function practitioner(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${MORAG}/`);
  await page.getByRole("heading", { name: "Enter your passcode" }).waitFor();
  await accessible(page, "practitioner-unlock");
  await shot(page, "practitioner-unlock");

  // A wrong passcode says so, and loses nothing.
  await unlock(page, "not my passcode");
  await page.getByRole("alert").filter({ hasText: "That passcode is not right" }).waitFor();
  await accessible(page, "practitioner-unlock-wrong");
  await unlock(page);

  // The caseload, with its flags, and search.
  await screen(page, "practitioner-caseload", "Caseload");
  check(await page.getByText("Kai Robertson").count() > 0, "Kai is on Morag's caseload");
  await page.locator("#caseload-search").fill("Ellie");
  await page.locator(".child-card", { hasText: "Kai Robertson" }).waitFor({ state: "detached" });
  check(await page.locator(".child-card").count() >= 1, "the search finds Ellie");
  await page.locator("#caseload-search").fill("");
  await page.locator(".child-card", { hasText: "Kai Robertson" }).waitFor();

  // Kai's page: plan, wellbeing wheel, chronology filtered by agency.
  await page.getByRole("link", { name: "Kai Robertson" }).first().click();
  await screen(page, "practitioner-child", "Kai Robertson");
  check(await page.locator("svg[role=img]").count() === 1, "the wellbeing wheel is drawn");
  check(await page.locator("svg[role=img] path, svg[role=img] circle").count() >= 8, "eight segments");
  const allEvents = await page.locator("ol.chronology li").count();
  await page.locator("#chronology-agency").selectOption("education");
  await page.waitForFunction(
    (n) => document.querySelectorAll("ol.chronology li").length !== n || document.body.innerText.includes("No events from this agency"),
    allEvents,
  );
  await page.locator("#chronology-agency").selectOption("");
  await page.waitForFunction((n) => document.querySelectorAll("ol.chronology li").length === n, allEvents);

  // Change an action's status and progress.
  await page.getByRole("link", { name: /^Update: / }).first().click();
  await screen(page, "practitioner-edit-action", "Update an action");
  await page.getByLabel("In progress", { exact: true }).check();
  await page.locator("#action-progress").fill("First appointment booked for Tuesday");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.getByText("First appointment booked for Tuesday").waitFor();

  // The form for a new action (looked at, then left).
  await page.getByRole("link", { name: /^Add an action for: / }).first().click();
  await screen(page, "practitioner-add-action", "Add an action");
  await page.getByRole("link", { name: "Cancel" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();

  // The server goes away: record a visit with no signal.
  await control("stop-server");
  await page.getByRole("link", { name: "Record a visit" }).first().click();
  await screen(page, "practitioner-record-visit", "Record a visit");
  await page.locator("#visit-place").fill("Kai's home");
  await page.getByLabel("Child seen", { exact: true }).check();
  await page.locator("#visit-observations").fill("Kai was up and ready for school; visit recorded with no signal");
  await page.locator("#visit-child-said").fill("I like it when Gran walks me to school");
  await page.getByText("Kept on this device as you type.").waitFor();
  await page.getByRole("button", { name: "Finalise" }).click();
  await page.getByRole("heading", { level: 1, name: "Kai Robertson" }).waitFor();
  await page.locator("ul.visits li", { hasText: "recorded with no signal" }).waitFor();
  // The app tried, found no server, and says the work is safe on the device.
  await syncIndicator(page, /No connection to the server\. \d+ changes? kept safely on this device/);
  await shot(page, "practitioner-offline");

  // The server is back: the app syncs by itself.
  await control("start-server");
  await syncIndicator(page, "Everything is synced");

  // The visit, and an addendum to it (it is finalised, so it cannot change).
  await page.locator("ul.visits li", { hasText: "recorded with no signal" }).getByRole("link").first().click();
  await screen(page, "practitioner-visit", "Home visit");
  check(await page.getByRole("button", { name: "Finalise" }).count() === 0, "a finalised visit cannot be finalised again");
  await page.locator("#addendum-reason").fill("Gran's name was missing");
  await page.locator("#addendum-text").fill("Gran (Isla Robertson) walks Kai to school.");
  await page.getByRole("button", { name: "Add addendum" }).click();
  await page.getByText("Addendum added.").waitFor();
  await page.getByText("Gran (Isla Robertson) walks Kai to school.").waitFor();
  await syncIndicator(page, "Everything is synced");

  // Family voice, with Kai.
  await page.getByRole("link", { name: "Back to the child's page" }).click();
  await page.getByRole("link", { name: "Family voice" }).click();
  await screen(page, "practitioner-family-voice", "Family voice");
  await page.locator("#voice-said-by").fill("Kai");
  await page.locator("#voice-own-words").fill("I want to stay at my school");
  await page.locator("#voice-scale-question").fill("How safe do you feel at home?");
  await page.locator("#voice-scale").selectOption("8");
  await page.locator("#voice-good-things").fill("Football on Saturdays");
  await page.getByLabel("They agree this can be shared with the team").check();
  await page.getByRole("button", { name: "Save family voice" }).click();
  await page.getByRole("status").filter({ hasText: /saved/i }).first().waitFor();

  // The sync screen.
  await page.getByRole("link", { name: "Sync", exact: true }).click();
  await screen(page, "practitioner-sync", "Sync");
  await pressSyncNow(page);
  await page.locator("#unsynced-count", { hasText: "everything is synced" }).waitFor();

  // An address that is not a screen.
  await page.goto(`${MORAG}/no/such/screen`);
  await screen(page, "not-found", "Page not found");
  await page.getByRole("link", { name: "Go to the start" }).click();
  await page.getByRole("heading", { level: 1, name: "Bothy" }).waitFor();
  await page.getByRole("link", { name: "Continue" }).click();
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();

  // Lock: the passcode is asked again.
  await page.getByRole("button", { name: "Lock" }).click();
  await page.locator("#passcode").waitFor();
  await page.close();
  console.log("PASS practitioner");
}

async function youngPerson(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${KAI}/`);
  await unlock(page);
  await screen(page, "young-person-my-plan", "My plan");
  for (const part of ["My team", "What happens next", "What I think"]) {
    await page.getByRole("heading", { name: part }).waitFor();
  }
  check(await page.getByRole("link", { name: "Caseload" }).count() === 0, "no caseload for a young person");
  check(!(await page.content()).includes("Chronology"), "no chronology in My plan");

  // What I think, saved on the phone.
  await page.locator("#think-words").fill("I want to keep going to football");
  await page.getByRole("button", { name: "Add what I think" }).click();
  await page.getByText("Added. Your team will see it next time you connect.").waitFor();
  await page.getByText("I want to keep going to football").first().waitFor();

  // A practitioner's page is not reachable, even by its address.
  await page.goto(`${KAI}/child/${KAI_CHILD}`);
  await page.getByRole("heading", { level: 1, name: "Not part of your plan" }).waitFor();
  await accessible(page, "young-person-practitioner-page");
  check(await page.locator("ul.visits").count() === 0, "no visits shown");
  check(!(await page.content()).includes("Record a visit"), "no visit recording");

  // Left alone, the app locks itself.
  await page.goto(`${KAI}/my-plan`);
  await page.getByRole("heading", { level: 1, name: "My plan" }).waitFor();
  await page.locator("#passcode").waitFor({ timeout: 30_000 });
  await accessible(page, "young-person-idle-locked");
  await shot(page, "young-person-idle-locked");
  await unlock(page);
  await page.getByRole("heading", { level: 1, name: "My plan" }).waitFor();

  // And it syncs when asked.
  await page.getByRole("link", { name: "Sync", exact: true }).click();
  await pressSyncNow(page);
  await page.close();
  console.log("PASS young person");
}

async function supervisor(browser) {
  const page = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await page.goto(`${FIONA}/`);
  await unlock(page);
  await page.getByRole("heading", { level: 1, name: "Caseload" }).waitFor();

  // Sync: Morag's visit arrives.
  await page.getByRole("link", { name: "Sync", exact: true }).click();
  await pressSyncNow(page);

  // The team feed: one card for the visit, its fields behind "Show details".
  await page.getByRole("link", { name: "Supervision" }).click();
  await screen(page, "supervisor-feed", "Supervision");
  const review = page.locator("section.review", {
    has: page.getByRole("heading", { name: "Kai Robertson: changes since my last review" }),
  });
  const visitCard = review.locator("li.feed-item", { hasText: "recorded with no signal" });
  await visitCard.waitFor();
  check((await visitCard.innerText()).includes("Morag Fraser recorded"), "the card's summary names who");
  await visitCard.getByText("Show details").click();
  await visitCard.getByText("recorded with no signal").first().waitFor();
  await accessible(page, "supervisor-feed-details");
  await review.getByLabel("Management oversight comment").fill("Visit seen; good use of Kai's own words.");
  await review.getByLabel("Decision").fill("Continue plan; review in six weeks");
  await review.getByRole("button", { name: "Countersign" }).click();
  await review.getByText("Countersigned.").waitFor();
  // Reviewed: the feed starts again from this review.
  await review.getByText("No changes since your last review.").waitFor();
  await accessible(page, "supervisor-countersigned");

  await page.getByRole("link", { name: "Sync", exact: true }).click();
  await pressSyncNow(page);
  await screen(page, "supervisor-sync", "Sync");
  await page.close();
  console.log("PASS supervisor");
}

await runJourneys("failure", [practitioner, youngPerson, supervisor]);
