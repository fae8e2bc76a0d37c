// Requests for help in headless Chromium: Ewan (a teacher on no child's
// team) asks social work's duty team for help about a child new to Bothy;
// after his sync Catriona (social work duty worker) opens the request,
// checks for a match and accepts it for a new child; after her sync and his,
// Ewan's caseload holds the child. Against the `bothy-liveview` program of
// two real devices (see `requests_for_help_in_headless_chromium` in
// tests/tests/browser.rs).
//
// Every screen is checked with axe-core at a 320 px wide viewport (zero
// violations allowed) and photographed into $BOTHY_SCREENSHOTS. The journey
// prints `PASS requests` when it is done.

import { env, check, accessible, shot, screen, unlock, syncNow, runJourneys } from "./common.mjs";

const EWAN = env("BOTHY_EWAN_URL");
const CATRIONA = env("BOTHY_CATRIONA_URL");
const NAME = env("BOTHY_REQUEST_NAME");

async function requests(browser) {
  const ewan = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await ewan.goto(`${EWAN}/`);
  await unlock(ewan);
  await screen(ewan, "requests-caseload", "Caseload");
  await ewan.getByRole("link", { name: "Ask for help" }).click();
  await screen(ewan, "requests-form", "Ask for help");

  // Sent with neither consent nor a lawful basis: refused on the device.
  await ewan.locator("#request-to").selectOption("social-work");
  await ewan.locator("#request-name").fill(NAME);
  await ewan.locator("#request-born").fill("2016-05-03");
  await ewan.locator("#request-school").fill("Ardmore Primary");
  await ewan.locator("#request-reason").fill("Often hungry at school and tired; says there is no food at home.");
  await ewan.locator("#request-concern-healthy").check();
  await ewan.locator("#request-concern-nurtured").check();
  await ewan.locator("#request-views").fill("Mum says she is struggling since the move.");
  await ewan.getByRole("button", { name: "Send the request" }).click();
  await ewan.locator(".notice.problem", { hasText: "Not sent" }).waitFor();
  await accessible(ewan, "requests-form-refused");
  await shot(ewan, "requests-form-refused");

  await ewan.locator("#request-basis").selectOption("consent");
  await ewan.locator("#request-urgent").check();
  await ewan.getByRole("button", { name: "Send the request" }).click();
  await ewan.locator(".notice.ok", { hasText: "request" }).waitFor();
  await ewan.getByRole("link", { name: "My requests" }).click();
  await screen(ewan, "requests-sent", "Requests for help");
  await ewan.getByRole("link", { name: NAME }).waitFor();
  await syncNow(ewan, EWAN);

  const catriona = await browser.newPage({ viewport: { width: 320, height: 720 } });
  await catriona.goto(`${CATRIONA}/`);
  await unlock(catriona);
  await screen(catriona, "requests-duty-caseload", "Caseload");
  await syncNow(catriona, CATRIONA);
  await catriona.goto(`${CATRIONA}/requests`);
  await screen(catriona, "requests-duty-list", "Requests for help");
  await catriona.getByRole("link", { name: NAME }).click();
  await screen(catriona, "requests-duty-request", "Request for help");
  check(await catriona.getByText("Ardmore Primary").count() === 1, "the duty worker reads the school");
  await catriona.getByRole("button", { name: "Check for a match" }).click();
  await catriona.getByText("No child in Bothy matches.").waitFor();
  await catriona.getByRole("button", { name: "Accept the request" }).click();
  await catriona.locator("li.flag.state", { hasText: "Accepted" }).waitFor();
  await accessible(catriona, "requests-accepted");
  await shot(catriona, "requests-accepted");
  await syncNow(catriona, CATRIONA);

  await syncNow(ewan, EWAN);
  await ewan.goto(`${EWAN}/caseload`);
  await screen(ewan, "requests-caseload-after", "Caseload");
  // The child's own card (a link to their page), not only the request.
  await ewan.locator('a[href^="/child/"]', { hasText: NAME }).first().waitFor();
  console.log("PASS requests");
}

await runJourneys("requests-failure", [requests]);
